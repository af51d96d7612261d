/**
 * Looking inside a built wheel: its filename tags (PEP 427), its
 * `*.dist-info/METADATA` (core metadata, an RFC 822-style header block) and
 * the shared objects it ships. Wheels are zip files, read with yauzl
 * (streaming, so a large wheel is never loaded whole).
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { normalizePypiName } from './names.ts';
import { parseWheelFilename, type WheelName } from './wheel-name.ts';

/** Parsed core metadata: every header, in order, values unfolded. */
export type CoreMetadata = Map<string, string[]>;

/**
 * Parse a METADATA/PKG-INFO header block. Header names are matched
 * case-insensitively (stored lower-case); continuation lines (starting
 * with whitespace) extend the previous value; the body after the first
 * blank line (the long description) is ignored. Pure.
 */
export function parseCoreMetadata(text: string): CoreMetadata {
  const out: CoreMetadata = new Map();
  let last: { key: string; idx: number } | null = null;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && last) {
      const vals = out.get(last.key)!;
      vals[last.idx] = `${vals[last.idx]}\n${line.trim()}`;
      continue;
    }
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]?(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const vals = out.get(key) ?? [];
    vals.push(m[2]!.trim());
    out.set(key, vals);
    last = { key, idx: vals.length - 1 };
  }
  return out;
}

/**
 * The distribution names a wheel's `Requires-Dist` lines ask for: the name
 * only (no extras, version specifiers or markers), deduplicated by
 * normalised name, sorted. Requirements only needed for an optional extra
 * (`; extra == "fast"`) are left out: plain `pip install` does not install
 * them. Pure.
 */
export function requiredNames(meta: CoreMetadata): string[] {
  const seen = new Map<string, string>();
  for (const req of meta.get('requires-dist') ?? []) {
    const [spec, marker = ''] = req.split(';', 2) as [string, string?];
    if (/\bextra\s*==/.test(marker)) continue;
    const m = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/.exec(spec);
    if (!m) continue;
    const key = normalizePypiName(m[1]!);
    if (!seen.has(key)) seen.set(key, m[1]!);
  }
  return [...seen.values()].sort((a, b) => normalizePypiName(a).localeCompare(normalizePypiName(b)));
}

/** Whether a path inside a wheel is a shared object (`x.so`, `x.cpython-311-x86_64-linux-gnu.so`, `libfoo.so.1.2`). Pure. */
export function isSharedObject(name: string): boolean {
  return /\.so(\.\d+)*$/.test(path.posix.basename(name));
}

/** What a wheel holds that a build cares about. */
export interface WheelContents {
  /** Path of the METADATA entry, or null when the wheel has none. */
  metadataPath: string | null;
  /** METADATA's exact bytes (served as the PEP 658 `.metadata` file), or null. */
  metadata: Buffer | null;
  /** Shared objects in the wheel: path inside the wheel → extracted file ('' when not extracted). */
  sharedObjects: { inWheel: string; file: string }[];
}

/** Read one entry's bytes. */
async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Pick the wheel's own `<name>-<version>.dist-info/METADATA` out of its
 * entry names: a top-level dist-info folder, preferring the one named after
 * the wheel. Pure.
 */
export function findMetadataEntry(names: string[], wheel: WheelName | null): string | null {
  const candidates = names.filter((n) => /^[^/]+\.dist-info\/METADATA$/.test(n));
  if (wheel) {
    const want = `${normalizePypiName(wheel.dist)}-${wheel.version}`.toLowerCase();
    const own = candidates.find((n) => normalizePypiName(n.slice(0, n.indexOf('.dist-info/'))) === normalizePypiName(want));
    if (own) return own;
  }
  return candidates[0] ?? null;
}

/**
 * Open a wheel, read its METADATA and extract every shared object into
 * `extractDir` (flat, numbered, so names from the archive never become
 * paths); with `extractDir` null, shared objects are listed but not extracted.
 * @param filename the wheel's name, when `file` is not named after it (the
 *   master's content-addressed store).
 * @throws Error when the file is not a readable zip.
 */
export async function readWheel(file: string, extractDir: string | null, filename = path.basename(file)): Promise<WheelContents> {
  const zip = await yauzl.openPromise(file, { autoClose: false, strictFileNames: false, validateEntrySizes: true });
  try {
    const entries: yauzl.Entry[] = [];
    for await (const e of zip.eachEntry()) entries.push(e);
    const metadataPath = findMetadataEntry(entries.map((e) => e.fileName), parseWheelFilename(filename));
    const metaEntry = metadataPath ? entries.find((e) => e.fileName === metadataPath)! : null;
    const metadata = metaEntry ? await readAll(await zip.openReadStreamPromise(metaEntry)) : null;
    const sharedObjects: WheelContents['sharedObjects'] = [];
    const sos = entries.filter((e) => !e.fileName.endsWith('/') && isSharedObject(e.fileName));
    if (sos.length && extractDir) await mkdir(extractDir, { recursive: true });
    for (const [i, e] of sos.entries()) {
      if (!extractDir) {
        sharedObjects.push({ inWheel: e.fileName, file: '' });
        continue;
      }
      const out = path.join(extractDir, `${i}-${path.posix.basename(e.fileName)}`);
      await pipeline(await zip.openReadStreamPromise(e), createWriteStream(out, { mode: 0o755 }));
      sharedObjects.push({ inWheel: e.fileName, file: out });
    }
    return { metadataPath, metadata, sharedObjects };
  } finally {
    zip.close();
  }
}
