/**
 * Where things live under the output path. Package names may be scoped
 * (`@scope/name`), which adds a folder level; links are made relative with
 * `rootFrom` so the site works under any URL prefix.
 */

/** Folder of a package's page, relative to the output root: `packages/<ecosystem>/<name>/`. */
export function packageDir(ecosystem: string, name: string): string {
  return `packages/${ecosystem}/${name}/`;
}

/** Relative path from a folder (ending in `/`) back to the output root, e.g. `../../../`. */
export function rootFrom(dir: string): string {
  return '../'.repeat(dir.split('/').filter(Boolean).length);
}

/** Output-relative path of a package's JSON document (piwheels-style `json/` folder). */
export function packageJsonPath(ecosystem: string, name: string): string {
  return `${packageDir(ecosystem, name)}json/index.json`;
}
