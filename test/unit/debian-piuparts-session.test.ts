/**
 * The piuparts master protocol, session by session over in-memory streams:
 * a scripted slave sends its lines and closes; the replies must be exactly
 * piuparts-master-backend's (piuparts 1.1.7), and every protocol error must
 * close the connection without a reply.
 */
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { PiupartsBackend } from '../../src/ecosystems/debian/piuparts-master/backend.ts';
import { LineReader } from '../../src/ecosystems/debian/piuparts-master/line-reader.ts';
import { runPiupartsSession, type PiupartsSessionEnd } from '../../src/ecosystems/debian/piuparts-master/session.ts';
import { MemoryPiupartsMaster, type MemorySectionSetup } from '../helpers/piuparts-memory-backend.ts';

interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

interface Transcript {
  /** Everything the master wrote, line by line. */
  replies: string[];
  end: PiupartsSessionEnd;
  /** Whether the master ended its output (closed the connection). */
  outputEnded: boolean;
  logs: LogRecord[];
}

const pkgs = (...specs: string[]) => specs.map((s) => ({ name: s.split(' ')[0]!, version: s.split(' ')[1]! }));

function memory(sections: Record<string, MemorySectionSetup> = { sid: { packages: pkgs('alpha 1.0', 'beta 2.0-1') } }): MemoryPiupartsMaster {
  return new MemoryPiupartsMaster(sections);
}

/**
 * Run one session: send `raw` (exact bytes) as the slave, close the input,
 * and collect the replies and log records.
 */
async function talkRaw(backend: PiupartsBackend, raw: string, opts: { maxLineChars?: number; maxLogChars?: number } = {}): Promise<Transcript> {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (c: Buffer) => (text += c.toString('utf8')));
  let outputEnded = false;
  const ended = new Promise<void>((r) =>
    output.on('end', () => {
      outputEnded = true;
      r();
    }),
  );
  const logs: LogRecord[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => logs.push(JSON.parse(s) as LogRecord) });
  const done = runPiupartsSession({ lines: new LineReader(input, opts.maxLineChars ?? 10_000), output, backend, slave: 'slave-1', log, maxLogChars: opts.maxLogChars });
  input.end(raw);
  const end = await done;
  await ended;
  return { replies: text.split('\n').slice(0, -1), end, outputEnded, logs };
}

/** Run one session with these lines from the slave (each gets its `\n`). */
function talk(backend: PiupartsBackend, ...lines: string[]): Promise<Transcript> {
  return talkRaw(backend, lines.map((l) => `${l}\n`).join(''));
}

const ZERO_STATES = 'waiting-for-dependency-to-be-tested=0 dependency-failed-testing=0 dependency-cannot-be-tested=0 dependency-does-not-exist=0 unknown=0 outdated=0';

describe('piuparts master session', () => {
  it('greets first and ends quietly when the slave just leaves', async () => {
    const m = memory();
    const t = await talk(m.backendFor('s'));
    expect(t.replies).toEqual(['hello']);
    expect(t.end).toEqual({ how: 'eof' });
    expect(t.outputEnded).toBe(true);
  });

  it('serves a whole slave round: section, idle, reserve, status, with exact replies', async () => {
    const m = memory();
    const t = await talk(m.backendFor('s'), 'section sid', 'idle', 'reserve', 'reserve', 'reserve', 'status');
    expect(t.replies).toEqual([
      'hello',
      'ok',
      'ok 0',
      'ok alpha 1.0',
      'ok beta 2.0-1',
      'error',
      `ok successfully-tested=0 failed-testing=0 cannot-be-tested=0 waiting-to-be-tested=2 ${ZERO_STATES} total=2`,
    ]);
    expect(t.end).toEqual({ how: 'eof' });
  });

  it('answers idle with whole non-negative seconds', async () => {
    const m = memory({ sid: { packages: [], idleSeconds: 42.9 } });
    expect((await talk(m.backendFor('s'), 'section sid', 'idle')).replies).toEqual(['hello', 'ok', 'ok 42']);
    m.sections.get('sid')!.idleSeconds = -5;
    expect((await talk(m.backendFor('s'), 'section sid', 'idle')).replies).toEqual(['hello', 'ok', 'ok 0']);
  });

  it('takes pass, fail and untestable logs as long messages, leading space removed', async () => {
    const m = memory();
    const t = await talk(
      m.backendFor('s'),
      'section sid',
      'pass alpha 1.0',
      ' Start: 2024-01-01 00:00:00 UTC',
      '  indented by one',
      ' ',
      ' .',
      ' ret=0',
      '.',
      'fail beta 2.0-1',
      ' ret=1',
      '.',
      'untestable gamma 3',
      '.',
      'status',
    );
    expect(t.replies).toEqual([
      'hello',
      'ok',
      'ok',
      'ok',
      'ok',
      `ok successfully-tested=1 failed-testing=1 cannot-be-tested=0 waiting-to-be-tested=0 ${ZERO_STATES} total=2`,
    ]);
    expect(m.submissions).toEqual([
      { slave: 's', section: 'sid', kind: 'pass', name: 'alpha', version: '1.0', log: 'Start: 2024-01-01 00:00:00 UTC\n indented by one\n\n.\nret=0\n' },
      { slave: 's', section: 'sid', kind: 'fail', name: 'beta', version: '2.0-1', log: 'ret=1\n' },
      { slave: 's', section: 'sid', kind: 'untestable', name: 'gamma', version: '3', log: '' },
    ]);
    const info = t.logs.filter((l) => l.level === 30).map((l) => l.msg);
    expect(info).toEqual(['piuparts pass: alpha 1.0', 'piuparts fail: beta 2.0-1', 'piuparts untestable: gamma 3']);
    const debug = t.logs.filter((l) => l.level === 20).map((l) => l.command);
    expect(debug).toEqual(['section sid', 'pass alpha 1.0', 'fail beta 2.0-1', 'untestable gamma 3', 'status']);
  });

  it('accepts a duplicate submission with ok, the later log replacing the earlier', async () => {
    const m = memory();
    const t = await talk(m.backendFor('s'), 'section sid', 'pass alpha 1.0', ' first', '.', 'pass alpha 1.0', ' second', '.');
    expect(t.replies).toEqual(['hello', 'ok', 'ok', 'ok']);
    expect(m.submissions.map((s) => s.log)).toEqual(['second\n']);
  });

  it('unreserves with ok', async () => {
    const m = memory();
    const t = await talk(m.backendFor('s'), 'section sid', 'reserve', 'unreserve alpha 1.0', 'unreserve never 9', 'reserve');
    expect(t.replies).toEqual(['hello', 'ok', 'ok alpha 1.0', 'ok', 'ok', 'ok alpha 1.0']);
    expect(m.calls.filter((c) => c.method === 'unreserve').map((c) => c.args)).toEqual([
      ['sid', 'alpha', '1.0'],
      ['sid', 'never', '9'],
    ]);
  });

  it('accepts nothing before a successful section, and nothing after a failed one', async () => {
    const m = memory();
    let t = await talk(m.backendFor('s'), 'reserve');
    expect(t.replies).toEqual(['hello']);
    expect(t.end).toEqual({ how: 'closed', reason: `expected 'section' command, got "reserve"` });
    expect(t.outputEnded).toBe(true);
    expect(t.logs.some((l) => l.level === 40 && l.msg.includes("expected 'section' command"))).toBe(true);

    t = await talk(m.backendFor('s'), 'section nosuch', 'section a/b', 'section sid', 'section nosuch', 'idle');
    expect(t.replies).toEqual(['hello', 'error', 'error', 'ok', 'error']);
    expect(t.end.how).toBe('closed');
    expect(m.calls.filter((c) => c.method === 'idleSeconds')).toEqual([]);
  });

  it('switches sections on one connection', async () => {
    const m = memory({ a: { packages: pkgs('a1 1') }, b: { packages: pkgs('b1 1') } });
    const t = await talk(m.backendFor('s'), 'section a', 'reserve', 'section b', 'reserve', 'reserve', 'section a', 'status');
    expect(t.replies).toEqual([
      'hello',
      'ok',
      'ok a1 1',
      'ok',
      'ok b1 1',
      'error',
      'ok',
      `ok successfully-tested=0 failed-testing=0 cannot-be-tested=0 waiting-to-be-tested=1 ${ZERO_STATES} total=1`,
    ]);
  });

  describe('recycle', () => {
    it('answers error when nothing is marked', async () => {
      const t = await talk(memory().backendFor('s'), 'section sid', 'recycle', 'reserve');
      expect(t.replies).toEqual(['hello', 'ok', 'error', 'ok alpha 1.0']);
    });

    it('enters recycle mode when something is marked, and says so in status', async () => {
      const m = memory({ sid: { packages: pkgs('alpha 1'), recycle: true } });
      const t = await talk(m.backendFor('s'), 'section sid', 'recycle', 'recycle', 'idle', 'status');
      expect(t.replies).toEqual([
        'hello',
        'ok',
        'ok',
        'ok',
        'ok 0',
        `ok (recycle) successfully-tested=0 failed-testing=0 cannot-be-tested=0 waiting-to-be-tested=1 ${ZERO_STATES} total=1`,
      ]);
    });

    it('answers error after reserve or status, until the section is selected again', async () => {
      const m = memory({ sid: { packages: pkgs('alpha 1'), recycle: true } });
      let t = await talk(m.backendFor('s'), 'section sid', 'reserve', 'recycle', 'section sid', 'recycle');
      expect(t.replies).toEqual(['hello', 'ok', 'ok alpha 1', 'error', 'ok', 'ok']);
      t = await talk(m.backendFor('s'), 'section sid', 'status', 'recycle');
      expect(t.replies.slice(3)).toEqual(['error']);
      // idle and submissions do not make it too late
      t = await talk(m.backendFor('s'), 'section sid', 'idle', 'pass alpha 1', '.', 'recycle');
      expect(t.replies).toEqual(['hello', 'ok', 'ok 0', 'ok', 'ok']);
    });

    it('leaves recycle mode when the section is selected again', async () => {
      const m = memory({ sid: { packages: [], recycle: true } });
      const t = await talk(m.backendFor('s'), 'section sid', 'recycle', 'section sid', 'status');
      expect(t.replies[4]).toBe(`ok successfully-tested=0 failed-testing=0 cannot-be-tested=0 waiting-to-be-tested=0 ${ZERO_STATES} total=0`);
    });
  });

  describe("names containing '/'", () => {
    it.each([
      ['pass', 'a/b', '1'],
      ['fail', 'a', '1/2'],
      ['untestable', '../x', '1'],
    ])('%s %s %s: the log is read, then the connection closed without storing it', async (kind, name, version) => {
      const m = memory();
      const t = await talk(m.backendFor('s'), 'section sid', `${kind} ${name} ${version}`, ' log', '.', 'status');
      expect(t.replies).toEqual(['hello', 'ok']);
      expect(t.end).toMatchObject({ how: 'closed', reason: expect.stringContaining("'/'") });
      expect(m.submissions).toEqual([]);
    });

    it('unreserve closes the connection', async () => {
      const m = memory();
      const t = await talk(m.backendFor('s'), 'section sid', 'unreserve a/b 1', 'status');
      expect(t.replies).toEqual(['hello', 'ok']);
      expect(t.end.how).toBe('closed');
      expect(m.calls.filter((c) => c.method === 'unreserve')).toEqual([]);
    });

    it('a backend handing out such a name closes the connection instead of replying', async () => {
      const backend = { ...memory().backendFor('s'), reserve: async () => ({ name: 'a/b', version: '1' }) };
      const t = await talk(backend, 'section sid', 'reserve');
      expect(t.replies).toEqual(['hello', 'ok']);
      expect(t.end.how).toBe('closed');
    });
  });

  describe('protocol errors close the connection without a reply', () => {
    it.each([
      ['an unknown command', ['section sid', 'frobnicate'], 'unknown command "frobnicate"'],
      ["piuparts' debug commands", ['section sid', '_state alpha'], 'unknown command "_state"'],
      ['section without a name', ['section'], 'section needs exactly 1 arguments, got 0'],
      ['reserve with an argument', ['section sid', 'reserve now'], 'reserve needs exactly 0 arguments, got 1'],
      ['pass with one argument', ['section sid', 'pass alpha', '.'], 'pass needs exactly 2 arguments, got 1'],
      ['unreserve with three', ['section sid', 'unreserve a 1 2'], 'unreserve needs exactly 2 arguments, got 3'],
      ['an empty line', ['section sid', ''], 'empty command line'],
      ['a blank line', ['section sid', '  \t'], 'empty command line'],
      ['a long part line without its space', ['section sid', 'pass alpha 1.0', 'no space', '.'], 'long message line does not start with a space: "no space"'],
      ['an empty line in a long part', ['section sid', 'pass alpha 1.0', ' x', '', '.'], 'long message line does not start with a space: ""'],
      ['a terminator with a trailing space', ['section sid', 'pass alpha 1.0', '. ', 'status'], 'long message line does not start with a space: ". "'],
      ['end of input inside a long part', ['section sid', 'fail alpha 1.0', ' x'], 'connection ended inside a long message'],
    ])('%s', async (_what, lines, reason) => {
      const m = memory();
      const t = await talk(m.backendFor('s'), ...lines);
      expect(t.end).toEqual({ how: 'closed', reason });
      expect(t.replies.length).toBe(lines[0] === 'section sid' ? 2 : 1);
      expect(t.outputEnded).toBe(true);
      expect(m.submissions).toEqual([]);
      expect(t.logs.find((l) => l.level === 40)?.msg).toBe(`closing piuparts connection: ${reason}`);
    });

    it('a line longer than the limit', async () => {
      const t = await talkRaw(memory().backendFor('s'), `section sid\nreserve ${'x'.repeat(200)}\n`, { maxLineChars: 100 });
      expect(t.replies).toEqual(['hello', 'ok']);
      expect(t.end).toEqual({ how: 'closed', reason: 'line longer than 100 characters' });
    });

    it('a log larger than the limit', async () => {
      const m = memory();
      const t = await talkRaw(m.backendFor('s'), `section sid\npass alpha 1.0\n${' 0123456789\n'.repeat(20)}.\n`, { maxLogChars: 100 });
      expect(t.end).toEqual({ how: 'closed', reason: 'log longer than 100 characters' });
      expect(m.submissions).toEqual([]);
    });

    it('a failing backend: no ok, logged as an error', async () => {
      const m = memory();
      m.failSubmit = 'disk full';
      const t = await talk(m.backendFor('s'), 'section sid', 'pass alpha 1.0', ' log', '.', 'status');
      expect(t.replies).toEqual(['hello', 'ok']);
      expect(t.end).toEqual({ how: 'closed', reason: 'disk full' });
      expect(t.logs.find((l) => l.level === 50)?.msg).toBe('closing piuparts connection: disk full');
    });
  });

  describe('line handling', () => {
    it('splits commands on any whitespace and ignores a trailing CR, as Python str.split does', async () => {
      const m = memory();
      const t = await talkRaw(m.backendFor('s'), 'section\tsid\r\n  reserve  \r\n');
      expect(t.replies).toEqual(['hello', 'ok', 'ok alpha 1.0']);
    });

    it('keeps a CR inside a log line', async () => {
      const m = memory();
      await talkRaw(m.backendFor('s'), 'section sid\npass alpha 1.0\n a\rb\r\n.\n');
      expect(m.submissions[0]!.log).toBe('a\rb\r\n');
    });

    it('never acts on a last line cut off without its newline', async () => {
      const m = memory();
      const t = await talkRaw(m.backendFor('s'), 'section sid\nreserve');
      expect(t.replies).toEqual(['hello', 'ok']);
      expect(t.end).toEqual({ how: 'eof' });
      expect(m.calls.filter((c) => c.method === 'reserve')).toEqual([]);
    });

    it('reads a log of many lines arriving in small chunks', async () => {
      const m = memory();
      const input = new PassThrough();
      const output = new PassThrough();
      let text = '';
      output.on('data', (c: Buffer) => (text += c.toString()));
      const done = runPiupartsSession({ lines: new LineReader(input, 1000), output, backend: m.backendFor('s'), slave: 's', log: pino({ level: 'silent' }) });
      const body = Array.from({ length: 10_000 }, (_, i) => ` line ${i}\n`).join('');
      const raw = `section sid\npass alpha 1.0\n${body}.\n`;
      for (let i = 0; i < raw.length; i += 777) input.write(raw.slice(i, i + 777));
      input.end();
      expect(await done).toEqual({ how: 'eof' });
      expect(text).toBe('hello\nok\nok\n');
      expect(m.submissions[0]!.log.split('\n').length).toBe(10_001);
      expect(m.submissions[0]!.log.startsWith('line 0\nline 1\n')).toBe(true);
    });

    it('decodes UTF-8 split across chunks', async () => {
      const m = memory();
      const input = new PassThrough();
      const output = new PassThrough();
      output.resume();
      const done = runPiupartsSession({ lines: new LineReader(input, 1000), output, backend: m.backendFor('s'), slave: 's', log: pino({ level: 'silent' }) });
      const raw = Buffer.from('section sid\npass alpha 1.0\n Grüße ✓\n.\n');
      const cut = raw.indexOf(Buffer.from('✓')) + 1;
      input.write(raw.subarray(0, cut));
      input.end(raw.subarray(cut));
      await done;
      expect(m.submissions[0]!.log).toBe('Grüße ✓\n');
    });
  });
});
