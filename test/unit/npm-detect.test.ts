import { describe, expect, it } from 'vitest';
import { detectNative, detectNativeFromManifest, notNativeReason, toolsMentioned } from '../../src/ecosystems/npm/detect.ts';
import type { NpmManifest } from '../../src/ecosystems/npm/manifest.ts';
import { classifySymbols, firstErrorLine } from '../../src/ecosystems/npm/worker-binary.ts';

const m = (extra: Partial<NpmManifest>): NpmManifest => ({ name: 'x', version: '1.0.0', dist: { tarball: 'http://r/x.tgz' }, ...extra });

describe('native detection from metadata', () => {
  it('finds build tools in install scripts, as whole words', () => {
    expect(toolsMentioned('prebuild-install || node-gyp rebuild --release')).toEqual(['prebuild-install', 'node-gyp']);
    expect(toolsMentioned('node-gyp-build')).toEqual(['node-gyp-build']);
    expect(toolsMentioned('node-pre-gyp install --fallback-to-build')).toEqual(['node-pre-gyp']);
    expect(toolsMentioned('./node_modules/.bin/cmake-js compile')).toEqual(['cmake-js']);
    expect(toolsMentioned('node scripts/neonate.js')).toEqual([]);
    expect(toolsMentioned('husky install')).toEqual([]);
  });

  it('ranks install scripts first', () => {
    const d = detectNativeFromManifest(m({ scripts: { install: 'prebuild-install || node-gyp rebuild', test: 'node-gyp' } }));
    expect(d.verdict).toBe('native');
    expect(d.signals).toEqual(['install script runs prebuild-install', 'install script runs node-gyp']);
  });

  it('ignores build tools in non-install scripts', () => {
    expect(detectNativeFromManifest(m({ scripts: { build: 'node-gyp rebuild' } })).verdict).toBe('unclear');
  });

  it('uses gypfile: true as native and gypfile: false as no build step', () => {
    expect(detectNativeFromManifest(m({ gypfile: true })).verdict).toBe('native');
    const d = detectNativeFromManifest(m({ gypfile: false, dependencies: { bindings: '^1' } }));
    expect(d.verdict).toBe('not-native');
    expect(notNativeReason(d)).toBe(
      'not a native addon (gypfile: false, so npm runs no build step; it depends on bindings, so any binaries ship inside the tarball)',
    );
  });

  it('uses a binary field and addon-only dependencies', () => {
    expect(detectNativeFromManifest(m({ binary: { napi_versions: [3] } })).signals).toEqual(['has a "binary" field']);
    const d = detectNativeFromManifest(m({ dependencies: { 'node-addon-api': '^7', lodash: '^4' }, optionalDependencies: { nan: '^2' } }));
    expect(d).toEqual({ verdict: 'native', signals: ['depends on nan', 'depends on node-addon-api'] });
  });

  it('is unclear with no signal, and explains a not-native verdict', () => {
    const d = detectNative({ scripts: {}, gypfile: null, hasBinaryField: false, addonDeps: [] });
    expect(d.verdict).toBe('unclear');
    expect(notNativeReason({ verdict: 'not-native', signals: [] })).toMatch(/^not a native addon \(no install script.*binding\.gyp/);
  });
});

describe('binary inspection helpers', () => {
  it('tells N-API from node-ABI binaries by their imports', () => {
    expect(classifySymbols('                 U napi_create_function\n                 U napi_set_named_property\n').kind).toBe('napi');
    const k = classifySymbols('                 U _ZN2v87Isolate10GetCurrentEv\n                 U node_module_register\n                 U napi_x\n');
    expect(k.kind).toBe('node');
    expect(k.nodeSymbols).toEqual(['_ZN2v87Isolate10GetCurrentEv', 'node_module_register']);
    expect(classifySymbols('                 U _ZNK2v85Value8IsObjectEv\n').kind).toBe('node');
    expect(classifySymbols('                 U memcpy@GLIBC_2.14\n').kind).toBe('none');
  });

  it('quotes the first compiler error', () => {
    const log = [
      'gyp info spawn make',
      "../src/addon.c:3:10: fatal error: kiln_missing_header.h: No such file or directory",
      'make: *** [addon.target.mk:111: Release/obj.target/addon/src/addon.o] Error 1',
      'gyp ERR! build error',
    ].join('\n');
    expect(firstErrorLine(log)).toBe('../src/addon.c:3:10: fatal error: kiln_missing_header.h: No such file or directory');
    expect(firstErrorLine('gyp ERR! stack Error: not found: make')).toBe('gyp ERR! stack Error: not found: make');
    expect(firstErrorLine('all good')).toBeNull();
  });
});
