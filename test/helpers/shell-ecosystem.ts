/**
 * A tiny ecosystem for testing the core without npm: packages and versions
 * come from an in-memory table, and a build runs the shell script stored in
 * the version's meta, then publishes `<name>-<version>.bin` (whatever the
 * script wrote to $OUT). It exercises every hook the core calls.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MasterEcosystem, SourcePackage, WorkerEcosystem } from '../../src/ecosystems/types.ts';

/** One fake package: versions with their build script and release time. */
export interface FakePackage {
  name: string;
  versions: Array<{ version: string; released: Date; script: string; skip?: string | null }>;
}

/** Master half; `upstream` can be edited between syncs. */
export function createShellMaster(upstream: Map<string, FakePackage>): MasterEcosystem {
  const toSource = (p: FakePackage): SourcePackage => ({
    name: p.name,
    displayName: p.name,
    summary: `fake package ${p.name}`,
    meta: {},
    versions: p.versions.map((v) => ({ version: v.version, released: v.released, skip: v.skip ?? null, yanked: false, meta: { script: v.script } })),
  });
  return {
    name: 'shell',
    normalizeName: (n) => n.toLowerCase(),
    async sync(store) {
      for (const name of await store.trackedPackages()) {
        const p = upstream.get(name);
        if (p) await store.applyPackage(toSource(p), 'removed upstream');
        else await store.recordSyncError(name, 'no such package upstream');
      }
    },
    async fetchPackage(name) {
      const p = upstream.get(name);
      return p ? toSource(p) : null;
    },
    targetSkipReason(v, t) {
      const only = (v.meta.script as string).match(/# only-target: (\S+)/)?.[1];
      return only && only !== t.name ? `only built for ${only}` : null;
    },
    jobSpec(v) {
      return { script: v.meta.script };
    },
    checkArtifactName(filename, v) {
      return filename === `${v.packageName}-${v.version}.bin` ? null : `expected ${v.packageName}-${v.version}.bin, got ${filename}`;
    },
    repositoryFiles(input) {
      const files = new Map<string, { content: string } | { linkFrom: string }>();
      for (const a of input.artifacts) files.set(`shell/${input.packageName}/${a.filename}`, { linkFrom: a.storePath });
      files.set(`shell/${input.packageName}/index.json`, { content: JSON.stringify(input.artifacts.map((a) => ({ file: a.filename, sha256: a.sha256 }))) });
      return files;
    },
    usage: (input) => [{ title: 'Download', lines: [`curl ${input.baseUrl}/shell/${input.packageName}/`] }],
  };
}

/** Worker half: declares `targets` and runs the job's script with $OUT set. */
export function createShellWorker(targets: string[] = ['shell-a']): WorkerEcosystem {
  return {
    name: 'shell',
    async detectTargets() {
      return targets.map((name) => ({ name, ecosystem: 'shell', facts: { kind: 'shell' } }));
    },
    async build(job, ctx) {
      const out = join(ctx.workDir, `${job.package}-${job.version}.bin`);
      const r = await ctx.run('sh', ['-c', job.spec.script as string], { cwd: ctx.workDir, env: { OUT: out } });
      if (r.code !== 0) return { status: 'failed', failureReason: `script exited with ${r.code ?? r.signal}`, artifacts: [] };
      const exists = await stat(out).then(() => true, () => false);
      return { status: 'passed', failureReason: null, artifacts: exists ? [{ path: out, filename: `${job.package}-${job.version}.bin`, tags: {} }] : [] };
    },
  };
}
