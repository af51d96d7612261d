import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { httpErrors } from './http-errors.ts';

/** A file that passed the size and sha256 checks and sits in the store. */
export interface StoredFile {
  sha256: string;
  size: number;
  path: string;
}

/** Path of a stored file: `<store>/<first two hex>/<sha256>`. */
export function storePath(storeDir: string, sha256: string): string {
  return join(storeDir, sha256.slice(0, 2), sha256);
}

/**
 * Receive an upload stream: write it to a temp file in `incomingDir` while
 * hashing, then compare size and sha256 with what the worker declared. Only
 * a file that matches is moved into the store; anything else is deleted, so
 * a wrong hash, a short body or a dropped connection leaves nothing behind.
 *
 * @param expected declared sha256 (lower-case hex) and size in bytes.
 * @param maxBytes refuse bodies larger than this.
 * @param beforeCommit last check before the file enters the store (e.g. the
 *   build's lease is still held); if it throws, the file is discarded.
 * @throws HttpError 422 checksum_mismatch / size_mismatch, 413 too_large, or
 *   whatever `beforeCommit` throws.
 */
export async function receiveUpload(
  body: Readable,
  expected: { sha256: string; size: number },
  dirs: { incomingDir: string; storeDir: string },
  maxBytes: number,
  beforeCommit: () => Promise<void> = async () => undefined,
): Promise<StoredFile> {
  if (expected.size > maxBytes) throw httpErrors.tooLarge(maxBytes);
  await mkdir(dirs.incomingDir, { recursive: true });
  const tmp = join(dirs.incomingDir, `${Date.now()}-${randomBytes(6).toString('hex')}.part`);
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > maxBytes) return cb(httpErrors.tooLarge(maxBytes));
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, createWriteStream(tmp));
    const sha256 = hash.digest('hex');
    if (size !== expected.size) throw httpErrors.sizeMismatch(expected.size, size);
    if (sha256 !== expected.sha256) throw httpErrors.checksumMismatch(expected.sha256, sha256);
    await beforeCommit();
    const dest = storePath(dirs.storeDir, sha256);
    await mkdir(join(dirs.storeDir, sha256.slice(0, 2)), { recursive: true });
    if (existsSync(dest)) {
      await rm(tmp);
      // Fresh mtime: the store prune only deletes unreferenced files older than an hour.
      const now = new Date();
      await utimes(dest, now, now);
    } else await rename(tmp, dest);
    return { sha256, size, path: dest };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
