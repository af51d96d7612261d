/**
 * Minimal types for npm-pick-manifest 11, which ships none.
 * https://github.com/npm/npm-pick-manifest#readme
 */
declare module 'npm-pick-manifest' {
  /** Options Kiln uses; `nodeVersion` makes `engines` count as npm does. */
  interface PickManifestOptions {
    defaultTag?: string;
    before?: string | Date | null;
    nodeVersion?: string;
    npmVersion?: string | null;
  }
  /**
   * Pick the manifest npm would install for `wanted` (a tag, version or range).
   * @throws Error with code ETARGET/ENOVERSIONS when nothing matches.
   */
  function pickManifest(packument: object, wanted: string, opts?: PickManifestOptions): unknown;
  export default pickManifest;
}
