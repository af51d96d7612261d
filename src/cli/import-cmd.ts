/**
 * `kiln import FILES…`, as piwheels' `piw-import`: import artifacts built
 * elsewhere into the master as a passed build with no worker. The files are
 * hashed here, streamed to the master (which checks size and sha256 on
 * receipt), then one request records the build; the master checks the names
 * against the version and target, extracts what it needs (a wheel's
 * METADATA) and publishes. See src/master/routes/admin-import.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { normalizePypiName } from '../ecosystems/pypi/names.ts';
import { parseWheelFilename } from '../ecosystems/pypi/wheel-name.ts';
import { KilnError } from '../errors.ts';
import { HEADER_SHA256 } from '../protocol/messages.ts';
import { adminCall } from './admin-client.ts';
import { withAdmin, type AdminFlags } from './admin-cmds.ts';
import { adminTarget, type AdminTarget } from './common.ts';

interface ImportFlags extends AdminFlags {
  package?: string;
  version?: string;
  abi?: string;
  duration?: string;
  log?: string;
  delete?: boolean;
  replace?: boolean;
}

/** A local file, hashed. */
interface LocalFile {
  path: string;
  filename: string;
  size: number;
  sha256: string;
}

async function hashFile(path: string): Promise<LocalFile> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new KilnError(`cannot read ${path}: ${(err as Error).message}`, 2);
  }
  if (!st.isFile()) throw new KilnError(`${path} is not a file`, 2);
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return { path, filename: basename(path), size: st.size, sha256: hash.digest('hex') };
}

/** Stream one file to the master's import staging area. */
async function upload(t: AdminTarget, f: LocalFile, as = f.filename): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${t.url}/api/v1/admin/import/files/${encodeURIComponent(as)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/octet-stream', 'content-length': String(f.size), [HEADER_SHA256]: f.sha256 },
      body: Readable.toWeb(createReadStream(f.path)) as ReadableStream,
      duplex: 'half',
      signal: AbortSignal.timeout(60 * 60_000),
    } as RequestInit);
  } catch (err) {
    const cause = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    throw new KilnError(`uploading ${f.filename} to ${t.url} failed: ${cause}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON: show the text
    }
    throw new KilnError(`master refused ${f.filename}: ${message}`);
  }
}

/** Package and version from the files' names (PyPI wheels, PEP 427), or from the flags. */
function subject(ecosystem: string, files: LocalFile[], f: ImportFlags): { name: string; version: string } {
  let name = f.package;
  let version = f.version;
  if (ecosystem === 'pypi' && (!name || !version)) {
    for (const file of files) {
      const w = parseWheelFilename(file.filename);
      if (!w) continue;
      const n = normalizePypiName(w.dist);
      if (!f.package) {
        if (name && name !== n) throw new KilnError(`the wheels are of different packages (${name}, ${n}); import them separately or pass --package`, 2);
        name = n;
      }
      if (!f.version) {
        if (version && version !== w.version) throw new KilnError(`the wheels are of different versions (${version}, ${w.version}); import them separately or pass --version`, 2);
        version = w.version;
      }
    }
  }
  if (!name || !version) {
    throw new KilnError(`cannot tell the package and version from ${files.map((x) => x.filename).join(', ')}: pass --package and --version`, 2);
  }
  return { name: ecosystem === 'pypi' ? normalizePypiName(name) : name, version };
}

/** Register `kiln import`. */
export function registerImport(program: Command): void {
  withAdmin(
    program
      .command('import')
      .description('import artifacts built elsewhere (wheels, prebuild tarballs) as a passed build, as piw-import does')
      .argument('<files...>', 'the artifacts of one build (one package, version and target)')
      .addHelpText(
        'after',
        `
The package and version default to the wheel's file name (PEP 427), normalised
per PEP 503; the target defaults to the first existing target (in version
order) the files install on, so cp311-cp311-linux_x86_64 wheels go to
cp311-linux_x86_64. A none or abi3 wheel goes to the first target it serves
unless --abi names one. The version must be known to the master (synced).

The master verifies each file's size and sha256 on receipt, checks its name
against the package, version and target, and (PyPI) extracts the wheel's
METADATA into the PEP 658 <wheel>.metadata file; a wheel without METADATA is
refused. Nothing is recorded or published unless every check passes.

A version already built for the target is refused unless --replace is given,
which forgets the earlier builds of that version on that target.`,
      ),
    'pypi',
  )
    .option('--package <name>', 'package name (default: from the wheel file name)')
    .option('--version <version>', 'version (default: from the wheel file name)')
    .option('--abi <target>', 'target name, e.g. cp311-linux_x86_64 (default: derived from the files)')
    .option('--duration <seconds>', 'how long the build took, seconds', '0')
    .option('--log <file>', 'the build log to store with the build')
    .option('--replace', 'replace an existing build of this version for this target instead of refusing')
    .option('--delete', 'delete the local FILES (not the log) once the master has recorded them')
    .action(async (paths: string[], f: ImportFlags) => {
      const ecosystem = f.ecosystem ?? 'pypi';
      const durationS = Number(f.duration ?? '0');
      if (!Number.isFinite(durationS) || durationS < 0) throw new KilnError(`--duration must be a number of seconds, not ${JSON.stringify(f.duration)}`, 2);
      const files: LocalFile[] = [];
      for (const p of paths) files.push(await hashFile(p));
      const seen = new Set<string>();
      for (const file of files) {
        if (seen.has(file.filename)) throw new KilnError(`${file.filename} is named twice`, 2);
        seen.add(file.filename);
      }
      const { name, version } = subject(ecosystem, files, f);
      const t = adminTarget(f);
      const log = f.log ? await hashFile(f.log) : undefined;
      for (const file of files) await upload(t, file);
      if (log) await upload(t, log, 'build.log');
      const r = await adminCall<{ buildId: number; package: string; version: string; target: string; files: Array<{ filename: string }>; replaced: number }>(t, 'POST', 'import', {
        ecosystem,
        package: name,
        version,
        target: f.abi,
        durationS,
        log: log ? { sha256: log.sha256, size: log.size } : undefined,
        files: files.map((x) => ({ filename: x.filename, sha256: x.sha256, size: x.size })),
        replace: !!f.replace,
      });
      process.stdout.write(
        `imported ${r.package} ${r.version} for ${r.target} as build ${r.buildId}${r.replaced ? ` (replacing ${r.replaced} earlier builds)` : ''}: ${r.files.map((x) => x.filename).join(', ')}\n`,
      );
      if (f.delete) {
        for (const file of files) await unlink(file.path);
        process.stdout.write(`deleted ${files.map((x) => x.path).join(', ')}\n`);
      }
    });
}
