import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  compressionOf,
  decompressIndex,
  IndexFileError,
  indexLines,
  readIndexParagraphs,
  readIndexText,
} from '../../src/ecosystems/debian/index-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-debian-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function packagesText(count: number): string {
  let s = '';
  for (let i = 0; i < count; i++) s += `Package: pkg${i}\nVersion: 1.${i}-1\nDepends: libc6 (>= 2.36),\n pkg${i + 1}\n\n`;
  return s;
}

function xz(data: Buffer): Buffer {
  const r = spawnSync('xz', ['-1zc'], { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`xz failed: ${r.stderr.toString()}`);
  return r.stdout;
}

const hasXz = spawnSync('xz', ['--version']).status === 0;

async function names(path: string, options = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const p of readIndexParagraphs(path, options)) out.push(p.get('Package')!);
  return out;
}

describe('index file compression by name', () => {
  it('tells the compression from the suffix, URLs included', () => {
    expect(compressionOf('dists/bookworm/main/binary-amd64/Packages.xz')).toBe('xz');
    expect(compressionOf('https://deb.debian.org/x/Packages.gz?x=1')).toBe('gzip');
    expect(compressionOf('Packages')).toBe('none');
    expect(() => compressionOf('Packages.bz2')).toThrow(IndexFileError);
  });

  it('reads plain, .gz and .xz indexes to the same paragraphs', async () => {
    const text = Buffer.from(packagesText(50));
    writeFileSync(join(dir, 'Packages'), text);
    writeFileSync(join(dir, 'Packages.gz'), gzipSync(text));
    const expected = Array.from({ length: 50 }, (_, i) => `pkg${i}`);
    expect(await names(join(dir, 'Packages'))).toEqual(expected);
    expect(await names(join(dir, 'Packages.gz'))).toEqual(expected);
    if (hasXz) {
      writeFileSync(join(dir, 'Packages.xz'), xz(text));
      expect(await names(join(dir, 'Packages.xz'))).toEqual(expected);
      expect(await readIndexText(join(dir, 'Packages.xz'))).toBe(text.toString());
    }
  });

  it('streams a large .xz index without buffering it whole', { timeout: 60_000 }, async () => {
    if (!hasXz) return;
    const text = Buffer.from(packagesText(100_000));
    writeFileSync(join(dir, 'Large.xz'), xz(text));
    let count = 0;
    let last = '';
    for await (const p of readIndexParagraphs(join(dir, 'Large.xz'))) {
      count++;
      last = p.get('Depends')!;
    }
    expect(count).toBe(100_000);
    expect(last).toBe('libc6 (>= 2.36),\n pkg100000');
  });

  it('stops xz when the reader stops early', async () => {
    if (!hasXz) return;
    writeFileSync(join(dir, 'Early.xz'), xz(Buffer.from(packagesText(20_000))));
    let seen = 0;
    for await (const _ of readIndexParagraphs(join(dir, 'Early.xz'))) {
      if (++seen === 3) break;
    }
    expect(seen).toBe(3);
  });

  it('says clearly when xz is missing', async () => {
    writeFileSync(join(dir, 'Missing.xz'), Buffer.from('whatever'));
    await expect(names(join(dir, 'Missing.xz'), { xzCommand: 'kiln-no-such-xz' })).rejects.toThrow(/not found \(install xz-utils\)/);
  });

  it('reports corrupt .xz and .gz data, and a missing file, as errors', async () => {
    writeFileSync(join(dir, 'Bad.gz'), Buffer.from('not gzip at all'));
    await expect(names(join(dir, 'Bad.gz'))).rejects.toThrow();
    await expect(names(join(dir, 'Nope'))).rejects.toThrow(/ENOENT/);
    if (!hasXz) return;
    writeFileSync(join(dir, 'Bad.xz'), Buffer.from('not xz at all'));
    await expect(names(join(dir, 'Bad.xz'))).rejects.toThrow(IndexFileError);
  });

  it('decompresses bytes from any stream by the name they came from', async () => {
    const gz = gzipSync(Buffer.from('Package: a\nVersion: 1\n'));
    const lines: string[] = [];
    for await (const l of indexLines(decompressIndex('http://mirror/Packages.gz', Readable.from([gz])))) lines.push(l);
    expect(lines).toEqual(['Package: a', 'Version: 1']);
  });

  it('splits lines across chunk boundaries and multi-byte characters', async () => {
    const bytes = Buffer.from('Maintainer: Jörg\nX: ü\n');
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    const lines: string[] = [];
    for await (const l of indexLines(Readable.from(chunks))) lines.push(l);
    expect(lines).toEqual(['Maintainer: Jörg', 'X: ü']);
  });
});
