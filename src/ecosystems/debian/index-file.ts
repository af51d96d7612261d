/**
 * Reading archive index files (Packages, Sources) in the compressions a
 * Debian archive publishes them in, chosen by file name: `.xz`, `.gz` or
 * none. See the repository format
 * <https://wiki.debian.org/DebianRepository/Format#Compression_of_indices>.
 *
 * Everything streams: a 100 MB Packages file is never held in memory whole.
 * gzip uses node:zlib. No xz decompressor is among Kiln's dependencies, so
 * `.xz` is piped through the system `xz -dc` (xz-utils, Priority: required
 * on every Debian system).
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { ControlParser, type ControlOptions, type ControlParagraph } from './control.ts';

/** The compression of an index, as told by its file name. */
export type IndexCompression = 'xz' | 'gzip' | 'none';

/** An index that cannot be read: unknown compression, or no `xz` to decompress it. */
export class IndexFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndexFileError';
  }
}

/**
 * The compression an index file name implies: `Packages.xz` → `xz`,
 * `Packages.gz` → `gzip`, `Packages` → `none`. A trailing query or
 * fragment of a URL is ignored.
 * @throws IndexFileError for the other suffixes archives may use
 *   (`.bz2`, `.lzma`, `.zst`, `.lz4`), which Kiln does not read.
 */
export function compressionOf(name: string): IndexCompression {
  const base = name.replace(/[?#].*$/, '');
  if (base.endsWith('.xz')) return 'xz';
  if (base.endsWith('.gz')) return 'gzip';
  const ext = /\.(bz2|lzma|zst|lz4)$/.exec(base);
  if (ext) throw new IndexFileError(`cannot read ${name}: .${ext[1]} indexes are not supported (use the .xz or .gz one)`);
  return 'none';
}

/** The `xz` program to run; tests point this elsewhere to check the error. */
export interface XzOptions {
  /** Path or name of the xz binary. Default `xz`. */
  xzCommand?: string;
}

function xzStream(input: Readable, options: XzOptions): Readable {
  const command = options.xzCommand ?? 'xz';
  const out = new PassThrough();
  const child = spawn(command, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let failed = false;
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    input.destroy();
    child.kill();
    out.destroy(err);
  };
  child.on('error', (err: NodeJS.ErrnoException) => {
    fail(
      err.code === 'ENOENT'
        ? new IndexFileError(`cannot decompress .xz index: "${command}" not found (install xz-utils)`)
        : err,
    );
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  input.on('error', fail);
  // xz exiting early (bad data) closes its stdin; that EPIPE is reported
  // through the exit status below, not as a second error.
  child.stdin.on('error', () => {});
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  child.on('close', (code, signal) => {
    if (failed) return;
    if (code === 0) out.end();
    else fail(new IndexFileError(`xz -dc failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
  });
  // A reader that stops early must not leave xz running.
  out.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
  return out;
}

/**
 * Decompress an index byte stream according to its name (a path or URL).
 * @param name the file name or URL the bytes came from; only its suffix is used.
 * @param input the raw (possibly compressed) bytes.
 * @returns a stream of the uncompressed bytes. It errors with
 *   IndexFileError when `xz` is missing or fails, and with zlib's error on
 *   corrupt gzip data.
 * @throws IndexFileError for unsupported suffixes (see {@link compressionOf}).
 */
export function decompressIndex(name: string, input: Readable, options: XzOptions = {}): Readable {
  switch (compressionOf(name)) {
    case 'none':
      return input;
    case 'gzip': {
      const gunzip = createGunzip();
      input.on('error', (err) => gunzip.destroy(err));
      return input.pipe(gunzip);
    }
    case 'xz':
      return xzStream(input, options);
  }
}

/**
 * Open an index file on disk and return its uncompressed bytes as a stream.
 * @throws IndexFileError for unsupported suffixes; open errors (ENOENT…)
 *   arrive as stream errors.
 */
export function openIndexFile(path: string, options: XzOptions = {}): Readable {
  return decompressIndex(path, createReadStream(path), options);
}

/**
 * Split an uncompressed byte stream into UTF-8 text lines (without their
 * `\n`), one array per chunk read, holding no more than a chunk and a
 * line in memory. Batching keeps the per-line cost of async iteration off
 * multi-million-line indexes. Unlike node:readline, errors of the stream
 * reach the consumer.
 */
export async function* indexLineBatches(stream: Readable): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of stream) {
    const text = pending + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    const lines = text.split('\n');
    pending = lines.pop()!;
    if (lines.length > 0) yield lines;
  }
  pending += decoder.end();
  if (pending.length > 0) yield [pending];
}

/** {@link indexLineBatches} one line at a time. */
export async function* indexLines(stream: Readable): AsyncGenerator<string> {
  for await (const batch of indexLineBatches(stream)) yield* batch;
}

/**
 * Read the paragraphs of an index file on disk (`Packages`, `Packages.gz`,
 * `Packages.xz`, `Sources.xz`…) one at a time.
 * @throws IndexFileError, ControlSyntaxError, or the file's open/read error.
 */
export async function* readIndexParagraphs(
  path: string,
  options: XzOptions & ControlOptions = {},
): AsyncGenerator<ControlParagraph> {
  const parser = new ControlParser(options);
  for await (const batch of indexLineBatches(openIndexFile(path, options))) {
    for (const line of batch) {
      const p = parser.push(line);
      if (p) yield p;
    }
  }
  const last = parser.finish();
  if (last) yield last;
}

/**
 * Read a whole (small) index into memory as text, e.g. for tests or a
 * Release file. Prefer {@link readIndexParagraphs} for Packages files.
 * @throws as {@link openIndexFile}'s stream does.
 */
export async function readIndexText(path: string, options: XzOptions = {}): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of openIndexFile(path, options)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
