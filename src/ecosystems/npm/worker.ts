/**
 * The worker-side npm ecosystem: declares a node-ABI and an N-API target
 * for its Node, and builds one version per job:
 * download + verify → unpack → install production deps (no scripts) →
 * compile with the package's own tool → strip → check ABI kind by imports →
 * load in a fresh Node → pack for prebuild-install (and node-pre-gyp).
 *
 * Outcomes: 'failed' is the package's fault (bad tarball, compile or load
 * error, wrong ABI kind); 'untestable' means this worker cannot judge the
 * package (a missing compiler, headers, cmake or cargo); a thrown error is
 * a worker fault (network down, disk full): the worker reports the build
 * cancelled and the master queues it again.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildContext, BuildOutcome, BuiltFile, Job, Json, TargetDecl, WorkerEcosystem } from '../types.ts';
import { readBinaryField } from './manifest.ts';
import type { NpmJobSpec } from './master.ts';
import type { BuildPlan } from './plan.ts';
import { probeNode, targetsFor, type NodeFacts } from './targets.ts';
import { TEE_SCRIPT, firstErrorLine, inspectBinary, nodeFilesIn, stripBinary } from './worker-binary.ts';
import { buildEnv, compileStep, npmCommand, npmInstallArgs, pruneManifest } from './worker-compile.ts';
import { TarballError, downloadVerified, unpackTarball } from './worker-fetch.ts';
import { packNodePreGyp, packPrebuild } from './worker-pack.ts';
import { findToolchain, type Toolchain } from './worker-toolchain.ts';

/** Options of {@link createNpmWorker}. */
export interface NpmWorkerOptions {
  /** The Node to build for and load-test with; defaults to the Node running the worker. */
  nodeBinary?: string;
}

const failed = (reason: string): BuildOutcome => ({ status: 'failed', failureReason: reason, artifacts: [] });
const untestable = (reason: string): BuildOutcome => ({ status: 'untestable', failureReason: reason, artifacts: [] });

/**
 * Read an npm job spec.
 * @throws Error (worker fault: master and worker disagree) when keys are missing.
 */
export function readJobSpec(spec: Json): NpmJobSpec {
  const s = spec as Partial<NpmJobSpec>;
  const plan = s.plan as BuildPlan | undefined;
  if (typeof s.tarball !== 'string' || typeof s.integrity !== 'string' || typeof s.name !== 'string' || !plan || !Array.isArray(plan.expected)) {
    throw new Error('npm job spec lacks name, tarball, integrity or plan');
  }
  return { ...s, binary: (readBinaryField(s.binary) as Json | null) ?? null } as NpmJobSpec;
}

/** Create the npm worker ecosystem. Tools are looked up once, at the first detectTargets or build. */
export function createNpmWorker(opts: NpmWorkerOptions = {}): WorkerEcosystem {
  const nodeBinary = opts.nodeBinary ?? process.execPath;
  let probe: Promise<{ facts: NodeFacts; tools: Toolchain }> | null = null;
  const env = () => (probe ??= (async () => ({ facts: await probeNode(nodeBinary), tools: await findToolchain(nodeBinary) }))());

  async function build(job: Job, ctx: BuildContext): Promise<BuildOutcome> {
    const { facts, tools } = await env();
    const targets = targetsFor(facts);
    if (!targets.some((t) => t.name === job.target)) throw new Error(`this worker does not build target ${job.target}`);
    const spec = readJobSpec(job.spec);
    const plan = spec.plan;
    const runEnv = buildEnv(tools, ctx.workDir);
    const pkgDir = path.join(ctx.workDir, 'pkg');

    // Runs a command with its output teed into a file, so compiler errors can be quoted in the failure reason.
    const teeScript = path.join(ctx.workDir, '.kiln-tee.cjs');
    await writeFile(teeScript, TEE_SCRIPT);
    const runLogged = async (name: string, cmd: string, args: string[], network: boolean) => {
      const logFile = path.join(ctx.workDir, `${name}.log`);
      const r = await ctx.run(tools.nodeBinary, [teeScript, logFile, cmd, ...args], { cwd: pkgDir, env: runEnv, network });
      const text = existsSync(logFile) ? await readFile(logFile, 'utf8') : '';
      return { ok: r.code === 0, code: r.code, signal: r.signal, text };
    };

    ctx.log(`==> download ${spec.tarball}\n`);
    const tgz = path.join(ctx.workDir, 'package.tgz');
    try {
      const size = await downloadVerified(spec.tarball, spec.integrity, tgz, ctx.signal);
      ctx.log(`${size} bytes, integrity ${spec.integrity.slice(0, 20)}… verified\n`);
      ctx.log('==> unpack\n');
      await unpackTarball(tgz, pkgDir);
    } catch (err) {
      if (err instanceof TarballError) return failed(err.message);
      throw err;
    }

    ctx.log('==> npm install (production dependencies, scripts disabled)\n');
    try {
      await pruneManifest(pkgDir);
    } catch (err) {
      return failed(`unreadable package.json: ${err instanceof Error ? err.message : String(err)}`);
    }
    const npm = npmCommand(tools, npmInstallArgs(spec.registry));
    const inst = await runLogged('npm-install', npm.cmd, npm.args, true);
    if (ctx.signal.aborted) return failed('build timed out or was cancelled');
    if (!inst.ok) return failed(`npm install of dependencies failed (exit ${inst.code ?? inst.signal})`);

    const npgExpected = plan.expected.find((e) => e.kind === 'node-pre-gyp')?.nodePreGyp ?? null;
    const modulePathAbs = npgExpected ? path.resolve(pkgDir, npgExpected.modulePath) : null;
    const step = compileStep(plan, readBinaryField(spec.binary), modulePathAbs, tools, pkgDir, { version: facts.node, arch: facts.arch });
    if (step.kind === 'untestable') return untestable(step.reason);
    if (step.kind === 'failed') return failed(step.reason);
    ctx.log(`==> compile with ${step.tool}${plan.napiBuildVersion ? ` (N-API ${plan.napiBuildVersion})` : ''}\n`);
    const comp = await runLogged('compile', step.cmd, step.args, false);
    if (ctx.signal.aborted) return failed('build timed out or was cancelled');
    if (!comp.ok) {
      const first = firstErrorLine(comp.text);
      return failed(`${step.tool} failed (exit ${comp.code ?? comp.signal})${first ? `: ${first}` : ''}`);
    }

    let nodeFiles = await nodeFilesIn(path.join(pkgDir, 'build', 'Release'));
    const moduleFile = npgExpected && modulePathAbs ? path.join(modulePathAbs, `${npgExpected.moduleName}.node`) : null;
    if (!nodeFiles.length && moduleFile && existsSync(moduleFile)) nodeFiles = [moduleFile];
    if (!nodeFiles.length) return failed(`${step.tool} succeeded but produced no build/Release/*.node`);

    ctx.log('==> strip and inspect binaries\n');
    // Some packages also build .node files that are not addons (better-sqlite3's test_extension.node is an
    // SQLite extension); they import neither N-API nor V8, and loading them with require() fails, so skip them.
    const addons: string[] = [];
    for (const f of [...nodeFiles, ...(moduleFile && existsSync(moduleFile) && !nodeFiles.includes(moduleFile) ? [moduleFile] : [])]) {
      if (tools.tools.strip) await stripBinary(tools.tools.strip, f);
      const k = tools.tools.nm ? await inspectBinary(tools.tools.nm, f) : null;
      const what = !k ? 'not inspected (no nm)' : k.kind === 'node' ? 'node-ABI (imports V8/Node symbols)' : k.kind === 'napi' ? `N-API (${k.napiSymbols} napi_* imports)` : 'not a Node addon (no N-API or V8 imports), not loaded';
      ctx.log(`${path.relative(pkgDir, f)}: ${what}\n`);
      if (plan.runtime === 'napi' && k?.kind === 'node') {
        return failed(`${path.basename(f)} imports V8/Node symbols (${k.nodeSymbols.join(', ')}), so it is not an N-API addon`);
      }
      if (k?.kind !== 'none' && nodeFiles.includes(f)) addons.push(f);
    }
    if (!addons.length) return failed('no built .node file imports N-API or V8 symbols, so none is a Node addon');

    ctx.log('==> load test in a fresh node process (no network)\n');
    for (const f of addons) {
      // A fresh process per file: nan-based addons cannot be loaded twice in one process.
      const r = await ctx.run(tools.nodeBinary, ['-e', `require(${JSON.stringify(f)}); console.log('loaded ' + ${JSON.stringify(path.basename(f))})`], {
        cwd: pkgDir,
        env: runEnv,
        network: false,
      });
      if (r.code !== 0) return failed(`loading ${path.basename(f)} in Node ${facts.node} failed (exit ${r.code ?? r.signal})`);
    }

    ctx.log('==> pack artifacts\n');
    const artifacts: BuiltFile[] = [];
    for (const e of plan.expected) {
      const out = path.join(ctx.workDir, 'out', e.filename);
      const tags: Json = {
        kind: e.kind,
        runtime: e.runtime,
        abi: e.abi,
        platform: facts.platform,
        arch: facts.arch,
        libc: facts.libc,
        client: plan.client,
      };
      if (plan.napiBuildVersion) tags.napi = plan.napiBuildVersion;
      if (e.kind === 'prebuild-install') {
        // prebuild-install require()s every .node it unpacks and falls back to compiling if one fails, so only addons go in.
        await packPrebuild(addons, path.join(ctx.workDir, 'stage-prebuild'), out);
      } else if (e.nodePreGyp) {
        const src = moduleFile && existsSync(moduleFile) ? moduleFile : nodeFiles.find((f) => path.basename(f) === `${e.nodePreGyp!.moduleName}.node`);
        if (!src) return failed(`node-pre-gyp module ${e.nodePreGyp.moduleName}.node was not built`);
        await packNodePreGyp(src, e.nodePreGyp, path.join(ctx.workDir, 'stage-node-pre-gyp'), out);
        tags.mirrorPath = e.nodePreGyp.mirrorPath;
        tags.moduleName = e.nodePreGyp.moduleName;
      }
      ctx.log(`${e.filename}\n`);
      artifacts.push({ path: out, filename: e.filename, tags });
    }
    return { status: 'passed', failureReason: null, artifacts };
  }

  return {
    name: 'npm',
    async detectTargets(): Promise<TargetDecl[]> {
      return targetsFor((await env()).facts);
    },
    build,
  };
}
