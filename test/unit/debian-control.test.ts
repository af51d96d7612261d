import { describe, expect, it } from 'vitest';
import { ControlSyntaxError, parseControl, readControlParagraphs } from '../../src/ecosystems/debian/control.ts';
import { binaryPackageOf, collectPackages, PackagesIndexError, sectionPackageOf } from '../../src/ecosystems/debian/packages-index.ts';

const PACKAGES = `Package: hello
Version: 2.10-3
Architecture: amd64
Maintainer: Santiago Vila <sanvila@debian.org>
Depends: libc6 (>= 2.34)
Description: example package based on GNU hello
 The GNU hello program produces a familiar, friendly greeting.
 .
 Seriously, though: this is an example.

package: libfoo1
VERSION: 1:1.0~rc1-1
Source: foo (1:1.0~rc1-1)
Pre-Depends: multiarch-support
depends: libc6:any (>= 2.36),
 libbar2 | libbar-compat,
\tzlib1g
Provides: libfoo-abi-1 (= 1:1.0~rc1-1), libfoo
Essential: yes
Priority: required
`;

describe('parseControl (Policy §5.1)', () => {
  it('splits paragraphs on blank lines and looks fields up case-insensitively', () => {
    const [hello, foo] = parseControl(PACKAGES);
    expect(hello!.get('package')).toBe('hello');
    expect(hello!.get('DEPENDS')).toBe('libc6 (>= 2.34)');
    expect(foo!.get('Package')).toBe('libfoo1');
    expect(foo!.get('Version')).toBe('1:1.0~rc1-1');
    expect([...foo!.entries()].map(([name]) => name)).toEqual([
      'package',
      'VERSION',
      'Source',
      'Pre-Depends',
      'depends',
      'Provides',
      'Essential',
      'Priority',
    ]);
  });

  it('keeps continuation lines, leading white space included', () => {
    const [hello, foo] = parseControl(PACKAGES);
    expect(hello!.get('Description')).toBe(
      'example package based on GNU hello\n The GNU hello program produces a familiar, friendly greeting.\n .\n Seriously, though: this is an example.',
    );
    expect(foo!.get('Depends')).toBe('libc6:any (>= 2.36),\n libbar2 | libbar-compat,\n\tzlib1g');
  });

  it('accepts CRLF, several blank lines, white-space-only separators and no final newline', () => {
    const ps = parseControl('A: 1\r\nB: 2\r\n\r\n\r\n \t\nA: 3');
    expect(ps.map((p) => p.get('a'))).toEqual(['1', '3']);
    expect(ps[0]!.get('b')).toBe('2');
    expect(parseControl('\n\n')).toEqual([]);
  });

  it('rejects duplicate fields, stray continuations and non-field lines, with the line number', () => {
    expect(() => parseControl('A: 1\na: 2\nB: 3\n')).toThrow(/line 2: duplicate field a/);
    expect(() => parseControl(' orphan\n')).toThrow(/line 1/);
    expect(() => parseControl('A: 1\nnot a field\n')).toThrow(/line 2/);
    expect(() => parseControl('# comment\nA: 1\n')).toThrow(ControlSyntaxError);
    expect(parseControl('# comment\nA: 1\n', { comments: true })[0]!.get('A')).toBe('1');
  });

  it('reads paragraphs from a line stream one at a time', async () => {
    const seen: string[] = [];
    for await (const p of readControlParagraphs(PACKAGES.split('\n'))) seen.push(p.get('Package')!);
    expect(seen).toEqual(['hello', 'libfoo1']);
  });
});

describe('Packages stanzas', () => {
  it('reads the fields install testing needs', () => {
    const foo = binaryPackageOf(parseControl(PACKAGES)[1]!);
    expect(foo).toMatchObject({ name: 'libfoo1', version: '1:1.0~rc1-1', source: 'foo', sourceVersion: '1:1.0~rc1-1' });
    expect(foo.essential).toBe(true);
    expect(foo.priority).toBe('required');
    expect(sectionPackageOf(foo)).toEqual({
      name: 'libfoo1',
      version: '1:1.0~rc1-1',
      depends: [['libc6'], ['libbar2', 'libbar-compat'], ['zlib1g'], ['multiarch-support']],
      provides: ['libfoo-abi-1', 'libfoo'],
    });
    const hello = binaryPackageOf(parseControl(PACKAGES)[0]!);
    expect(hello).toMatchObject({ source: 'hello', sourceVersion: '2.10-3', essential: false });
  });

  it('names the package and field of an unparsable relation', () => {
    const [p] = parseControl('Package: bad\nVersion: 1\nDepends: a (>= )\n');
    expect(() => binaryPackageOf(p!)).toThrow(PackagesIndexError);
    expect(() => binaryPackageOf(p!)).toThrow(/bad: bad Depends/);
    expect(() => binaryPackageOf(parseControl('Version: 1\n')[0]!)).toThrow(/without a Package/);
  });

  it('keeps the newest version of a name listed twice, in first-seen order', async () => {
    const text = 'Package: a\nVersion: 1.0\n\nPackage: b\nVersion: 1\n\nPackage: a\nVersion: 1.0+b1\n\nPackage: a\nVersion: 1.0~rc1\n';
    const got = await collectPackages(parseControl(text));
    expect([...got.values()].map((p) => `${p.name}=${p.version}`)).toEqual(['a=1.0+b1', 'b=1']);
  });
});
