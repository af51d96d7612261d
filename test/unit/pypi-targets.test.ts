import { describe, expect, it } from 'vitest';
import {
  compareAbi,
  platformServes,
  pypiTargetName,
  pythonSatisfies,
  readPypiTargetFacts,
  requiresPythonSkip,
  wheelServesTarget,
  type PypiTargetFacts,
} from '../../src/ecosystems/pypi/targets.ts';
import { parseWheelFilename } from '../../src/ecosystems/pypi/wheel-name.ts';

const cp311: PypiTargetFacts = { abi: 'cp311', platform: 'linux_x86_64', python: '3.11.7' };

describe('PyPI targets', () => {
  it('names a target <abi>-<platform> and reads facts back', () => {
    expect(pypiTargetName(cp311)).toBe('cp311-linux_x86_64');
    expect(readPypiTargetFacts({ ...cp311 }, 'x')).toEqual(cp311);
    expect(() => readPypiTargetFacts({ abi: 'cp311' }, 'cp311-x')).toThrow(/lacks the PyPI facts/);
  });

  it('sorts ABIs as versions, not strings', () => {
    expect(['cp313', 'cp39', 'cp310', 'cp313t', 'cp27mu', 'pp310', 'abi3', 'cp311'].sort(compareAbi)).toEqual([
      'cp27mu',
      'cp39',
      'cp310',
      'cp311',
      'cp313',
      'cp313t',
      'pp310',
      'abi3',
    ]);
    expect(compareAbi('cp39', 'cp313')).toBeLessThan(0);
  });

  it('checks Requires-Python specifiers as PEP 440 does', () => {
    const cases: Array<[string, string, boolean]> = [
      ['3.11.7', '>=3.8', true],
      ['3.11.7', '>=3.12', false],
      ['3.11.7', '<=3.11', false],
      ['3.11.0', '<=3.11', true],
      ['3.11.7', '>3.11', true],
      ['3.11.7', '<3.11', false],
      ['3.11.7', '==3.11.*', true],
      ['3.11.7', '==3.10.*', false],
      ['3.11.7', '!=3.11.*', false],
      ['3.11.7', '!=3.10.*', true],
      ['3.11.7', '~=3.7', true],
      ['3.11.7', '~=3.10.1', false],
      ['3.11.7', '>=2.7, !=3.0.*, !=3.1.*, <4', true],
      ['3.11.7', '>=3.6,', true],
      ['3.13.0rc1', '>=3.13', true],
    ];
    for (const [py, spec, ok] of cases) expect(pythonSatisfies(py, spec), `${py} ${spec}`).toBe(ok);
  });

  it('treats empty and invalid Requires-Python as no constraint, as pip does', () => {
    expect(pythonSatisfies('3.11.7', null)).toBe(true);
    expect(pythonSatisfies('3.11.7', '')).toBe(true);
    expect(pythonSatisfies('3.11.7', '>=3.6.*')).toBe(true);
    expect(pythonSatisfies('3.11.7', 'python3')).toBe(true);
  });

  it('gives a skip reason naming the specifier and the Python', () => {
    expect(requiresPythonSkip('>=3.12', cp311)).toBe('requires_python ">=3.12" excludes Python 3.11.7');
    expect(requiresPythonSkip('>=3.8', cp311)).toBeNull();
  });

  it('knows which targets a wheel serves (none and abi3 serve many)', () => {
    const serves = (f: string, t: PypiTargetFacts) => wheelServesTarget(parseWheelFilename(f)!, t);
    const cp39: PypiTargetFacts = { abi: 'cp39', platform: 'linux_x86_64', python: '3.9.2' };
    const arm: PypiTargetFacts = { abi: 'cp311', platform: 'linux_armv7l', python: '3.11.2' };
    expect(serves('p-1-py3-none-any.whl', cp311)).toBe(true);
    expect(serves('p-1-py3-none-any.whl', arm)).toBe(true);
    expect(serves('p-1-py2-none-any.whl', cp311)).toBe(false);
    expect(serves('p-1-cp311-cp311-linux_x86_64.whl', cp311)).toBe(true);
    expect(serves('p-1-cp311-cp311-linux_x86_64.whl', cp39)).toBe(false);
    expect(serves('p-1-cp311-cp311-linux_x86_64.whl', arm)).toBe(false);
    expect(serves('p-1-cp38-abi3-linux_x86_64.whl', cp311)).toBe(true);
    expect(serves('p-1-cp38-abi3-linux_x86_64.whl', cp39)).toBe(true);
    expect(serves('p-1-cp312-abi3-linux_x86_64.whl', cp311)).toBe(false);
    expect(serves('p-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', cp311)).toBe(true);
    expect(platformServes('manylinux_2_17_aarch64', 'linux_x86_64')).toBe(false);
  });
});
