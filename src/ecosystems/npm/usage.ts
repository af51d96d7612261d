/**
 * "How to use these binaries" for an npm package page. Every line is
 * something a user can paste; notes say plainly what cannot work.
 *
 * Config facts relied on (npm 11, checked on this machine):
 * - npm exports every non-default config key, including unknown ones from
 *   .npmrc, to scripts as `npm_config_<key with '-' → '_', lower-cased>`,
 *   except keys starting with '_', '@' or '/' (@npmcli/config set-envs.js).
 * - Dependency install scripts are blocked unless approved
 *   (`npm help install-scripts`).
 */
import type { RepositoryInput, UsageBlock } from '../types.ts';
import { nodePreGypMirrorEnvVar, prebuildHostEnvVar } from './naming.ts';
import { nodePreGypRoot, prebuildsRoot, trimBase } from './repository.ts';

const GLOBAL_TEMPLATE = '{name}-v{version}-{runtime}-v{abi}-{platform}{libc}-{arch}.tar.gz';

// Checked with npm 11.19: --allow-scripts is refused (EALLOWSCRIPTS) in project installs, and
// `install-scripts approve` only matches packages already installed, hence approve-then-rebuild.
function scriptsNote(name: string): string {
  return (
    `npm 11 skips dependency install scripts unless they are approved, and then the download step never runs. ` +
    `Add "allowScripts": { "${name}": true } to your package.json before installing, or after a first install run ` +
    `\`npm install-scripts approve ${name}\` and \`npm rebuild ${name}\`. ` +
    `Global installs take \`npm install -g --allow-scripts=${name} ${name}\`.`
  );
}

/** The usage blocks for one package, chosen by the kinds and install clients of its published artifacts. */
export function usage(input: RepositoryInput): UsageBlock[] {
  const name = input.displayName;
  const base = trimBase(input.baseUrl);
  const blocks: UsageBlock[] = [];
  const tags = input.artifacts.map((a) => a.tags);
  const clients = new Set(tags.map((t) => (typeof t.client === 'string' ? t.client : '')));

  if (clients.has('prebuild-install')) {
    const host = `${base}/${prebuildsRoot(name)}`;
    const envVar = prebuildHostEnvVar(name);
    const rcKey = envVar.slice('npm_config_'.length);
    const scoped = rcKey.startsWith('_');
    blocks.push({
      title: 'prebuild-install: download this package’s binary from Kiln',
      lines: [
        `export ${envVar}=${host}`,
        `npm install ${name}`,
        ...(scoped ? [] : ['', '# or, in .npmrc:', `${rcKey}=${host}`]),
      ],
      note:
        (scoped
          ? 'Scoped names turn into a config key starting with "_", which npm does not pass to scripts, so only the environment variable works. '
          : '') +
        'prebuild-install appends /v<version>/<file>; when Kiln has no binary for your Node it gets a 404 and compiles from source as before. ' +
        scriptsNote(name),
    });
    if (!name.startsWith('@')) {
      blocks.push({
        title: 'prebuild-install: use Kiln for every prebuild-install package',
        lines: [
          '# ~/.prebuild-installrc',
          `download=${base}/npm/prebuilds/{name}/v{version}/${GLOBAL_TEMPLATE}`,
        ],
        note: 'prebuild-install drops the scope from {name}, so this global template only reaches unscoped packages.',
      });
    }
  }

  const npg = input.artifacts.find((a) => a.tags.kind === 'node-pre-gyp' && typeof a.tags.moduleName === 'string');
  if (npg) {
    const moduleName = npg.tags.moduleName as string;
    const envVar = nodePreGypMirrorEnvVar(moduleName);
    const mirror = `${base}/${nodePreGypRoot(name)}/`;
    const rcWorks = !envVar.slice('npm_config_'.length).includes('-') && !moduleName.startsWith('_');
    blocks.push({
      title: 'node-pre-gyp: use Kiln as the binary mirror',
      lines: [
        `export ${envVar}=${mirror}`,
        `npm install ${name}`,
        ...(rcWorks ? ['', '# or, in .npmrc:', `${envVar.slice('npm_config_'.length)}=${mirror}`] : []),
      ],
      note:
        'node-pre-gyp adds the package’s own remote_path and package_name to the mirror, and Kiln keeps that layout. ' +
        (rcWorks ? '' : `The module name "${moduleName}" cannot be spelled as an .npmrc key node-pre-gyp will see; use the environment variable. `) +
        scriptsNote(name),
    });
  }

  const noHook = [...clients].filter((c) => c === 'node-gyp-build' || c === 'node-gyp' || c === 'cmake-js' || c === 'rust');
  if (noHook.length) {
    blocks.push({
      title: 'No download hook: fetch the binary by hand',
      lines: [
        `curl -fLO ${base}/${prebuildsRoot(name)}/v<version>/<file from the list below>`,
        `tar -xzf <file> -C node_modules/${name}`,
      ],
      note:
        `${name} installs with ${noHook.join('/')}, which has no setting for a download host: npm compiles it or uses ` +
        'binaries bundled in the tarball. Kiln’s builds prove it compiles and loads on each target; to use one, unpack it ' +
        'into the installed package (it holds build/Release/*.node). Serving it automatically would need a registry ' +
        'with repacked tarballs, which changes their integrity and breaks existing lockfiles.',
    });
  }
  return blocks;
}
