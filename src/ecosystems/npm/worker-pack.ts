/**
 * Packing built binaries the way each download client unpacks them.
 * - prebuild-install extracts into the package root and expects
 *   `build/Release/*.node` (what `prebuild` packs).
 * - node-pre-gyp extracts with `strip: 1` into the evaluated module_path;
 *   its own `package` command packs `basename(module_path)/<files>`
 *   (lib/package.js, lib/install.js in mapbox/node-pre-gyp).
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';

async function packDir(stageDir: string, top: string, out: string): Promise<void> {
  await mkdir(path.dirname(out), { recursive: true });
  // portable: no uid/gid/user names or mtimes beyond what tar needs, so two builds of the same bytes differ less.
  await tar.create({ gzip: true, portable: true, cwd: stageDir, file: out }, [top]);
}

/**
 * Write a prebuild-install archive holding each of `nodeFiles` as
 * `build/Release/<basename>`.
 * @param stageDir an empty scratch directory (removed first if present).
 */
export async function packPrebuild(nodeFiles: string[], stageDir: string, out: string): Promise<void> {
  await rm(stageDir, { recursive: true, force: true });
  const rel = path.join(stageDir, 'build', 'Release');
  await mkdir(rel, { recursive: true });
  for (const f of nodeFiles) await copyFile(f, path.join(rel, path.basename(f)));
  await packDir(stageDir, 'build', out);
}

/**
 * Write a node-pre-gyp archive holding `<tarDir>/<moduleName>.node`.
 * @param moduleFile the built binary to include.
 */
export async function packNodePreGyp(
  moduleFile: string,
  layout: { tarDir: string; moduleName: string },
  stageDir: string,
  out: string,
): Promise<void> {
  await rm(stageDir, { recursive: true, force: true });
  const dir = path.join(stageDir, layout.tarDir);
  await mkdir(dir, { recursive: true });
  await copyFile(moduleFile, path.join(dir, `${layout.moduleName}.node`));
  await packDir(stageDir, layout.tarDir, out);
}
