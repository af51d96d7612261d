/**
 * The worker-side PyPI ecosystem: declares one target for its Python
 * (`cp311-linux_x86_64`), and builds one version per job the way
 * piw-slave does:
 * `pip wheel NAME==VER --no-deps --no-binary=NAME` against the job's index
 * → read each wheel's METADATA (`Requires-Dist`, `Requires-Python`) → `ldd`
 * its shared objects and map the libraries to Debian packages (`dpkg -S`)
 * → hand back the wheel and its METADATA as a PEP 658 `.metadata` file.
 *
 * Outcomes: 'failed' is the package's fault (pip could not build it, a
 * wheel without METADATA, a wheel of another project); a thrown error is a
 * worker fault (the index unreachable, no pip): the worker reports the
 * build cancelled and the master queues it again. The build timeout is the
 * core's: ctx.signal aborts and the whole process tree is killed.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildContext, BuildOutcome, BuiltFile, Job, Json, TargetDecl, WorkerEcosystem } from '../types.ts';
import { aptDependencies, firstPipError, indexUnreachable } from './worker-deps.ts';
import { probePython, pypiTargetFor, type PythonProbe } from './worker-python.ts';
import { normalizePypiName } from './names.ts';
import { parseWheelFilename } from './wheel-name.ts';
import { parseCoreMetadata, readWheel, requiredNames } from './worker-wheel.ts';
import { wheelTags } from './wheel-tags.ts';

/** Options of {@link createPypiWorker}. */
export interface PypiWorkerOptions {
  /** The Python to build with (a command on PATH or a path); default `python3`. */
  python?: string;
}

/** The PyPI part of a job, as the master's `jobSpec` writes it. */
export interface PypiWorkerJobSpec {
  /** Project name as the index spells it. */
  name: string;
  version: string;
  /** PEP 503 simple index root pip builds from (and fetches build requirements from), e.g. `https://pypi.org/simple/`. */
  index_url: string;
  /** The sdist's URL, for the log. */
  sdist_url?: string;
  /** The sdist's sha256: when given, pip is made to check it (`--hash`). */
  sha256?: string;
}

const failed = (reason: string): BuildOutcome => ({ status: 'failed', failureReason: reason, artifacts: [] });
const cancelled = () => failed('build timed out or was cancelled');

/**
 * Read a PyPI job spec.
 * @throws Error (worker fault: master and worker disagree) when keys are missing.
 */
export function readPypiJobSpec(spec: Json): PypiWorkerJobSpec {
  const s = spec as Partial<PypiWorkerJobSpec>;
  if (typeof s.name !== 'string' || typeof s.version !== 'string' || typeof s.index_url !== 'string') {
    throw new Error('pypi job spec lacks name, version or index_url');
  }
  if (s.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(String(s.sha256))) throw new Error('pypi job spec has a malformed sha256');
  return { name: s.name, version: s.version, index_url: s.index_url, sdist_url: s.sdist_url, sha256: s.sha256 };
}

/**
 * The `pip wheel` arguments for one job (after `python -m pip`): piw-slave's
 * command, against the job's index only, one requirement. With a sha256 the
 * requirement comes from `reqFile`, which the caller writes with
 * {@link requirementLine}. Pure.
 */
export function pipWheelArgs(spec: PypiWorkerJobSpec, outDir: string, logFile: string, reqFile: string | null): string[] {
  return [
    'wheel',
    // Verbose, so the build backend's output (compiler lines) reaches the build log as it runs; with --log
    // and without -v, pip sends it only to the log file.
    '-v',
    ...(reqFile ? ['-r', reqFile] : [`${spec.name}==${spec.version}`]),
    `--wheel-dir=${outDir}`,
    `--log=${logFile}`,
    '--no-deps',
    '--no-cache-dir',
    `--no-binary=${spec.name}`,
    '--prefer-binary',
    '--exists-action=w',
    '--disable-pip-version-check',
    '--progress-bar=off',
    '--no-input',
    `--index-url=${spec.index_url}`,
  ];
}

/** A requirements-file line pinning the version and the sdist's hash. Pure. */
export function requirementLine(spec: PypiWorkerJobSpec): string {
  return `${spec.name}==${spec.version} --hash=sha256:${spec.sha256!.toLowerCase()}\n`;
}

/** Create the PyPI worker ecosystem. The Python is probed once, at the first detectTargets or build. */
export function createPypiWorker(opts: PypiWorkerOptions = {}): WorkerEcosystem {
  const python = opts.python ?? 'python3';
  let probe: Promise<PythonProbe> | null = null;
  const env = () =>
    (probe ??= probePython(python).then((p) => {
      if (!p.pip) throw new Error(`${python} (${p.executable}) has no pip, so it cannot build wheels`);
      return p;
    }));

  async function build(job: Job, ctx: BuildContext): Promise<BuildOutcome> {
    const py = await env();
    const target = pypiTargetFor(py.facts);
    if (job.target !== target.name) throw new Error(`this worker builds ${target.name}, not ${job.target}`);
    const spec = readPypiJobSpec(job.spec);

    const outDir = path.join(ctx.workDir, 'out');
    const metaDir = path.join(ctx.workDir, 'metadata');
    const tmpDir = path.join(ctx.workDir, 'tmp');
    const cacheDir = path.join(ctx.workDir, 'cache');
    for (const d of [outDir, metaDir, tmpDir, cacheDir]) await mkdir(d, { recursive: true });
    const logFile = path.join(ctx.workDir, 'pip.log');
    let reqFile: string | null = null;
    if (spec.sha256) {
      reqFile = path.join(ctx.workDir, 'requirement.txt');
      await writeFile(reqFile, requirementLine(spec));
    }
    const runEnv: Record<string, string> = {
      TMPDIR: tmpDir,
      XDG_CACHE_HOME: cacheDir,
      PIP_CONFIG_FILE: '/dev/null',
      PIP_NO_INPUT: '1',
      PYTHONNOUSERSITE: '1',
      PYTHONUNBUFFERED: '1',
    };

    ctx.log(`==> pip wheel ${spec.name}==${spec.version} (Python ${py.facts.python}, pip ${py.pip}) from ${spec.index_url}\n`);
    if (spec.sdist_url) ctx.log(`sdist ${spec.sdist_url}${spec.sha256 ? ` sha256 ${spec.sha256}` : ''}\n`);
    const args = ['-m', 'pip', ...pipWheelArgs(spec, outDir, logFile, reqFile)];
    const r = await ctx.run(py.executable, args, { cwd: ctx.workDir, env: runEnv, network: true });
    if (ctx.signal.aborted) return cancelled();
    const pipLog = existsSync(logFile) ? await readFile(logFile, 'utf8') : '';
    if (r.code !== 0) {
      if (indexUnreachable(pipLog)) throw new Error(`pip could not reach the index ${spec.index_url}`);
      const first = firstPipError(pipLog);
      return failed(`pip wheel failed (exit ${r.code ?? r.signal})${first ? `: ${first}` : ''}`);
    }

    const wheels = (await readdir(outDir)).filter((f) => f.endsWith('.whl')).sort();
    if (!wheels.length) return failed('pip wheel succeeded but wrote no wheel');

    const artifacts: BuiltFile[] = [];
    for (const [i, filename] of wheels.entries()) {
      const wheelPath = path.join(outDir, filename);
      const name = parseWheelFilename(filename);
      if (!name) return failed(`pip wrote ${filename}, which is not a valid wheel filename`);
      if (normalizePypiName(name.dist) !== normalizePypiName(spec.name)) return failed(`pip built ${filename}, which is not a wheel of ${spec.name}`);

      ctx.log(`==> inspect ${filename}\n`);
      let contents;
      try {
        contents = await readWheel(wheelPath, path.join(ctx.workDir, `so-${i}`));
      } catch (err) {
        return failed(`${filename} is not a readable zip: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (!contents.metadata) return failed(`wheel has no METADATA (${filename})`);
      const meta = parseCoreMetadata(contents.metadata.toString('utf8'));
      const pip = requiredNames(meta);
      const requiresPython = meta.get('requires-python')?.[0] || null;
      ctx.log(`${contents.metadataPath}: Requires-Python ${requiresPython ?? '(any)'}; pip dependencies: ${pip.join(', ') || '(none)'}\n`);

      let apt: string[] = [];
      if (contents.sharedObjects.length) {
        ctx.log(`shared objects: ${contents.sharedObjects.map((s) => s.inWheel).join(', ')}\n`);
        const deps = await aptDependencies(
          ctx,
          contents.sharedObjects.map((s) => s.file),
        );
        if (ctx.signal.aborted) return cancelled();
        apt = deps.apt;
        if (deps.missing.length) ctx.log(`libraries not found on this worker: ${deps.missing.join(', ')}\n`);
        if (deps.unowned.length) ctx.log(`libraries no Debian package owns: ${deps.unowned.join(', ')}\n`);
        ctx.log(`apt dependencies: ${apt.join(', ') || '(none)'}\n`);
      }

      const tags = wheelTags(name, meta, apt);
      artifacts.push({ path: wheelPath, filename, tags: tags as unknown as Json });
      const metaName = `${filename}.metadata`;
      const metaPath = path.join(metaDir, metaName);
      await writeFile(metaPath, contents.metadata);
      artifacts.push({ path: metaPath, filename: metaName, tags: { kind: 'metadata', for: filename } });
      ctx.log(`${filename}\n${metaName}\n`);
    }
    return { status: 'passed', failureReason: null, artifacts };
  }

  return {
    name: 'pypi',
    async detectTargets(): Promise<TargetDecl[]> {
      return [pypiTargetFor((await env()).facts)];
    },
    build,
  };
}
