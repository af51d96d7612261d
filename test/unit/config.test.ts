import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv, loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { masterFlagsToConfig } from '../../src/cli/common.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-config-'));
function file(text: string): string {
  const p = join(dir, `${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(p, text);
  return p;
}
const env = {};

describe('config', () => {
  it('has working defaults with no file', () => {
    const { config } = loadConfig(undefined, {}, env);
    expect(config.master.listen).toBe('127.0.0.1:8470');
    expect(config.npm.packages).toContain('better-sqlite3');
    expect(config.npm.versions).toBe('latest');
  });

  it('merges file, then KILN_* environment, then flags', () => {
    const f = file('[master]\nlease_s = 60\nclaim_wait_s = 10\nlisten = "0.0.0.0:9000"\n[npm]\npackages = ["a"]\n');
    const { config } = loadConfig(f, { master: { listen: '127.0.0.1:1234' } }, { KILN_MASTER_LEASE_S: '90', KILN_NPM_PACKAGES: 'x, y' });
    expect(config.master.claim_wait_s).toBe(10); // file
    expect(config.master.lease_s).toBe(90); // env over file
    expect(config.master.listen).toBe('127.0.0.1:1234'); // flag over file
    expect(config.npm.packages).toEqual(['x', 'y']);
  });

  it('reads KILN_<SECTION>_<KEY> and converts types', () => {
    expect(configFromEnv({ KILN_MASTER_DEV_MODE: 'true', KILN_MASTER_LEASE_S: '30', KILN_WORKER_LABELS: 'a,b', KILN_OTHER: 'x', PATH: '/bin' })).toEqual({
      master: { dev_mode: true, lease_s: 30 },
      worker: { labels: ['a', 'b'] },
    });
  });

  const bad: Array<[string, RegExp]> = [
    ['[master]\nlisten = "nope"', /master\.listen: expected HOST:PORT/],
    ['[master]\nlease_s = "long"', /master\.lease_s: expected number/],
    ['[master]\nlease_s = 1', /master\.lease_s: .*>=5/],
    ['[master]\ndsn = "mysql://x"', /master\.dsn: expected a postgres:\/\/ URL/],
    ['[master]\nbogus = 1', /unknown key master\.bogus/],
    ['[nope]\nx = 1', /unknown key nope/],
    ['[npm]\nregistry = "not a url"', /npm\.registry: expected an http\(s\) URL/],
    ['[master\n', /\.toml: /],
    ['[pypi]\nslave_queue = "5555"', /pypi\.slave_queue: expected a ZeroMQ endpoint such as tcp:\/\/\*:5555/],
  ];
  for (const [text, re] of bad) {
    it(`rejects ${JSON.stringify(text)} with one readable line`, () => {
      const f = file(text);
      let err: unknown;
      try {
        loadConfig(f, {}, env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toMatch(re);
      expect(msg).not.toContain('\n');
      expect(msg.startsWith(f)).toBe(true);
    });
  }

  it('takes piw-master\'s --slave-queue and --file-queue, which enable pypi', () => {
    const { config } = loadConfig(file(''), masterFlagsToConfig({ slaveQueue: 'tcp://*:5555' }), env);
    expect(config.pypi).toMatchObject({ enabled: true, slave_queue: 'tcp://*:5555', file_queue: 'tcp://*:5556' });
    expect(loadConfig(file(''), {}, { KILN_PYPI_SLAVE_QUEUE: 'tcp://10.0.0.1:6000' }).config.pypi.slave_queue).toBe('tcp://10.0.0.1:6000');
  });

  it('reads environment values by the key\'s type and ignores variables that are not config keys', () => {
    const { config } = loadConfig(undefined, {}, { KILN_NPM_VERSIONS: '5', KILN_WORKER_NAME: '42', KILN_MASTER_URL: 'http://x', KILN_ADMIN_TOKEN: 't', KILN_MASTER_DEV_MODE: '1' });
    expect(config.npm.versions).toBe('5');
    expect(config.worker.name).toBe('42');
    expect(config.master.dev_mode).toBe(true);
    expect(() => loadConfig(undefined, {}, { KILN_NPM_VERSIONS: 'lastest' })).toThrow('config: npm.versions: expected "latest", "all", or a semver range');
    expect(() => loadConfig(undefined, {}, { KILN_WORKER_MASTER: 'ftp://x' })).toThrow('config: worker.master: expected an http(s) URL');
    expect(() => loadConfig(undefined, {}, { KILN_MASTER_LISTEN: '1.2.3.4:99999' })).toThrow('config: master.listen: expected a port from 0 to 65535');
  });

  it('says when an explicit config file is missing', () => {
    expect(() => loadConfig('/nonexistent/kiln.toml', {}, env)).toThrow('config file /nonexistent/kiln.toml does not exist');
  });
});
