import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  classifyLog,
  infrastructureProblemIds,
  KnownProblemClassifier,
  KnownProblemError,
  loadKnownProblems,
  parseKnownProblem,
  posixEreToJs,
  SHIPPED_KNOWN_PROBLEMS_DIR,
} from '../../src/ecosystems/debian/known-problems.ts';
import type { KnownProblem } from '../../src/ecosystems/debian/report/model.ts';

const CONF = `#
# a comment
#
PATTERN='[[:space:]]owned by: '
EXCLUDE_PATTERN="usr/local/|\\$HOME"   # trailing comment
WHERE='fail bugged affected'
ISSUE=0
KILN_INFRASTRUCTURE=no
HEADER='Files left after purge'
HELPTEXT='
<p>Remove them in <code>postrm</code>.</p>
'
EXPLAIN="more"
`;

/** A piuparts log: the slave's header, piuparts' output, the slave's footer. */
function log(body: string): string {
  return [
    'Start: 2026-01-03 10:00:00 UTC',
    '',
    'Package: foo',
    'Version: 1.0-1',
    'Maintainer: Jane Doe <jane@example.org>',
    '',
    'Executing: sudo piuparts --mirror http://deb.debian.org/debian main --arch amd64 -b /srv/sid.tar.gz -d sid --no-upgrade-test --apt foo=1.0-1',
    '0m0.0s INFO: piuparts version 1.1.7 starting up.',
    "0m2.1s DEBUG: Starting command: ['chroot', '/tmp/tmpa1b2', 'apt-get', '-y', 'install', 'foo=1.0-1']",
    body.replace(/\n$/, ''),
    '0m59.0s ERROR: piuparts run ends.',
    '',
    'ret=1',
    'End: 2026-01-03 10:01:00 UTC',
    '',
  ].join('\n');
}

/**
 * One entry per problem Kiln ships: log lines piuparts (or apt, dpkg, the
 * slave) really prints that the problem must find, and near misses it must
 * not. The test fails when a shipped problem has no entry.
 */
const FIXTURES: Record<string, { match: string[]; miss: string[] }> = {
  owned_files_after_purge_error: {
    match: ['0m35.2s ERROR: FAIL: Package purging left files on system:\n  /etc/foo/\t owned by: foo\n  /etc/foo/foo.conf\t owned by: foo\n'],
    miss: ['0m35.2s ERROR: FAIL: Package purging left files on system:\n  /usr/local/lib/foo/\t owned by: foo\n'],
  },
  owned_files_after_purge_issue: {
    match: ['0m35.2s INFO: Warning: Package purging left files on system:\n  /var/lib/foo/\t owned by: foo\n'],
    miss: ["0m20.1s DEBUG: Command ok: ['chroot', '/tmp/x', 'dpkg', '--purge', 'foo']\n"],
  },
  unowned_files_after_purge_error: {
    match: ['0m35.2s ERROR: FAIL: Package purging left files on system:\n  /var/log/foo.log\t not owned\n'],
    miss: ['  /etc/alternatives/foo\t not owned\n', '  /usr/local/share/foo/\t not owned\n', '  foo is not owned by anyone, really\n'],
  },
  unowned_files_after_purge_issue: {
    match: ['0m35.2s INFO: Warning: Package purging left files on system:\n  /var/cache/foo/\t not owned\n'],
    miss: ['  /var/lib/dpkg/alternatives/foo\t not owned\n'],
  },
  files_in_usr_local_error: {
    match: ['  /usr/local/share/foo/\t not owned\n', '  /usr/local/bin/foo\t owned by: foo\n'],
    miss: ['  /usr/share/local/foo\t not owned\n'],
  },
  alternatives_after_purge_error: {
    match: ['  /etc/alternatives/editor\t not owned\n', '  /var/lib/dpkg/alternatives/editor\t not owned\n'],
    miss: ['  /etc/alternatives/editor\t owned by: foo\n'],
  },
  modified_files_after_purge_error: {
    match: ['0m40.0s ERROR: FAIL: After purging files have been modified:\n  /etc/passwd\t owned by: base-files\n'],
    miss: ['0m40.0s DEBUG: The following files have been modified:\n'],
  },
  disappeared_files_after_purge_error: {
    match: ['0m40.0s ERROR: FAIL: After purging files have disappeared:\n  /etc/foo.d/\t owned by: bar\n'],
    miss: ['0m40.0s INFO: After purging files have disappeared:\n'],
  },
  diversions_after_purge_error: {
    match: ['0m41.0s ERROR: FAIL: Installed diversions (dpkg-divert) not removed by purge:\n  diversion of /usr/bin/foo to /usr/bin/foo.real by foo\n', '0m41.0s ERROR: FAIL: Existing diversions (dpkg-divert) removed/modified:\n'],
    miss: ["  Adding 'diversion of /usr/bin/foo to /usr/bin/foo.real by foo'\n"],
  },
  processes_running_error: {
    match: ['0m50.0s ERROR: FAIL: Processes are running inside chroot:\n  COMMAND  PID USER\n  food    1234 root\n'],
    miss: ['0m50.0s ERROR: WARN: Processes are running inside chroot:\n'],
  },
  processes_running_issue: {
    match: ['0m50.0s ERROR: WARN: Processes are running inside chroot:\n  mysqld 77 mysql\n'],
    miss: ["0m50.0s DEBUG: Starting command: ['lsof', '-w', '+D', '/tmp/x']\n"],
  },
  cron_error_after_removal_error: {
    match: ['0m55.0s ERROR: FAIL: Cron file /etc/cron.daily/foo has output with package removed\n', "0m55.0s ERROR: Command failed (status=127): ['chroot', '/tmp/tmpa1b2', '/etc/cron.daily/foo']\n"],
    miss: ['0m54.0s INFO: Package foo contains cron file: /etc/cron.daily/foo\n'],
  },
  logrotate_error_after_removal_error: {
    match: [
      '0m56.0s ERROR: FAIL: Logrotate file /etc/logrotate.d/foo exits with error or has output with package removed\n',
      "0m56.0s ERROR: Command failed (status=1): ['chroot', '/tmp/tmpa1b2', '/usr/sbin/logrotate', '/etc/logrotate.d/foo']\n",
    ],
    miss: ['0m54.0s INFO: Package foo contains logrotate file: /etc/logrotate.d/foo\n'],
  },
  broken_symlinks_error: {
    match: ['0m30.0s ERROR: FAIL: Broken symlinks:\n  /usr/lib/foo/data -> ../../share/foo/data (foo)\n'],
    miss: ['0m30.0s DEBUG: No broken symlinks as far as we can find.\n'],
  },
  broken_symlinks_issue: {
    match: ['0m30.0s ERROR: WARN: Broken symlinks:\n  /usr/share/doc/foo/changelog.gz -> ../bar/changelog.gz (foo)\n'],
    miss: ['0m30.0s DEBUG: No broken symlinks as far as we can find.\n'],
  },
  dependency_error: {
    match: [
      '  The following packages have unmet dependencies:\n   foo : Depends: libbar1 (>= 2.0) but 1.9-1 is to be installed\n',
      '  E: Unable to correct problems, you have held broken packages.\n',
      '  dpkg: dependency problems prevent configuration of foo:\n   foo depends on libbar1 (>= 2.0); however:\n',
    ],
    miss: ['  Reading package lists...\n  Building dependency tree...\n  The following NEW packages will be installed:\n'],
  },
  conffile_prompt_error: {
    match: ['  dpkg: error processing package foo (--configure):\n   end of file on stdin at conffile prompt\n'],
    miss: ["  Configuration file '/etc/foo.conf'\n   ==> Modified (by you or by a script) since installation.\n"],
  },
  debconf_error: {
    match: [
      '  debconf: DbDriver "config": /var/cache/debconf/config.dat is locked by another process: Resource temporarily unavailable\n',
      '  dbconfig-common: foo configure: noninteractive fail.\n',
      '  sh: 1: cannot open /dev/tty: No such device or address\n',
    ],
    miss: ['  debconf: unable to initialize frontend: Dialog\n  debconf: falling back to frontend: Readline\n'],
  },
  installation_failed_error: {
    match: ['  Errors were encountered while processing:\n   foo\n  E: Sub-process /usr/bin/dpkg returned an error code (1)\n', '0m9.0s ERROR: Installation of foo failed\n'],
    miss: ['  Setting up foo (1.0-1) ...\n', '0m9.0s ERROR: Installation of piuparts-depends-dummy FAILED\n'],
  },
  pre_installation_script_error: {
    match: ['  dpkg: error processing archive /tmp/apt-dpkg-install-x/0-foo_1.0-1_amd64.deb (--unpack):\n   new foo package pre-installation script subprocess returned error exit status 1\n'],
    miss: ['  Preparing to unpack .../foo_1.0-1_amd64.deb ...\n'],
  },
  post_installation_script_error: {
    match: ['   installed foo package post-installation script subprocess returned error exit status 10\n', '  subprocess installed post-installation script returned error exit status 1\n'],
    miss: ['  Setting up foo (1.0-1) ...\n', '   installed foo package post-removal script subprocess returned error exit status 1\n'],
  },
  pre_removal_script_error: {
    match: ['   installed foo package pre-removal script subprocess returned error exit status 1\n', '   installed foo package pre-removal script subprocess was killed by signal (Terminated)\n'],
    miss: ['  Removing foo (1.0-1) ...\n'],
  },
  post_removal_script_error: {
    match: ['  dpkg: error processing package foo (--purge):\n   installed foo package post-removal script subprocess returned error exit status 127\n'],
    miss: ['  Purging configuration files for foo (1.0-1) ...\n'],
  },
  maintainer_script_issue: {
    match: ['   installed foo package post-removal script subprocess returned error exit status 1\n'],
    miss: ['  Purging configuration files for foo (1.0-1) ...\n'],
  },
  command_not_found_error: {
    match: ['  /var/lib/dpkg/info/foo.postrm: 12: update-foo: not found\n', '  /var/lib/dpkg/info/foo.postinst: line 7: deluser: command not found\n'],
    miss: ['  dpkg-query: no packages found matching foo\n', '  W: file not found: /etc/foo\n'],
  },
  command_not_found_issue: {
    match: ['  /var/lib/dpkg/info/foo.postrm: 3: ucf: not found\n'],
    miss: ['  dpkg-query: no packages found matching foo\n'],
  },
  obsolete_conffiles_issue: {
    match: ['  OBSOLETE CONFFILE: /etc/foo/old.conf REGISTERED BY foo\n', '  foo: obsolete-conffile /etc/foo/old.conf\n'],
    miss: ['  Removing obsolete conffile /etc/foo/old.conf ...\n'],
  },
  overwrite_other_packages_files_error: {
    match: ["  dpkg: error processing archive /var/cache/apt/archives/foo_1.0-1_amd64.deb (--unpack):\n   trying to overwrite '/usr/bin/foo', which is also in package bar 2.0-1\n"],
    miss: ['  Replacing files in old package bar (2.0-1) ...\n'],
  },
  resource_limit_error: {
    match: ['  ***** Command was terminated after exceeding runtime limit (2700 s) *****\n', ' *** Process KILLED - exceed maximum run time ***\n'],
    miss: ['0m0.1s INFO: Command line arguments: piuparts --max-command-runtime 2700\n'],
  },
  apt_network_error: {
    match: ["  E: Failed to fetch http://deb.debian.org/debian/pool/main/f/foo/foo_1.0-1_amd64.deb  Could not resolve 'deb.debian.org'\n", '  E: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?\n'],
    miss: ['  Get:1 http://deb.debian.org/debian sid/main amd64 foo amd64 1.0-1 [10.2 kB]\n'],
  },
  mirror_sync_error: {
    match: ['  E: Failed to fetch http://deb.debian.org/debian/dists/sid/main/binary-amd64/Packages.xz  Hash Sum mismatch\n', 'Package foo 1.0-1 not found in sid, 1.0-2 is available\n', "  E: Version '1.0-1' for 'foo' was not found\n"],
    miss: ['Package: foo\n', '  Package foo is not available, but is referred to by another package.\n'],
  },
  debootstrap_error: {
    match: [
      "0m31.0s ERROR: Command failed (status=1): ['debootstrap', '--variant=minbase', '--keyring=/usr/share/keyrings/debian-archive-keyring.gpg', 'sid', '/tmp/tmpx', 'http://deb.debian.org/debian']\n",
      "  E: Couldn't download packages: libc6\n",
    ],
    miss: ["0m0.5s DEBUG: Starting command: ['debootstrap', '--variant=minbase', 'sid']\n"],
  },
  piuparts_internal_error: {
    match: [' *** PIUPARTS OUTPUT INCOMPLETE ***\n', 'Traceback (most recent call last):\n  File "/usr/sbin/piuparts", line 3378, in <module>\nOSError: [Errno 28] boom\n'],
    miss: ['  Traceback (most recent call last):\n    File "/usr/lib/foo/setup.py", line 1\n  OSError: not ours\n'],
  },
  disk_space_error: {
    match: ['  tar: ./usr/share/foo: Cannot write: No space left on device\n', "  E: You don't have enough free space in /var/cache/apt/archives/.\n"],
    miss: ['  Need to get 1,234 kB of archives.\n  After this operation, 5,678 kB of additional disk space will be used.\n'],
  },
};

const INFRASTRUCTURE = ['apt_network_error', 'debootstrap_error', 'disk_space_error', 'mirror_sync_error', 'piuparts_internal_error'];

describe('known-problem files', () => {
  it('parses keys, quoting, comments and Kiln’s infrastructure flag', () => {
    const p = parseKnownProblem(CONF, '/x/owned_files_after_purge_error.conf', 'kiln');
    expect(p).toEqual({
      id: 'owned_files_after_purge_error',
      pattern: '[[:space:]]owned by: ',
      excludePattern: 'usr/local/|$HOME',
      where: ['fail', 'bugged', 'affected'],
      issue: false,
      header: 'Files left after purge',
      helpText: '<p>Remove them in <code>postrm</code>.</p>',
      origin: 'kiln',
      infrastructure: false,
      explain: 'more',
    } satisfies KnownProblem);
    const infra = parseKnownProblem(CONF.replace('KILN_INFRASTRUCTURE=no', 'KILN_INFRASTRUCTURE="yes"').replace('ISSUE=0', 'ISSUE=1'), 'net.conf', '/etc/kiln/problems');
    expect(infra).toMatchObject({ id: 'net', infrastructure: true, issue: true, origin: '/etc/kiln/problems' });
  });

  it('names the file and line of malformed input', () => {
    const bad = (text: string): KnownProblemError => {
      try {
        parseKnownProblem(text, 'bad.conf', 'kiln');
      } catch (e) {
        expect(e).toBeInstanceOf(KnownProblemError);
        return e as KnownProblemError;
      }
      throw new Error('parsed');
    };
    expect(bad(CONF.replace('EXPLAIN="more"', "EXPLAIN='more")).message).toBe("bad.conf:13: unterminated '…' in the value of EXPLAIN");
    expect(bad(CONF.replace('EXPLAIN="more"', 'EXPLAIN="more')).message).toBe('bad.conf:13: unterminated "…" in the value of EXPLAIN');
    expect(bad(CONF.replace('ISSUE=0', 'ISSUE=2')).message).toBe('bad.conf:7: ISSUE must be 0 (error) or 1 (issue), not "2"');
    expect(bad(CONF.replace('ISSUE=0', 'ISSUE=0\nWHEN=now')).message).toBe('bad.conf:8: unknown key WHEN');
    expect(bad(CONF.replace("WHERE='fail bugged affected'", "WHERE='fail failed'")).message).toMatch(/^bad\.conf:6: WHERE: unknown log kind "failed"/);
    expect(bad(CONF.replace("PATTERN='[[:space:]]owned by: '", "PATTERN='[[:spaces:]]'")).message).toMatch(/^bad\.conf:4: PATTERN is not a valid extended regular expression: unknown character class \[:spaces:\]/);
    expect(bad(CONF.replace("PATTERN='[[:space:]]owned by: '", "PATTERN='(owned'")).message).toMatch(/^bad\.conf:4: PATTERN is not a valid/);
    expect(bad(CONF.replace('ISSUE=0', 'ISSUE=0 1')).message).toBe('bad.conf:7: unexpected text after the value of ISSUE (quote values that contain spaces)');
    expect(bad(CONF.replace(/HEADER=.*\n/, '')).message).toMatch(/^bad\.conf:\d+: missing HEADER$/);
    expect(bad(`${CONF}ISSUE=1\n`).message).toBe('bad.conf:14: ISSUE is set twice (first on line 7)');
    expect(bad('this is not a conf file\n').message).toBe('bad.conf:1: expected KEY=value, found "this is not a conf file"');
    expect(() => parseKnownProblem(CONF, 'index.conf', 'kiln')).toThrow(KnownProblemError);
  });

  it('translates POSIX extended regular expressions to JavaScript', () => {
    expect(posixEreToJs('[[:space:]]owned by:')).toBe('[ \\t\\f\\v]owned by:');
    expect(posixEreToJs('[^,]*$')).toBe('[^,\\n\\r\\u2028\\u2029]*$');
    expect(new RegExp(posixEreToJs('[a\\]')).test('x\\y')).toBe(true); // a backslash is literal in brackets
    expect(new RegExp(posixEreToJs('[]x]')).test(']')).toBe(true);
    expect(new RegExp(posixEreToJs('\\<foo\\>')).test('a foo b')).toBe(true);
    expect(new RegExp(posixEreToJs('\\<foo\\>')).test('afoob')).toBe(false);
    expect(new RegExp(posixEreToJs('^x{,2}y$')).test('xxy')).toBe(true);
    expect(new RegExp(posixEreToJs('*a{')).test('*a{')).toBe(true); // nothing to repeat: literal, as grep -E
    expect(new RegExp(posixEreToJs('File\\(s\\) moved')).test('FAIL: File(s) moved between')).toBe(true);
    expect(new RegExp(posixEreToJs('a\\tb')).test('a\tb')).toBe(true);
    expect(() => posixEreToJs('[abc')).toThrow(/unterminated bracket/);
  });
});

describe('classifying logs', () => {
  let shipped: KnownProblem[];
  let classifier: KnownProblemClassifier;
  beforeAll(async () => {
    shipped = await loadKnownProblems();
    classifier = new KnownProblemClassifier(shipped);
  });

  it('ships a fixture-tested problem for every file, and marks the infrastructure ones', () => {
    expect(shipped.length).toBeGreaterThanOrEqual(25);
    expect(shipped.map((p) => p.id).sort()).toEqual(Object.keys(FIXTURES).sort());
    expect([...infrastructureProblemIds(shipped)].sort()).toEqual(INFRASTRUCTURE);
    expect(shipped.every((p) => p.origin === 'kiln' && p.header && p.helpText.startsWith('<p>'))).toBe(true);
  });

  for (const [id, fx] of Object.entries(FIXTURES)) {
    it(`finds ${id} in real log lines and not in near misses`, () => {
      const p = shipped.find((x) => x.id === id)!;
      const kind = p.where.includes('fail') ? 'fail' : 'pass';
      for (const m of fx.match) expect(classifier.classify(log(m), kind), m).toContain(id);
      for (const m of fx.miss) expect(classifier.classify(log(m), kind), m).not.toContain(id);
      const other = kind === 'fail' ? 'pass' : 'fail';
      if (!p.where.includes(other)) expect(classifier.classify(log(fx.match[0]!), other)).not.toContain(id);
    });
  }

  it('finds infrastructure problems in untestable logs too, and nothing else there', () => {
    const untestable = 'Start: 2026-01-03 10:00:00 UTC\nPackage foo 1.0-1 not found in sid, 1.0-2 is available\n\nret=-10002\nEnd: 2026-01-03 10:00:00 UTC\n';
    expect(classifier.classify(untestable, 'untestable')).toEqual(['mirror_sync_error']);
    expect(classifier.isInfrastructure(classifier.classify(untestable, 'untestable'))).toBe(true);
    expect(classifier.isInfrastructure(['owned_files_after_purge_error'])).toBe(false);
    const ownedFail = log(FIXTURES.owned_files_after_purge_error!.match[0]!);
    expect(classifier.classify(ownedFail, 'untestable')).toEqual([]);
  });

  it('applies EXCLUDE_PATTERN to the matching line only, as grep -E … | grep -v -E … does', () => {
    const onlyExcluded = log('0m35.2s ERROR: FAIL: Package purging left files on system:\n  /usr/local/lib/foo/\t owned by: foo\n');
    expect(classifier.classify(onlyExcluded, 'fail')).toEqual(['files_in_usr_local_error']);
    const alsoOther = log('  /usr/local/lib/foo/\t owned by: foo\n  /etc/foo/\t owned by: foo\n');
    expect(classifier.classify(alsoOther, 'fail')).toContain('owned_files_after_purge_error');
  });

  it('classifies a whole failed log with everything it shows', () => {
    const text = log(
      [
        '  Setting up foo (1.0-1) ...',
        '  /var/lib/dpkg/info/foo.postinst: 7: adduser: not found',
        '  dpkg: error processing package foo (--configure):',
        '   installed foo package post-installation script subprocess returned error exit status 127',
        '  Errors were encountered while processing:',
        '   foo',
        '  E: Sub-process /usr/bin/dpkg returned an error code (1)',
        "0m9.0s ERROR: Command failed (status=100): ['chroot', '/tmp/tmpa1b2', 'apt-get', '-y', 'install', 'foo=1.0-1']",
      ].join('\n'),
    );
    expect(classifier.classify(text, 'fail')).toEqual(['command_not_found_error', 'installation_failed_error', 'post_installation_script_error']);
    expect(classifier.classify(text, 'pass')).toEqual(['command_not_found_issue', 'maintainer_script_issue']);
    expect(classifyLog(shipped, log('  Setting up foo (1.0-1) ...\n'), 'fail')).toEqual([]);
  });

  it('matches per line: anchors, CRLF, and no empty line after the final newline', () => {
    const probs = [parseKnownProblem("PATTERN='^$'\nWHERE=fail\nISSUE=0\nHEADER=h\nHELPTEXT=t\n", 'empty.conf', 'kiln')];
    expect(classifyLog(probs, 'a\nb\n', 'fail')).toEqual([]);
    expect(classifyLog(probs, 'a\n\nb\n', 'fail')).toEqual(['empty']);
    const anchored = [parseKnownProblem("PATTERN='not owned$'\nWHERE=fail\nISSUE=0\nHEADER=h\nHELPTEXT=t\n", 'x.conf', 'kiln')];
    expect(classifyLog(anchored, '  /x\t not owned\r\n', 'fail')).toEqual(['x']); // \r\n ends a line, as for piuparts' splitlines()
    expect(classifyLog(anchored, '  /x\t not owned\n', 'fail')).toEqual(['x']);
    expect(classifyLog(anchored, '  /x\t not owned, really\n', 'fail')).toEqual([]);
    expect(classifyLog(probs, 'a\r\nb\r\n', 'fail')).toEqual([]);
    const neg = [parseKnownProblem("PATTERN='owned by: [^,]*$'\nWHERE=fail\nISSUE=0\nHEADER=h\nHELPTEXT=t\n", 'y.conf', 'kiln')];
    expect(classifyLog(neg, ' owned by: a\nb, c\n', 'fail')).toEqual(['y']);
    expect(classifyLog(neg, ' owned by: a, b\nc\n', 'fail')).toEqual([]); // [^,] does not run on to the next line
  });

  it('classifies a 1 MB log quickly', () => {
    const filler = ["0m1.2s DEBUG: Starting command: ['chroot', '/tmp/x', 'dpkg-query', '-W']", '  Setting up foo (1.0-1) ...', '  /usr/share/doc/foo/copyright', '  /usr/local/lib/foo/\t owned by: foo'].join('\n') + '\n';
    let text = '';
    while (text.length < 1_000_000) text += filler;
    text += '0m30.1s ERROR: FAIL: Package purging left files on system:\n  /etc/foo/\t owned by: foo\n';
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) expect(classifier.classify(text, 'fail')).toEqual(['files_in_usr_local_error', 'owned_files_after_purge_error']);
    expect((performance.now() - t0) / 5).toBeLessThan(500);
  });
});

describe('loading known problems', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-kp-'));
    await writeFile(join(dir, 'owned_files_after_purge_error.conf'), CONF.replace("HEADER='Files left after purge'", "HEADER='Operator version'"));
    await writeFile(join(dir, 'my_problem.conf'), "PATTERN='frobnicate failed'\nWHERE='fail'\nISSUE=0\nHEADER='Frobnication'\nHELPTEXT='<p>x</p>'\n");
    await writeFile(join(dir, 'README'), 'not a problem file');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lets an operator file replace the shipped one of the same name, and add new ones', async () => {
    const all = await loadKnownProblems({ operatorDir: dir });
    const shipped = await loadKnownProblems();
    expect(all.length).toBe(shipped.length + 1);
    expect(all.find((p) => p.id === 'owned_files_after_purge_error')).toMatchObject({ header: 'Operator version', origin: dir });
    expect(all.find((p) => p.id === 'my_problem')).toMatchObject({ header: 'Frobnication', origin: dir });
    expect(all.map((p) => p.id)).toEqual([...all.map((p) => p.id)].sort());
    expect(classifyLog(all, log('  frobnicate failed\n'), 'fail')).toEqual(['my_problem']);
    const fewer = await loadKnownProblems({ operatorDir: dir, exclude: ['my_problem', 'debconf_error'] });
    expect(fewer.map((p) => p.id)).not.toContain('my_problem');
    expect(fewer.map((p) => p.id)).not.toContain('debconf_error');
  });

  it('refuses a missing operator directory and reports a bad operator file', async () => {
    await expect(loadKnownProblems({ operatorDir: join(dir, 'nope') })).rejects.toThrow(/does not exist/);
    const badDir = await mkdtemp(join(tmpdir(), 'kiln-kp-bad-'));
    await writeFile(join(badDir, 'broken.conf'), "PATTERN='x'\nWHERE='fail'\nISSUE=0\nHEADER='unterminated\n");
    await expect(loadKnownProblems({ operatorDir: badDir })).rejects.toThrow(`${join(badDir, 'broken.conf')}:4: unterminated`);
    await rm(badDir, { recursive: true, force: true });
  });

  it.skipIf(!existsSync('/usr/share/piuparts/known_problems'))('reads piuparts’ own problem files as an operator directory', async () => {
    const all = await loadKnownProblems({ operatorDir: '/usr/share/piuparts/known_problems', shippedDir: SHIPPED_KNOWN_PROBLEMS_DIR });
    expect(all.filter((p) => p.origin !== 'kiln').length).toBeGreaterThan(70);
    const c = new KnownProblemClassifier(all);
    expect(c.classify(log('0m50.0s ERROR: FAIL: Processes are running inside chroot:\n'), 'fail')).toContain('processes_running_error');
  });
});
