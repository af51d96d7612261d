/**
 * The piuparts command lines of the Debian worker, against piuparts-slave
 * 1.1.7's (_test_package and create_chroot): word for word, in order.
 */
import { describe, expect, it } from 'vitest';
import {
  baseTarballName,
  commandString,
  isDistUpgrade,
  piupartsTestCommand,
  shlexQuote,
  startDistro,
  tarballCreateCommand,
} from '../../src/ecosystems/debian/worker-command.ts';
import { debianTargets, probeDebianHost } from '../../src/ecosystems/debian/worker-detect.ts';
import { specFor } from '../helpers/debian-worker-fixture.ts';

const TGZ = '/var/cache/kiln/debian/basetgz/bookworm_amd64.tar.gz';

describe('piuparts test command', () => {
  it('a plain section: command, flags, mirror with components as one word, tmpdir, arch, -b, -d, --no-upgrade-test, --apt', () => {
    const spec = specFor('http://deb.debian.org/debian', 'x', {
      piupartsCommand: ['sudo', 'piuparts'],
      piupartsFlags: ['--warn-on-others', '--skip-logrotatefiles-test'],
      components: ['main', 'contrib'],
      tmpdir: '/var/tmp/piuparts',
    });
    expect(piupartsTestCommand(spec, TGZ)).toEqual([
      'sudo', 'piuparts', '--warn-on-others', '--skip-logrotatefiles-test',
      '--mirror', 'http://deb.debian.org/debian main contrib',
      '--tmpdir', '/var/tmp/piuparts',
      '--arch', 'amd64',
      '-b', TGZ,
      '-d', 'bookworm', '--no-upgrade-test',
      '--apt', 'hello=2.10-3',
    ]);
    expect(commandString(piupartsTestCommand(spec, TGZ))).toBe(
      "sudo piuparts --warn-on-others --skip-logrotatefiles-test --mirror 'http://deb.debian.org/debian main contrib' " +
        `--tmpdir /var/tmp/piuparts --arch amd64 -b ${TGZ} -d bookworm --no-upgrade-test --apt hello=2.10-3`,
    );
  });

  it('an upgrade section: one -d per distro, no --no-upgrade-test; keep-sources-list and the proxy as the slave adds them', () => {
    const spec = specFor('http://deb.debian.org/debian', 'x', {
      piupartsCommand: ['piuparts'],
      distro: 'bullseye',
      upgradeTestDistros: ['bullseye', 'bookworm', 'trixie'],
      indexDistro: 'trixie',
      keepSourcesList: true,
      version: '2.10-5',
    });
    expect(isDistUpgrade(spec)).toBe(true);
    expect(piupartsTestCommand(spec, '/t/bullseye_amd64.tar.gz', { proxy: 'http://proxy:3128' })).toEqual([
      'piuparts', '--proxy', 'http://proxy:3128',
      '--mirror', 'http://deb.debian.org/debian main',
      '--arch', 'amd64',
      '-b', '/t/bullseye_amd64.tar.gz',
      '-d', 'bullseye', '-d', 'bookworm', '-d', 'trixie',
      '--keep-sources-list',
      '--apt', 'hello=2.10-5',
    ]);
  });

  it('one upgrade-test distro alone is a plain test, as in the slave', () => {
    const spec = specFor('file:///srv/mirror', 'x', { upgradeTestDistros: ['bookworm'], piupartsCommand: ['piuparts'] });
    expect(isDistUpgrade(spec)).toBe(false);
    expect(piupartsTestCommand(spec, TGZ).slice(-5)).toEqual(['-d', 'bookworm', '--no-upgrade-test', '--apt', 'hello=2.10-3']);
  });
});

describe('base tarball command and name', () => {
  it('creates with -d <start distro> -s <new> --no-install-purge-test --no-upgrade-test --apt TARBALL', () => {
    const spec = specFor('http://deb.debian.org/debian', 'x', {
      piupartsCommand: ['piuparts'],
      piupartsFlags: ['--warn-on-others'],
      distro: 'bullseye',
      upgradeTestDistros: ['bullseye', 'bookworm'],
      indexDistro: 'bookworm',
      tmpdir: '/tmp/p',
    });
    expect(tarballCreateCommand(spec, '/c/bullseye_amd64.tar.gz.new')).toEqual([
      'piuparts', '--warn-on-others',
      '--mirror', 'http://deb.debian.org/debian main',
      '--tmpdir', '/tmp/p',
      '--arch', 'amd64',
      '-d', 'bullseye',
      '-s', '/c/bullseye_amd64.tar.gz.new',
      '--no-install-purge-test', '--no-upgrade-test',
      '--apt', 'TARBALL',
    ]);
  });

  it('names the tarball after the start distro and arch, -merged-usr with --merged-usr', () => {
    const plain = specFor('file:///m', 'x', { arch: 'arm64' });
    expect(baseTarballName(plain)).toBe('bookworm_arm64.tar.gz');
    expect(baseTarballName({ ...plain, piupartsFlags: ['--merged-usr'] })).toBe('bookworm-merged-usr_arm64.tar.gz');
    const upgrade = specFor('file:///m', 'x', { distro: 'bullseye', upgradeTestDistros: ['buster', 'bullseye'], indexDistro: 'bullseye' });
    expect(startDistro(upgrade)).toBe('buster');
    expect(baseTarballName(upgrade)).toBe('buster_amd64.tar.gz');
  });
});

describe('quoting as Python shlex.quote', () => {
  it('leaves safe words alone and single-quotes the rest', () => {
    expect(shlexQuote('hello=2.10-3')).toBe('hello=2.10-3');
    expect(shlexQuote('libc6:amd64+1@%,./-_')).toBe('libc6:amd64+1@%,./-_');
    expect(shlexQuote('')).toBe("''");
    expect(shlexQuote('a b')).toBe("'a b'");
    expect(shlexQuote("it's")).toBe(`'it'"'"'s'`);
    expect(shlexQuote('1:2.0~rc1')).toBe("'1:2.0~rc1'");
  });
});

describe('targets', () => {
  const probe = { arch: 'amd64', piuparts: '1.1.7', root: true };

  it('one target per section, with arch, piuparts version and root', () => {
    expect(debianTargets(['bookworm', 'sid-contrib'], probe)).toEqual({
      targets: [
        { name: 'bookworm', ecosystem: 'debian', facts: { arch: 'amd64', piuparts: '1.1.7', root: true } },
        { name: 'sid-contrib', ecosystem: 'debian', facts: { arch: 'amd64', piuparts: '1.1.7', root: true } },
      ],
      problem: null,
    });
  });

  it('none, with the reason, without root, piuparts or sections', () => {
    expect(debianTargets(['bookworm'], { ...probe, root: false })).toEqual({ targets: [], problem: expect.stringMatching(/needs real root/) });
    expect(debianTargets(['bookworm'], { ...probe, piuparts: null })).toEqual({ targets: [], problem: expect.stringMatching(/piuparts is not installed/) });
    expect(debianTargets([], probe)).toEqual({ targets: [], problem: expect.stringMatching(/--debian-section/) });
  });

  it('probes this machine', async () => {
    const p = await probeDebianHost();
    expect(p.root).toBe(process.getuid?.() === 0);
    expect(p.arch).toMatch(/^[a-z0-9-]+$/);
    expect(p.piuparts === null || /^\d/.test(p.piuparts)).toBe(true);
  });
});
