/**
 * Finding the tools an npm build needs on a worker: node-gyp (npm's own
 * copy), Node's headers, a C/C++ toolchain, and optional extras.
 */
import { execFile } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** The tools one worker has, found once and reused by every build. */
export interface Toolchain {
  nodeBinary: string;
  /** Directory holding `nodeBinary`, put first on PATH so scripts run the same Node. */
  nodeBinDir: string;
  /** npm's bundled `node-gyp.js`, or null. */
  nodeGypJs: string | null;
  /** Directory with `include/node/node.h` (node-gyp's `--nodedir`), or null. */
  nodeDir: string | null;
  /** npm's CLI script, run with `nodeBinary`, or null to run `npm` from PATH. */
  npmCli: string | null;
  /** Absolute paths of optional tools, or null when missing. */
  tools: Record<'make' | 'ninja' | 'python3' | 'cc' | 'cxx' | 'strip' | 'nm' | 'cmake' | 'cargo', string | null>;
}

/** Look a program up on PATH, like `which`. */
export async function which(cmd: string, pathEnv = process.env.PATH ?? ''): Promise<string | null> {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

async function firstOf(names: string[]): Promise<string | null> {
  for (const n of names) {
    const p = await which(n);
    if (p) return p;
  }
  return null;
}

async function npmConfig(key: string): Promise<string | null> {
  try {
    const { stdout } = await execFileP('npm', ['config', 'get', key], { timeout: 20_000 });
    const v = stdout.trim();
    return v && v !== 'undefined' && v !== 'null' ? v : null;
  } catch {
    return null;
  }
}

const hasHeaders = (dir: string) => existsSync(path.join(dir, 'include', 'node', 'node.h'));

/**
 * Find the toolchain for builds with `nodeBinary`. Node headers are looked
 * for next to the binary's prefix (how Node installs them), then at npm's
 * `nodedir` config, then `/usr`; node-gyp run outside npm would otherwise
 * try to download headers, which fails on offline workers.
 * Never throws; missing pieces are null and the build reports them.
 */
export async function findToolchain(nodeBinary: string): Promise<Toolchain> {
  const real = path.resolve(nodeBinary);
  const nodeBinDir = path.dirname(real);
  const prefix = path.dirname(nodeBinDir);
  let npmRoot: string | null = path.join(prefix, 'lib', 'node_modules', 'npm');
  if (!existsSync(npmRoot)) {
    const globalPrefix = await npmConfig('prefix');
    npmRoot = globalPrefix ? path.join(globalPrefix, 'lib', 'node_modules', 'npm') : null;
    if (npmRoot && !existsSync(npmRoot)) npmRoot = null;
  }
  const nodeGypJs = npmRoot ? path.join(npmRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') : null;
  const npmCli = npmRoot ? path.join(npmRoot, 'bin', 'npm-cli.js') : null;

  let nodeDir: string | null = null;
  for (const cand of [prefix, await npmConfig('nodedir'), '/usr']) {
    if (cand && hasHeaders(cand)) {
      nodeDir = cand;
      break;
    }
  }
  return {
    nodeBinary: real,
    nodeBinDir,
    nodeGypJs: nodeGypJs && existsSync(nodeGypJs) ? nodeGypJs : null,
    nodeDir,
    npmCli: npmCli && existsSync(npmCli) ? npmCli : null,
    tools: {
      make: await which('make'),
      ninja: await which('ninja'),
      python3: await firstOf(['python3', 'python']),
      cc: await firstOf(['cc', 'gcc', 'clang']),
      cxx: await firstOf(['c++', 'g++', 'clang++']),
      strip: await which('strip'),
      nm: await which('nm'),
      cmake: await which('cmake'),
      cargo: await which('cargo'),
    },
  };
}

/**
 * What is missing for a node-gyp build, or null when nothing is. A missing
 * piece is the worker's problem, not the package's, so builds report it as
 * 'untestable'.
 */
export function missingForNodeGyp(t: Toolchain): string | null {
  const missing: string[] = [];
  if (!t.nodeGypJs) missing.push('node-gyp (npm’s bundled copy)');
  if (!t.nodeDir) missing.push('Node headers (include/node/node.h)');
  if (!t.tools.make) missing.push('make');
  if (!t.tools.python3) missing.push('python3');
  if (!t.tools.cc || !t.tools.cxx) missing.push('a C/C++ compiler');
  return missing.length ? `this worker lacks ${missing.join(', ')}` : null;
}

/**
 * What is missing for a cmake-js build, or null when nothing is. cmake-js
 * needs cmake, a C++ compiler (it refuses to start without g++ or clang++),
 * and ninja or make for cmake's generator. Node headers are needed unless
 * cmake-js takes N-API headers from the node-api-headers package
 * (`needsNodeHeaders` false); without them cmake-js would download headers
 * from nodejs.org, which an offline compile cannot.
 */
export function missingForCmakeJs(t: Toolchain, needsNodeHeaders: boolean): string | null {
  const missing: string[] = [];
  if (!t.tools.cmake) missing.push('cmake');
  if (needsNodeHeaders && !t.nodeDir) missing.push('Node headers (include/node/node.h)');
  if (!t.tools.ninja && !t.tools.make) missing.push('ninja or make');
  if (!t.tools.cc || !t.tools.cxx) missing.push('a C/C++ compiler');
  return missing.length ? `this worker lacks ${missing.join(', ')}, needed by cmake-js` : null;
}
