import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/worker/worker.ts';

describe('logged command lines', () => {
  it('leave plain arguments alone and quote the rest so a shell reads them back', () => {
    expect(shellQuote('--nodedir=/usr')).toBe('--nodedir=/usr');
    const args = ['-c', `echo "it's" >&2; exit 1`, 'a b', '', '$HOME'];
    const line = args.map(shellQuote).join(' ');
    // printf each argument on its own line, through a real shell, to prove the round trip.
    const back = execFileSync('sh', ['-c', `printf '%s\\n' ${line}`], { encoding: 'utf8' });
    expect(back).toBe(`${args.join('\n')}\n`);
  });
});
