import { randomBytes } from 'node:crypto';
import { copyFile, link, lstat, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';

/**
 * Write a file so that readers see the old content or the new, never a
 * partial one: write a temp file beside it, then rename it into place.
 */
export async function writeFileAtomic(path: string, content: string | Buffer): Promise<void> {
  await replaceAtomic(path, (tmp) => writeFile(tmp, content));
}

/**
 * Make `path` a symlink to `target`, replacing an older link atomically.
 * @returns false, changing nothing, when `path` is something other than a
 *   symlink (a real folder: two spellings that differ only in case on a
 *   case-insensitive filesystem).
 */
export async function symlinkAtomic(target: string, path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => null);
  if (st && !st.isSymbolicLink()) return false;
  await replaceAtomic(path, (tmp) => symlink(target, tmp));
  return true;
}

/** Create something at a temp name beside `path` with `make`, then rename it into place; the temp name never outlives a failure. */
async function replaceAtomic(path: string, make: (tmp: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await make(tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Publish a stored file at `path`, replacing whatever was there atomically:
 * by hard link when the store and the output path share a filesystem (no
 * bytes copied), otherwise by copying to a temp name beside it first.
 */
export async function linkFileAtomic(from: string, path: string): Promise<void> {
  await replaceAtomic(path, async (tmp) => {
    try {
      await link(from, tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
      await copyFile(from, tmp);
    }
  });
}

/**
 * Join an output-relative path onto `root`, refusing anything that would
 * land outside it or on a dotfile folder such as `.kiln/`. Names in these
 * paths (packages, versions, targets) come from upstream and from workers.
 * @throws Error naming the unsafe path.
 */
export function outputFile(root: string, rel: string): string {
  const full = resolve(root, rel);
  const back = relative(resolve(root), full);
  if (!rel || isAbsolute(rel) || back.startsWith('..') || isAbsolute(back) || back.split(/[\\/]/).some((p) => p.startsWith('.') || p === '')) {
    throw new Error(`refusing to publish outside the output path: ${JSON.stringify(rel)}`);
  }
  return full;
}
