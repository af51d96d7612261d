/**
 * The npm ecosystem: builds native addons from the npm registry for
 * node-ABI and N-API targets and publishes them where prebuild-install and
 * node-pre-gyp can be pointed at them. See shared/reference/npm-prebuilds.md.
 */
export { createNpmMaster, type NpmMasterEcosystem, type NpmMasterOptions, type NpmJobSpec } from './master.ts';
export { createNpmWorker, type NpmWorkerOptions } from './worker.ts';
export { defaultNpmRegistry } from './registry.ts';
export { detectNative, type DetectionInput } from './detect.ts';
export { planBuild, requestedRuntime, type BuildPlan, type ExpectedArtifact, type InstallClient } from './plan.ts';
export { targetName, type NpmTargetFacts, type NpmRuntime } from './targets.ts';
export type { NpmVersionMeta, NativeVerdict } from './manifest.ts';
