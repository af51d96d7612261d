/**
 * The master's per-section rules: piuparts.conf keys and defaults, the
 * tested set of a section with `packages`, the order of dependency
 * sections, and the maintenance decisions (piuparts' cron jobs).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planMaintenance } from '../../src/ecosystems/debian/maintenance.ts';
import { collectPackages } from '../../src/ecosystems/debian/packages-index.ts';
import { parseControl } from '../../src/ecosystems/debian/control.ts';
import type { ResultRow } from '../../src/ecosystems/debian/results-db.ts';
import { debianSchema, resolveSection } from '../../src/ecosystems/debian/section-config.ts';
import { readSectionIndex, testedNames } from '../../src/ecosystems/debian/section-index.ts';
import { silentLogger } from '../../src/log.ts';
import { dependencyOrder } from '../../src/ecosystems/debian/section-service.ts';

const DAY = 86_400_000;

describe('section config', () => {
  it('fills piuparts defaults and reads piuparts value forms', () => {
    const cfg = debianSchema.parse({
      enabled: true,
      global: { mirror: 'http://mirror.example/debian/', 'auto-reschedule': 'no' },
      sections: { sid: { distro: 'sid', 'piuparts-flags': '--warn-on-others  --skip-logrotatefiles-test', 'expire-old-days': '+30' } },
    });
    const s = resolveSection('sid', cfg.sections.sid!, cfg.global, 'arm64');
    expect(s).toMatchObject({
      mirror: 'http://mirror.example/debian',
      distro: 'sid',
      area: 'main',
      components: ['main'],
      arch: 'arm64',
      piupartsFlags: ['--warn-on-others', '--skip-logrotatefiles-test'],
      piupartsCommand: ['piuparts'],
      maxTgzAge: 2_592_000,
      minTgzRetryDelay: 21_600,
      idleSleep: 300,
      autoReschedule: false,
      rescheduleOldDays: 180,
      rescheduleOldCount: 200,
      rescheduleFailDays: 30,
      rescheduleFailCount: 25,
      rescheduleUntestableDays: 7,
      expireOldDays: 210,
      expireFailDays: 0,
      indexDistro: 'sid',
    });
  });

  it('takes the index of the last upgrade-test distro, and main for a contrib area', () => {
    const s = resolveSection('b2t', debianSchema.shape.global.parse({ 'upgrade-test-distros': 'bookworm trixie', area: 'contrib' }), {}, 'amd64');
    expect(s).toMatchObject({ distro: 'bookworm', indexDistro: 'trixie', components: ['main', 'contrib'] });
  });

  it('rejects unknown keys, bad section names and a section without a distro', () => {
    expect(() => debianSchema.parse({ sections: { sid: { distro: 'sid', 'no-such-key': 1 } } })).toThrow(/no-such-key/);
    expect(() => debianSchema.parse({ sections: { 'Bad/Name': { distro: 'sid' } } })).toThrow(/section names/);
    expect(() => resolveSection('x', {}, {}, 'amd64')).toThrow(/needs distro/);
  });

  it('orders dependency sections first and refuses cycles and unknown names', () => {
    const mk = (name: string, deps: string[]) => resolveSection(name, { distro: name, 'depends-sections': deps }, {}, 'amd64');
    expect(dependencyOrder([mk('exp', ['sid']), mk('sid', [])]).map((s) => s.name)).toEqual(['sid', 'exp']);
    expect(() => dependencyOrder([mk('a', ['b']), mk('b', ['a'])])).toThrow(/cycle/);
    expect(() => dependencyOrder([mk('a', ['zz'])])).toThrow(/not a configured section/);
  });
});

describe('the tested set of a section with packages', () => {
  it('is the named packages and, transitively, the first existing alternative or provider of each dependency', async () => {
    const index = await collectPackages(
      parseControl(
        [
          'Package: app\nVersion: 1\nDepends: lib (>= 1), missing | alt, virt',
          'Package: lib\nVersion: 1\nPre-Depends: base',
          'Package: base\nVersion: 1',
          'Package: alt\nVersion: 1',
          'Package: prov\nVersion: 1\nProvides: virt',
          'Package: unrelated\nVersion: 1\nDepends: base',
        ].join('\n\n'),
      ),
    );
    expect(testedNames(index, ['app'])).toEqual(['app', 'lib', 'base', 'alt', 'prov']);
    expect(testedNames(index, ['not-in-index'])).toEqual([]);
    expect(testedNames(index, [])).toHaveLength(6);
  });
});

describe('maintenance (piuparts cron jobs)', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  let id = 0;
  const row = (status: ResultRow['status'], ageDays: number, mark: ResultRow['mark'] = null): ResultRow => ({
    build_id: ++id,
    name: `p${id}`,
    version: '1',
    version_id: id,
    status,
    started_at: new Date(now - ageDays * DAY),
    finished_at: status === 'running' ? null : new Date(now - ageDays * DAY),
    duration_ms: 1000,
    worker: 'w',
    mark,
    marked_at: mark ? new Date(now) : null,
  });
  const section = (keys: Record<string, unknown> = {}) => resolveSection('sid', { distro: 'sid', ...debianSchema.shape.global.parse(keys) }, {}, 'amd64');

  it('marks the oldest passed and failed results for retest, at most the counts', () => {
    const rows = [row('passed', 400), row('passed', 300), row('passed', 200), row('passed', 10), row('failed', 40), row('failed', 35), row('failed', 5)];
    const plan = planMaintenance(section({ 'reschedule-old-count': 2, 'reschedule-fail-count': 1 }), rows, now);
    expect(plan.retest.map((p) => p.ids)).toEqual([[rows[0]!.build_id, rows[1]!.build_id], [rows[4]!.build_id]]);
    expect(plan.expire).toEqual([]);
  });

  it('does nothing but untestable expiry with auto-reschedule off', () => {
    const rows = [row('passed', 400), row('untestable', 8), row('untestable', 6)];
    const plan = planMaintenance(section({ 'auto-reschedule': 'no' }), rows, now);
    expect(plan.retest).toEqual([]);
    expect(plan.expire.map((p) => p.ids)).toEqual([[rows[1]!.build_id]]);
  });

  it('expires retest marks on results older than expire-old-days, and leaves reservations alone', () => {
    const rows = [row('passed', 400, 'retest'), row('passed', 250, 'retest'), row('running', 500)];
    const plan = planMaintenance(section({ 'expire-old-days': 300 }), rows, now);
    expect(plan.expire[0]!.ids).toEqual([rows[0]!.build_id]);
    expect(plan.retest).toEqual([]);
  });
});

describe('a section index', () => {
  it('holds the area\'s packages only; other components serve apt, and dependency sections their states', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kiln-section-index-'));
    try {
      for (const [component, text] of [['main', 'Package: libc6\nVersion: 2.36\n'], ['contrib', 'Package: fdkaac\nVersion: 1.0\nDepends: libc6, libfdk-aac2\n']]) {
        await mkdir(join(root, 'dists', 'bookworm', component!, 'binary-amd64'), { recursive: true });
        await writeFile(join(root, 'dists', 'bookworm', component!, 'binary-amd64', 'Packages'), text!);
      }
      const section = resolveSection('contrib', debianSchema.shape.global.parse({ distro: 'bookworm', area: 'contrib', arch: 'amd64', mirror: `file://${root}` }), {}, 'amd64');
      expect(section.components).toEqual(['main', 'contrib']);
      const index = await readSectionIndex(section, join(root, 'cache'), silentLogger());
      expect([...index.packages.keys()]).toEqual(['fdkaac']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
