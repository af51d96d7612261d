/**
 * npm targets. A worker with one Node declares two: a node-ABI target
 * (`node-v115-linux-x64`, binaries tied to one NODE_MODULE_VERSION) and an
 * N-API target (`napi-linux-x64`, binaries that load on any Node with at
 * least that N-API version). The platform part follows prebuild-install's
 * `{platform}{libc}` convention, so musl machines are `linuxmusl`
 * (https://github.com/prebuild/prebuild-install#libc).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Json, TargetDecl } from '../types.ts';

const execFileP = promisify(execFile);

/** Which kind of binary a target holds. */
export type NpmRuntime = 'node' | 'napi';

/** The Node a worker runs, as reported by that Node binary. */
export interface NodeFacts {
  /** Node version of the building worker, e.g. `20.20.2`. */
  node: string;
  /** NODE_MODULE_VERSION (`process.versions.modules`), e.g. 115. */
  abi: number;
  /** Highest N-API version the Node supports (`process.versions.napi`), e.g. 9. */
  napi: number;
  /** `process.platform`, e.g. `linux`. */
  platform: string;
  /** `process.arch`, e.g. `x64`, `arm64`. */
  arch: string;
  /** '' for glibc (and non-Linux), 'musl' for musl libc. */
  libc: '' | 'musl';
}

/** The facts an npm target carries (`TargetDecl.facts`): its worker's Node, and which kind of binary it holds. */
export interface NpmTargetFacts extends NodeFacts {
  runtime: NpmRuntime;
}

/** The target name for facts: `node-v<abi>-<platform><libc>-<arch>` or `napi-<platform><libc>-<arch>`. */
export function targetName(f: Pick<NpmTargetFacts, 'runtime' | 'abi' | 'platform' | 'libc' | 'arch'>): string {
  const plat = `${f.platform}${f.libc}-${f.arch}`;
  return f.runtime === 'napi' ? `napi-${plat}` : `node-v${f.abi}-${plat}`;
}

/** The two target declarations (node-ABI first, then N-API) for one Node. */
export function targetsFor(n: NodeFacts): TargetDecl[] {
  return (['node', 'napi'] as const).map((runtime) => {
    const facts: NpmTargetFacts = { ...n, runtime };
    return { name: targetName(facts), ecosystem: 'npm', facts: facts as unknown as Json };
  });
}

/**
 * Read target facts back from stored JSON.
 * @throws Error naming the bad key when the facts are not an npm target's.
 */
export function readTargetFacts(facts: Json, targetNameForErrors = 'target'): NpmTargetFacts {
  const { node, abi, napi, platform, arch, libc, runtime } = facts;
  const bad = (k: string): never => {
    throw new Error(`${targetNameForErrors}: npm target facts lack a valid "${k}"`);
  };
  if (typeof node !== 'string') bad('node');
  if (typeof abi !== 'number') bad('abi');
  if (typeof napi !== 'number') bad('napi');
  if (typeof platform !== 'string') bad('platform');
  if (typeof arch !== 'string') bad('arch');
  if (libc !== '' && libc !== 'musl') bad('libc');
  if (runtime !== 'node' && runtime !== 'napi') bad('runtime');
  return { node, abi, napi, platform, arch, libc, runtime } as NpmTargetFacts;
}

// Run inside the Node being described, so a worker can build for a Node other than its own.
// glibcVersionRuntime in the process report is how detect-libc tells glibc from musl too.
const PROBE = `const r = process.report && process.report.getReport ? process.report.getReport() : null;
const glibc = r && r.header && r.header.glibcVersionRuntime;
process.stdout.write(JSON.stringify({
  node: process.versions.node, abi: Number(process.versions.modules), napi: Number(process.versions.napi || 0),
  platform: process.platform, arch: process.arch,
  libc: process.platform === 'linux' && !glibc ? 'musl' : '' }));`;

/**
 * Ask a Node binary for its facts.
 * @param nodeBinary path of the `node` executable.
 * @throws Error when the binary cannot be run or prints something unexpected.
 */
export async function probeNode(nodeBinary: string): Promise<NodeFacts> {
  const { stdout } = await execFileP(nodeBinary, ['-e', PROBE], { timeout: 30_000 });
  const f = JSON.parse(stdout) as NodeFacts;
  if (typeof f.node !== 'string' || !Number.isFinite(f.abi)) throw new Error(`unexpected facts from ${nodeBinary}: ${stdout}`);
  return f;
}
