/**
 * The Python a PyPI worker builds with, and the target it makes: the ABI
 * tag and platform tag a wheel built by that Python carries, e.g.
 * `cp311-linux_x86_64`. Worked out from the interpreter itself
 * (`sys.implementation`, `sys.abiflags`, `sysconfig.get_platform()`), so
 * `packaging` need not be installed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Json, TargetDecl } from '../types.ts';

import { pypiTargetName, type PypiTargetFacts } from './targets.ts';

export type { PypiTargetFacts } from './targets.ts';

const execFileP = promisify(execFile);

/** What probing a Python says: its target facts, and where it really is. */
export interface PythonProbe {
  facts: PypiTargetFacts;
  /** `sys.executable`: the real interpreter, not a pyenv shim, so builds run it directly. */
  executable: string;
  /** pip's version, or null when the interpreter has no pip. */
  pip: string | null;
}

/**
 * Prints the probe as JSON. The ABI follows `packaging.tags`: CPython is
 * `cp` + major/minor + `sys.abiflags`; other interpreters use their
 * extension-module suffix (`.pypy310-pp73-x86_64-linux-gnu.so` → `pypy310_pp73`).
 */
export const PROBE_SCRIPT = `
import json, sys, sysconfig, importlib.util
v = sys.version_info
impl = sys.implementation.name
if impl == 'cpython':
    abi = 'cp%d%d%s' % (v[0], v[1], getattr(sys, 'abiflags', ''))
else:
    suffix = sysconfig.get_config_var('EXT_SUFFIX') or ''
    parts = suffix.split('.')
    soabi = parts[1] if len(parts) > 2 else impl
    if impl == 'pypy':
        abi = '_'.join(soabi.split('-')[:2])
    else:
        abi = soabi.replace('.', '_').replace('-', '_')
pip = None
if importlib.util.find_spec('pip') is not None:
    import pip as _pip
    pip = _pip.__version__
print(json.dumps({
    'abi': abi.lower(),
    'platform': sysconfig.get_platform().replace('-', '_').replace('.', '_').lower(),
    'python': '%d.%d.%d' % (v[0], v[1], v[2]),
    'executable': sys.executable,
    'pip': pip,
}))
`;

/**
 * Read the probe's output.
 * @throws Error when the output is not the probe's JSON. Pure.
 */
export function parseProbe(stdout: string): PythonProbe {
  const j = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  const str = (k: string) => {
    const v = j[k];
    if (typeof v !== 'string' || !v) throw new Error(`python probe printed no ${k}`);
    return v;
  };
  return {
    facts: { abi: str('abi'), platform: str('platform'), python: str('python') },
    executable: str('executable'),
    pip: typeof j.pip === 'string' ? j.pip : null,
  };
}

/**
 * Run `python` and ask it what it builds.
 * @throws Error when it cannot be run or prints something else.
 */
export async function probePython(python: string): Promise<PythonProbe> {
  let stdout: string;
  try {
    ({ stdout } = await execFileP(python, ['-c', PROBE_SCRIPT], { timeout: 30_000, env: { ...process.env, PYTHONNOUSERSITE: '1' } }));
  } catch (err) {
    throw new Error(`cannot run ${python} to find its ABI and platform: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseProbe(stdout);
}

/** The one target a Python builds for. Pure. */
export function pypiTargetFor(f: PypiTargetFacts): TargetDecl {
  return { name: pypiTargetName(f), ecosystem: 'pypi', facts: { ...f } as unknown as Json };
}
