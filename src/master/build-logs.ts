import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { appendFile, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { rename } from 'node:fs/promises';
import type { MasterPaths } from './context.ts';

/** Where a running build's log is appended. */
export function runningLogPath(paths: MasterPaths, buildId: number): string {
  return join(paths.runningLogsDir, `${buildId}.log`);
}

/** Output-relative path of a finished build's gzipped log, e.g. `logs/0/42.txt.gz` (1000 logs per folder). */
export function publishedLogRel(buildId: number): string {
  return `logs/${Math.floor(buildId / 1000)}/${buildId}.txt.gz`;
}

/**
 * Append a chunk to a running build's log at byte `offset`. A retried chunk
 * (offset below the current size) is trimmed to its unseen part; a gap
 * (offset beyond the size) is refused so the log never has holes.
 * @returns bytes appended (-1 for a gap) and the stored size afterwards, bytes.
 */
export async function appendLogChunk(paths: MasterPaths, buildId: number, offset: number, chunk: Buffer): Promise<{ added: number; size: number }> {
  await mkdir(paths.runningLogsDir, { recursive: true });
  const file = runningLogPath(paths, buildId);
  const size = existsSync(file) ? (await stat(file)).size : 0;
  if (offset > size) return { added: -1, size };
  const fresh = chunk.subarray(Math.min(chunk.length, size - offset));
  if (fresh.length > 0) await appendFile(file, fresh);
  return { added: fresh.length, size: size + fresh.length };
}

/**
 * Gzip a build's log into the output path (atomically) and drop the running
 * copy. `trailer` (e.g. the master's note that the lease expired) is added
 * at the end. Browsers read it through `Content-Encoding: gzip`.
 */
export async function publishLog(paths: MasterPaths, buildId: number, trailer?: string): Promise<string> {
  const src = runningLogPath(paths, buildId);
  if (trailer) {
    await mkdir(paths.runningLogsDir, { recursive: true });
    await appendFile(src, `\n[kiln] ${trailer}\n`);
  }
  const rel = publishedLogRel(buildId);
  const dest = join(paths.outputPath, rel);
  await mkdir(join(paths.outputPath, 'logs', String(Math.floor(buildId / 1000))), { recursive: true });
  const tmp = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
  if (!existsSync(src)) await appendFile(src, '');
  await pipeline(createReadStream(src), createGzip(), createWriteStream(tmp));
  await rename(tmp, dest);
  await rm(src, { force: true });
  return rel;
}
