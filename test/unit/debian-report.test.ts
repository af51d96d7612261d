import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KnownProblem, ReportPackage, SectionReport } from '../../src/ecosystems/debian/report/model.ts';
import { renderDebianIndex, renderSectionReport } from '../../src/ecosystems/debian/report/render.ts';
import { PACKAGE_STATES } from '../../src/ecosystems/debian/state-names.ts';
import type { RepositoryFiles } from '../../src/ecosystems/types.ts';

const HOSTILE = 'Evil "Mallory" <script>alert(1)</script> <evil@example.org>';

const problems: KnownProblem[] = [
  { id: 'owned_files_after_purge_error', pattern: 'owned by: ', excludePattern: 'usr/local/', where: ['fail'], issue: false, header: 'Owned files after purge', helpText: '<p>Remove <b>them</b>.</p>', origin: 'kiln', infrastructure: false },
  { id: 'broken_symlinks_issue', pattern: 'WARN: Broken symlinks:', excludePattern: null, where: ['pass'], issue: true, header: 'Broken symlinks', helpText: '<p>Fix them.</p>', origin: 'kiln', infrastructure: false },
];

function pkg(o: Partial<ReportPackage> & Pick<ReportPackage, 'name' | 'state'>): ReportPackage {
  return { version: '1.0-1', source: o.name, sourceVersion: '1.0-1', maintainer: 'Jane Doe <jane@example.org>', uploaders: [], architecture: 'amd64', blocking: 0, depends: '', ...o };
}

function result(kind: 'pass' | 'fail' | 'untestable', name: string, found: string[] = [], retest = false): ReportPackage['result'] {
  return { kind, at: '2026-01-02T10:00:00Z', durationS: 71.5, worker: 'w1', logUrl: `logs/debian/sid/${kind}/${name}_1.0-1.log.gz`, problems: found, retest };
}

/** Eight packages: 3 failed, 1 passed, 2 waiting, 1 blocked, 1 unknown. */
function report(over: Partial<SectionReport> = {}): SectionReport {
  return {
    section: 'sid',
    description: '',
    distro: 'sid',
    area: 'main',
    arch: 'amd64',
    mirror: 'http://deb.debian.org/debian',
    upgradeTestDistros: [],
    indexDate: '2026-01-02T00:00:00Z',
    generated: '2026-01-03T12:00:00Z',
    baseUrl: 'https://kiln.example.org/',
    problems,
    history: [
      { day: '2026-01-01', counts: { 'successfully-tested': 1, 'waiting-to-be-tested': 7 } },
      { day: '2026-01-02', counts: { 'successfully-tested': 1, 'failed-testing': 2, 'waiting-to-be-tested': 5 } },
    ],
    packages: [
      pkg({ name: 'libfoo1', source: 'foo', state: 'failed-testing', blocking: 2, result: result('fail', 'libfoo1', ['owned_files_after_purge_error']) }),
      pkg({ name: 'foo-bin', source: 'foo', sourceVersion: '0.9-1', state: 'dependency-failed-testing', blocker: { dependency: 'libfoo1', state: 'failed-testing' }, maintainer: HOSTILE, uploaders: ['Jane Doe <jane@example.org>'] }),
      pkg({ name: 'zlib-extra', state: 'failed-testing', blocking: 5, result: result('fail', 'zlib-extra') }),
      pkg({ name: 'aardvark', state: 'failed-testing', blocking: 0, result: result('fail', 'aardvark', ['owned_files_after_purge_error'], true) }),
      pkg({ name: 'hello', state: 'successfully-tested', architecture: 'all', result: result('pass', 'hello', ['broken_symlinks_issue']) }),
      pkg({ name: 'waits', state: 'waiting-for-dependency-to-be-tested', blocker: { dependency: 'mail-transport-agent', state: 'waiting-to-be-tested', via: 'exim4' } }),
      pkg({ name: 'exim4', state: 'waiting-to-be-tested', blocking: 1, reserved: { since: '2026-01-03T11:00:00Z', worker: 'w2' } }),
      pkg({ name: 'g++-x', state: 'unknown', maintainer: 'no address at all' }),
    ],
    ...over,
  };
}

function text(files: RepositoryFiles, path: string): string {
  const f = files.get(path);
  if (!f || !('content' in f)) throw new Error(`no ${path} among ${[...files.keys()].join(', ')}`);
  return String(f.content);
}

/** A rough HTML5 well-formedness check: doctype, and every non-void element closed in order. */
function checkHtml(html: string, path: string): void {
  expect(html.startsWith('<!doctype html>'), path).toBe(true);
  const voids = new Set(['br', 'meta', 'link', 'img', 'input', 'hr']);
  const stack: string[] = [];
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(\/?)>/g)) {
    const [, close, tag, selfClose] = m;
    const t = tag!.toLowerCase();
    if (voids.has(t) || selfClose) continue;
    if (close) expect(stack.pop(), `${path}: </${t}>`).toBe(t);
    else stack.push(t);
  }
  expect(stack, path).toEqual([]);
}

describe('section report', () => {
  const files = renderSectionReport(report());
  const html = [...files.keys()].filter((p) => p.endsWith('.html'));

  it('writes every page under debian/<section>/', () => {
    expect([...files.keys()].every((p) => p.startsWith('debian/sid/'))).toBe(true);
    for (const p of ['index.html', 'counts.txt', 'summary.json', 'states.json', 'states.svg', 'pass.html', 'fail.html', 'untestable.html']) expect(files.has(`debian/sid/${p}`), p).toBe(true);
    for (const s of PACKAGE_STATES) expect(files.has(`debian/sid/state-${s}.html`), s).toBe(true);
    for (const p of report().packages) expect(files.has(`debian/sid/pkg/${p.name}.html`), p.name).toBe(true);
    for (const s of ['foo', 'zlib-extra', 'hello', 'index']) expect(files.has(`debian/sid/source/${s}.html`), s).toBe(true);
    for (const m of ['jane@example.org', 'evil@example.org', 'index']) expect(files.has(`debian/sid/maintainer/${m}.html`), m).toBe(true);
    for (const p of ['owned_files_after_purge_error', 'broken_symlinks_issue', 'index', 'unclassified']) expect(files.has(`debian/sid/problems/${p}.html`), p).toBe(true);
    expect(files.has('debian/sid/maintainer/no address at all.html')).toBe(false);
  });

  it('writes well-formed pages whose relative links all resolve', () => {
    for (const p of html) {
      const page = text(files, p);
      checkHtml(page, p);
      expect(page).toContain('href="../../style.css"'.replace('../../', '../'.repeat(p.split('/').length - 1)));
      for (const [, href] of page.matchAll(/href="([^"]*)"/g)) {
        if (/^https?:/.test(href!)) continue;
        const [path, fragment] = href!.split('#') as [string, string | undefined];
        const target = path ? posix.normalize(posix.join(posix.dirname(p), path)) : p;
        if (/^(logs\/|style\.css$|index\.html$|packages\.html$|debian\/index\.html$)/.test(target)) continue; // the site's own files
        expect(files.has(target), `${p} links ${href} → ${target}`).toBe(true);
        if (fragment) expect(text(files, target), `${p} links ${href}`).toContain(`id="${fragment}"`);
      }
    }
  });

  it('shows counts per state with shares, the total and the history chart', () => {
    const index = text(files, 'debian/sid/index.html');
    expect(index).toContain('<a href="state-failed-testing.html">failed-testing</a>');
    expect(index).toMatch(/state-failed-testing\.html">failed-testing<\/a>.*?<td class="num">3<\/td><td class="num">37\.5%<\/td>/s);
    expect(index).toMatch(/state-successfully-tested\.html">successfully-tested<\/a>.*?<td class="num">1<\/td><td class="num">12\.5%<\/td>/s);
    expect(index).toContain('<th>Total</th><th class="num">8</th>');
    expect(index).toContain('Debian sid / main: package installation, removal, and purge test.');
    expect(index).toContain('<a href="problems/owned_files_after_purge_error.html">Owned files after purge</a>: 2');
    expect(index).toContain('<a href="problems/unclassified.html">unclassified failures</a>: 1');
    expect(index).toMatch(/<svg [^>]*role="img"/);
    expect(index.match(/<polygon /g)?.length).toBe(6); // states ever non-empty: passed, failed, waiting×2, blocked, unknown
    expect(text(files, 'debian/sid/states.svg')).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });

  it('sorts state pages by how many packages each blocks, most first', () => {
    const page = text(files, 'debian/sid/state-failed-testing.html');
    const order = ['zlib-extra', 'libfoo1', 'aardvark'].map((n) => page.indexOf(`<tr id="${n}">`));
    expect(order.every((i) => i > 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(page).toContain('<a href="../../logs/debian/sid/fail/libfoo1_1.0-1.log.gz">fail log</a>');
    expect(page).toContain('<span class="tag">retest</span>');
  });

  it('says what blocks a package and links the blocker', () => {
    const state = text(files, 'debian/sid/state-dependency-failed-testing.html');
    expect(state).toContain('blocked by <a href="pkg/libfoo1.html">libfoo1</a> (failed-testing)');
    const waiting = text(files, 'debian/sid/state-waiting-for-dependency-to-be-tested.html');
    expect(waiting).toContain('waiting for <a href="pkg/exim4.html">mail-transport-agent</a> (waiting-to-be-tested, provided by exim4)');
    const page = text(files, 'debian/sid/pkg/foo-bin.html');
    expect(page).toContain('blocked by <a href="../pkg/libfoo1.html">libfoo1</a> (failed-testing). The page of <a href="../pkg/libfoo1.html">libfoo1</a> says why.');
    expect(page).toContain('<a href="../state-dependency-failed-testing.html#foo-bin">dependency-failed-testing</a>');
    expect(text(files, 'debian/sid/state-unknown.html')).toContain('<tr id="g__-x">');
  });

  it('shows a package’s result, log, problems, retest mark and reservation', () => {
    const lib = text(files, 'debian/sid/pkg/libfoo1.html');
    expect(lib).toContain('<span class="failed">fail</span> at 2026-01-02T10:00:00Z in 1 min 12 s by w1: <a href="../../../logs/debian/sid/fail/libfoo1_1.0-1.log.gz">log</a>');
    expect(lib).toContain('<a href="../problems/owned_files_after_purge_error.html">Owned files after purge</a>');
    expect(lib).toContain('<a href="../source/foo.html">foo</a> 1.0-1');
    expect(text(files, 'debian/sid/pkg/aardvark.html')).toContain('<span class="tag">marked for retest</span>');
    expect(text(files, 'debian/sid/pkg/zlib-extra.html')).toContain('none recognised (unclassified)');
    expect(text(files, 'debian/sid/pkg/exim4.html')).toContain('being tested since 2026-01-03T11:00:00Z by w2');
  });

  it('groups binaries by source and by maintainer', () => {
    const src = text(files, 'debian/sid/source/foo.html');
    expect(src).toContain('<span class="tag failed">fail</span>');
    expect(src).toContain('<a href="../pkg/foo-bin.html">foo-bin</a></td><td>1.0-1 [cruft]</td>'); // built from an older source version
    expect(src).toContain('<a href="../pkg/libfoo1.html">libfoo1</a></td><td>1.0-1</td>');
    expect(src.indexOf('pkg/foo-bin.html')).toBeLessThan(src.indexOf('pkg/libfoo1.html'));
    const jane = text(files, 'debian/sid/maintainer/jane@example.org.html');
    expect(jane).toContain('<a href="../source/foo.html">foo</a>'); // as uploader
    expect(jane).toContain('<a href="../source/hello.html">hello</a>');
    expect(jane.indexOf('id="foo"')).toBeLessThan(jane.indexOf('id="hello"')); // failed sources first
    expect(text(files, 'debian/sid/maintainer/index.html')).toContain('<a href="../maintainer/evil@example.org.html">evil@example.org</a>');
  });

  it('lists the packages of each known problem, and the unclassified failures', () => {
    const owned = text(files, 'debian/sid/problems/owned_files_after_purge_error.html');
    expect(owned).toContain('<p>Remove <b>them</b>.</p>'); // help text is the problem file's HTML
    expect(owned).toContain('grep -E &#39;owned by: &#39; | grep -v -E &#39;usr/local/&#39;');
    expect(owned.indexOf('pkg/libfoo1.html')).toBeLessThan(owned.indexOf('pkg/aardvark.html'));
    expect(owned).toContain('2 packages, those blocking the most others first.');
    const unclassified = text(files, 'debian/sid/problems/unclassified.html');
    expect(unclassified).toContain('pkg/zlib-extra.html');
    expect(unclassified).not.toContain('pkg/libfoo1.html');
    expect(text(files, 'debian/sid/problems/index.html')).toContain('Issues (found in logs, not fatal)');
  });

  it('escapes what comes from the archive', () => {
    for (const p of html) expect(text(files, p), p).not.toContain('<script>');
    const page = text(files, 'debian/sid/pkg/foo-bin.html');
    expect(page).toContain('<a href="../maintainer/evil@example.org.html">Evil &quot;Mallory&quot; &lt;script&gt;alert(1)&lt;/script&gt; &lt;evil@example.org&gt;</a>');
    expect(text(files, 'debian/sid/maintainer/evil@example.org.html')).toContain('<h1>Evil &quot;Mallory&quot; &lt;script&gt;alert(1)&lt;/script&gt; &lt;evil@example.org&gt; in sid</h1>');
  });

  it('writes counts.txt in piuparts’ format, with today’s row added', () => {
    const lines = text(files, 'debian/sid/counts.txt').split('\n');
    expect(lines[0]).toBe(`date, ${PACKAGE_STATES.join(', ')}`);
    expect(lines[0]).toBe(
      'date, successfully-tested, failed-testing, cannot-be-tested, essential-required, waiting-to-be-tested, waiting-for-dependency-to-be-tested, dependency-failed-testing, dependency-cannot-be-tested, dependency-does-not-exist, circular-dependency, unknown, unknown-preferred-alternative, no-dependency-from-alternatives-exists, outdated',
    );
    expect(lines.slice(1)).toEqual(['20260101, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0', '20260102, 1, 2, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0', '20260103, 1, 3, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0', '']);
    const again = renderSectionReport(report({ history: [...report().history, { day: '2026-01-03', counts: { 'successfully-tested': 8 } }] }));
    expect(text(again, 'debian/sid/counts.txt').split('\n').slice(-2)).toEqual(['20260103, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0', '']);
  });

  it('writes summary.json as piuparts does: per source, worst flag, blocked count of failed packages', () => {
    const raw = text(files, 'debian/sid/summary.json');
    expect(raw.startsWith('{\n "_comment": ')).toBe(true);
    const s = JSON.parse(raw);
    expect(Object.keys(s)).toEqual(['_comment', '_date', '_id', '_type', '_version', 'packages']);
    expect(s).toMatchObject({ _id: 'Piuparts Package Test Results Summary', _version: '1.0', _type: 'source', _date: 'Sat Jan 3 12:00:00 UTC 2026' });
    expect(s.packages.foo).toEqual({ sid: ['F', 2, 'https://kiln.example.org/debian/sid/source/foo.html'] });
    expect(s.packages['zlib-extra'].sid).toEqual(['F', 5, 'https://kiln.example.org/debian/sid/source/zlib-extra.html']);
    expect(s.packages.hello.sid[0]).toBe('P');
    expect(s.packages.exim4.sid).toEqual(['W', 0, 'https://kiln.example.org/debian/sid/source/exim4.html']); // blocking counts only for F
    expect(s.packages['g++-x'].sid[0]).toBe('-');
    const renamed = JSON.parse(text(renderSectionReport(report({ jsonSections: ['unstable'] })), 'debian/sid/summary.json'));
    expect(Object.keys(renamed.packages.foo)).toEqual(['unstable']);
    expect(renderSectionReport(report({ jsonSections: ['none'] })).has('debian/sid/summary.json')).toBe(false);
  });

  it('writes states.json with each package’s state, blocker and blocking count', () => {
    const s = JSON.parse(text(files, 'debian/sid/states.json'));
    expect(s.section).toBe('sid');
    expect(s.packages.map((p: { name: string }) => p.name)).toEqual(['aardvark', 'exim4', 'foo-bin', 'g++-x', 'hello', 'libfoo1', 'waits', 'zlib-extra']);
    expect(s.packages.find((p: { name: string }) => p.name === 'waits')).toEqual({
      name: 'waits',
      version: '1.0-1',
      state: 'waiting-for-dependency-to-be-tested',
      blocker: { dependency: 'mail-transport-agent', state: 'waiting-to-be-tested', via: 'exim4' },
      blocking: 0,
    });
  });
});

describe('Debian index', () => {
  const stable = report({
    section: 'bookworm',
    distro: 'bookworm',
    precedence: 0,
    description: '+Stable.',
    upgradeTestDistros: ['bullseye', 'bookworm'],
    packages: [pkg({ name: 'hello', state: 'successfully-tested' }), pkg({ name: 'libfoo1', source: 'foo', state: 'successfully-tested' })],
  });
  const files = renderDebianIndex([report(), stable]);

  it('lists every section with its counts', () => {
    const index = text(files, 'debian/index.html');
    checkHtml(index, 'debian/index.html');
    expect(index).toContain('<a href="sid/index.html">sid</a>');
    expect(index).toContain('<a href="bookworm/index.html">bookworm</a>');
    expect(index).toContain('Debian main: package installation in bullseye, dist-upgrade to bookworm, removal, and purge test. Stable.');
    expect(index).toContain('<a href="sid/state-failed-testing.html">3</a><br><span class="small">37.5%</span>');
    expect(index).toContain('href="../style.css"');
    expect(index.indexOf('>sid<')).toBeLessThan(index.indexOf('>bookworm<'));
  });

  it('merges the sections’ summary.json by precedence, with an overall entry', () => {
    const s = JSON.parse(text(files, 'debian/summary.json'));
    expect(s.packages.foo).toEqual({
      bookworm: ['P', 0, 'https://kiln.example.org/debian/bookworm/source/foo.html'],
      overall: ['F', 2, 'https://kiln.example.org/debian/sid/source/foo.html'],
      sid: ['F', 2, 'https://kiln.example.org/debian/sid/source/foo.html'],
    });
    // Equal flags: the section of lower precedence keeps its URL.
    expect(s.packages.hello.overall).toEqual(['P', 0, 'https://kiln.example.org/debian/bookworm/source/hello.html']);
    expect(JSON.parse(text(renderDebianIndex([]), 'debian/summary.json')).packages).toEqual({});
  });
});
