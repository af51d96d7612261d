/**
 * The Debian worker's verdicts, against piuparts-slave 1.1.7's
 * _test_package: untestable return codes -10001…-10006 before piuparts
 * runs, then exit status and the `piuparts run ends` last line.
 */
import { describe, expect, it } from 'vitest';
import { checkAvailability, classifyRun, runOutcome, untestableOutcome, type FoundPackage } from '../../src/ecosystems/debian/worker-classify.ts';
import { endLines, slaveTime, startLine } from '../../src/ecosystems/debian/worker-log.ts';
import { specFor } from '../helpers/debian-worker-fixture.ts';

const stanza = (v: string) => `Package: hello\nVersion: ${v}\nArchitecture: amd64\n`;
const at = (v: string): FoundPackage => ({ version: v, stanza: stanza(v) });
const plain = specFor('file:///m', 'piuparts');
const upgrade = specFor('file:///m', 'piuparts', { distro: 'bullseye', upgradeTestDistros: ['bullseye', 'bookworm'], indexDistro: 'bookworm' });

describe('availability before piuparts runs (plain section)', () => {
  it('the right version: testable, the stanza between blank lines', () => {
    const a = checkAvailability(plain, new Map([['bookworm', at('2.10-3')]]));
    expect(a).toEqual({ ret: 0, text: `\n${stanza('2.10-3')}\n`, reason: null });
  });

  it('missing: -10001 with the slave message and no stanza', () => {
    const a = checkAvailability(plain, new Map([['bookworm', null]]));
    expect(a).toEqual({ ret: -10001, text: 'Package hello not found in bookworm\n', reason: 'Package hello not found in bookworm' });
    expect(untestableOutcome(a)).toEqual({
      status: 'untestable',
      failureReason: 'Package hello not found in bookworm (ret=-10001); piuparts was not run',
      artifacts: [],
    });
  });

  it('another version: -10002, the message then the stanza that is there', () => {
    const a = checkAvailability(plain, new Map([['bookworm', at('2.10-2')]]));
    expect(a.ret).toBe(-10002);
    expect(a.text).toBe(`Package hello 2.10-3 not found in bookworm, 2.10-2 is available\n\n${stanza('2.10-2')}\n`);
    expect(untestableOutcome(a).failureReason).toContain('2.10-2 is available');
  });
});

describe('availability before piuparts runs (upgrade section)', () => {
  it('present in both, rising: testable, one [distro] block each', () => {
    const a = checkAvailability(upgrade, new Map([['bullseye', at('2.10-2')], ['bookworm', at('2.10-3')]]));
    expect(a).toEqual({ ret: 0, text: `\n[bullseye]\n${stanza('2.10-2')}\n[bookworm]\n${stanza('2.10-3')}\n`, reason: null });
  });

  it('new in the last distro is fine; missing everywhere is -10004 (the last check wins, as in the slave)', () => {
    expect(checkAvailability(upgrade, new Map([['bullseye', null], ['bookworm', at('2.10-3')]])).ret).toBe(0);
    const none = checkAvailability(upgrade, new Map([['bullseye', null], ['bookworm', null]]));
    expect(none.ret).toBe(-10004);
    expect(none.reason).toBe('Package hello not found in any distribution');
    expect(none.text).toBe('Package hello not found in any distribution\nPackage hello not found in bookworm\n\n[bullseye]\n\n[bookworm]\n\n');
  });

  it('gone from the last distro: -10004; another version there: -10005; a downgrade: -10006', () => {
    expect(checkAvailability(upgrade, new Map([['bullseye', at('2.10-2')], ['bookworm', null]])).ret).toBe(-10004);
    expect(checkAvailability(upgrade, new Map([['bullseye', at('2.10-2')], ['bookworm', at('2.10-4')]])).ret).toBe(-10005);
    const down = checkAvailability(upgrade, new Map([['bullseye', at('2.11-1')], ['bookworm', at('2.10-3')]]));
    expect(down.ret).toBe(-10006);
    expect(down.reason).toBe('Upgrade to bookworm requires downgrade: 2.11-1 > 2.10-3');
  });
});

describe('classifying a piuparts run', () => {
  const ends = 'INFO: PASS: All tests.\n0m9.9s INFO: piuparts run ends.\n';

  it('exit 0 with the ends line last: passed, ret=0', () => {
    const v = classifyRun({ exitStatus: 0, output: ends });
    expect(v).toEqual({ ret: 0, status: 'passed', failureReason: null, note: '' });
    expect(runOutcome(v)).toEqual({ status: 'passed', failureReason: null, artifacts: [] });
  });

  it('exit 0 without the ends line: failed, 1024 added, said in the reason', () => {
    const v = classifyRun({ exitStatus: 0, output: 'INFO: starting\n' });
    expect(v.ret).toBe(1024);
    expect(v.status).toBe('failed');
    expect(v.failureReason).toMatch(/1024 was added to its exit status 0 \(ret=1024\)/);
    expect(v.note).toBe(' *** PIUPARTS OUTPUT INCOMPLETE ***\n');
  });

  it('only the last line counts, and output without a final newline is read as the slave reads it', () => {
    expect(classifyRun({ exitStatus: 0, output: 'piuparts run ends.\nmore\n' }).ret).toBe(1024);
    expect(classifyRun({ exitStatus: 0, output: 'x\npiuparts run ends.' }).ret).toBe(0);
    expect(classifyRun({ exitStatus: 0, output: '' }).ret).toBe(1024);
  });

  it('non-zero exit: failed with that ret, +1024 when the ends line is missing too; the first ERROR line is the reason', () => {
    const v = classifyRun({ exitStatus: 1, output: `0m3.0s ERROR: Command failed (status=100): ['apt-get', 'install']\n${ends}` });
    expect(v).toMatchObject({ ret: 1, status: 'failed', note: '' });
    expect(v.failureReason).toBe("piuparts failed (ret=1): 0m3.0s ERROR: Command failed (status=100): ['apt-get', 'install']");
    expect(classifyRun({ exitStatus: 1, output: 'ERROR: x\n' }).ret).toBe(1025);
  });

  it('killed: negative ret and the slave note', () => {
    expect(classifyRun({ exitStatus: null, output: 'x\n' })).toMatchObject({ ret: -1, status: 'failed', note: ' *** Process KILLED - exceed maximum run time ***\n' });
    expect(classifyRun({ exitStatus: 137, output: ends }).ret).toBe(-137);
    expect(classifyRun({ exitStatus: 124, output: ends }).ret).toBe(-124);
  });
});

describe('log lines', () => {
  it('writes times as the slave: UTC, %Y-%m-%d %H:%M:%S %Z with GMT', () => {
    const d = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(slaveTime(d)).toBe('2024-01-02 03:04:05 GMT');
    expect(startLine(d)).toBe('Start: 2024-01-02 03:04:05 GMT\n');
    expect(endLines(1024, d, ' *** PIUPARTS OUTPUT INCOMPLETE ***\n')).toBe(' *** PIUPARTS OUTPUT INCOMPLETE ***\n\nret=1024\nEnd: 2024-01-02 03:04:05 GMT\n');
  });
});
