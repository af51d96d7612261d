/**
 * Kiln's site in a real browser: headless Chromium (Debian's, through
 * playwright-core) clicks through the pages a farm publishes, on the
 * master's built-in server and on a plain static server, as a user would.
 * Skipped when /usr/bin/chromium is missing (`apt-get install chromium`).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFarm, waitFor, type Farm } from '../helpers/farm.ts';
import { createShellMaster, createShellWorker, type FakePackage } from '../helpers/shell-ecosystem.ts';
import { serveStatic, type StaticServer } from './static-server.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const title = haveChromium
  ? 'the site in headless Chromium'
  : `the site in headless Chromium (skipped: ${CHROMIUM} is missing; apt-get install chromium)`;

if (!haveChromium) console.warn(`test/browser: ${CHROMIUM} is missing, so the browser tests are skipped (apt-get install chromium)`);

const FAILURE = 'fatal error: missing.h: No such file or directory';
const upstream = new Map<string, FakePackage>([
  ['alpha', { name: 'alpha', versions: [{ version: '2.0.0', released: new Date(Date.UTC(2026, 0, 5)), script: 'echo building alpha 2; printf two > "$OUT"' }] }],
  ['broken', { name: 'broken', versions: [{ version: '0.1.0', released: new Date(Date.UTC(2026, 0, 3)), script: `echo "${FAILURE}" >&2; exit 1` }] }],
]);
const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/**
 * Visit every HTML page reachable from `start` within `scope`, fetch every
 * `a[href]` and `link[href]` on them through the page's request context, and
 * return those that do not answer 2xx, as "page -> link: status".
 */
async function brokenLinks(page: Page, start: string[], scope: string, maxPages = 50): Promise<{ broken: string[]; pages: string[]; checked: number }> {
  const queue = [...start];
  const seen = new Set(queue);
  const status = new Map<string, { code: number; html: boolean }>();
  const broken: string[] = [];
  const pages: string[] = [];
  while (queue.length && pages.length < maxPages) {
    const url = queue.shift()!;
    await page.goto(url);
    pages.push(url);
    const links = await page.$$eval('a[href], link[href]', (els) => els.map((e) => (e as HTMLAnchorElement | HTMLLinkElement).href));
    for (const raw of links) {
      const link = raw.split('#')[0]!;
      if (!link.startsWith(scope)) continue;
      if (!status.has(link)) {
        const r = await page.request.get(link);
        status.set(link, { code: r.status(), html: (r.headers()['content-type'] ?? '').startsWith('text/html') });
        await r.dispose();
      }
      const s = status.get(link)!;
      if (s.code < 200 || s.code > 299) broken.push(`${url} -> ${link}: ${s.code}`);
      else if (s.html && !seen.has(link)) {
        seen.add(link);
        queue.push(link);
      }
    }
  }
  return { broken, pages, checked: status.size };
}

describe.skipIf(!haveChromium)(title, () => {
  let farm: Farm;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let site: string;
  let failedBuild: number;
  /** Responses of 400 and up and page errors, other than those a test asked for. */
  const problems: string[] = [];
  const expected404 = new Set<string>();

  beforeAll(async () => {
    farm = await startFarm([createShellMaster(upstream)]);
    site = farm.master.url;
    for (const name of ['alpha', 'broken']) {
      const r = await fetch(`${site}/api/v1/admin/packages`, {
        method: 'POST',
        headers: { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' },
        body: JSON.stringify({ ecosystem: 'shell', name }),
      });
      expect(r.status).toBe(200);
    }
    const worker = farm.worker(createShellWorker(['shell-a']));
    const builds = await waitFor(async () => {
      const b = await farm.db.query<{ id: number; status: string }>('SELECT id, status FROM builds ORDER BY id');
      return b.length === 2 && b.every((x) => x.status !== 'running') ? b : null;
    }, 30_000, 'two builds');
    await worker.stop();
    await farm.settle();
    failedBuild = builds.find((b) => b.status === 'failed')!.id;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400 && !expected404.has(r.url())) problems.push(`${r.status()} ${r.url()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await farm?.close();
  });

  it('home page: totals, package list, and its links lead to the package pages', async () => {
    const r = await page.goto(`${site}/`);
    expect(r?.status()).toBe(200);
    expect(await page.title()).toBe('Home · Kiln');
    await expect.poll(() => page.locator('.totals .passed b').innerText()).toBe('1');
    expect(await page.locator('.totals .failed b').innerText()).toBe('1');
    expect(await page.locator('.totals').innerText()).toMatch(/2\s+packages/);
    // The stylesheet loaded: the header has its colour.
    expect(await page.locator('header').evaluate((e) => getComputedStyle(e).backgroundColor)).toBe('rgb(58, 36, 24)');

    const rows = page.locator('table', { has: page.locator('th', { hasText: 'package' }) }).locator('tbody tr');
    expect(await rows.count()).toBe(2);
    const alphaRow = rows.filter({ hasText: 'alpha' });
    expect(await alphaRow.locator('td.passed').innerText()).toBe('1');
    // A zero count is not coloured as a failure.
    expect(await alphaRow.locator('td').nth(4).innerText()).toBe('0');
    expect(await alphaRow.locator('td.failed').count()).toBe(0);
    expect(await rows.filter({ hasText: 'broken' }).locator('td.failed').innerText()).toBe('1');

    await page.getByRole('link', { name: 'broken', exact: true }).click();
    await page.waitForURL(`${site}/packages/shell/broken/index.html`);
    expect(await page.locator('h1').innerText()).toMatch(/^broken\s+shell$/);

    await page.getByRole('link', { name: 'Kiln', exact: true }).click();
    await page.waitForURL(`${site}/index.html`);
    await page.getByRole('link', { name: 'alpha', exact: true }).click();
    await page.waitForURL(`${site}/packages/shell/alpha/index.html`);
    expect(await page.title()).toBe('alpha · Kiln');
  });

  it('package page: the versions × targets table shows state, duration, files and sha256', async () => {
    await page.goto(`${site}/packages/shell/alpha/`);
    expect(await page.locator('table.matrix thead th').allInnerTexts()).toEqual(['version', 'released', 'shell-a']);
    const cell = page.locator('tr#v2\\.0\\.0 td.passed');
    expect(await cell.locator('.state').innerText()).toBe('passed');
    expect(await cell.innerText()).toMatch(/passed (<0\.1|\d+(\.\d)?) s/);
    expect(await cell.locator('.file a').innerText()).toBe('alpha-2.0.0.bin');
    expect(await cell.locator('.file').innerText()).toContain('3 bytes');
    expect(await cell.locator('code.sha').innerText()).toBe(`sha256:${sha256('two')}`);
    expect(await page.locator('tr#v2\\.0\\.0 td').nth(1).innerText()).toBe('2026-01-05');
    expect(await page.locator('pre').innerText()).toContain(`curl ${site}/shell/alpha/`);

    await page.goto(`${site}/packages/shell/broken/`);
    const failed = page.locator('tr#v0\\.1\\.0 td.failed');
    expect(await failed.locator('.state').innerText()).toBe('failed');
    expect(await failed.innerText()).toMatch(/failed (<0\.1|\d+(\.\d)?) s/);
    expect(await failed.innerText()).toContain('script exited with 1');
    expect(await failed.locator('.file').count()).toBe(0);
  });

  it('the "log" link of a failed build shows the plain-text log in the browser', async () => {
    await page.goto(`${site}/packages/shell/broken/`);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('.txt.gz')),
      page.locator('tr#v0\\.1\\.0 td.failed').getByRole('link', { name: 'log' }).click(),
    ]);
    expect(response.url()).toBe(`${site}/logs/0/${failedBuild}.txt.gz`);
    expect(response.headers()['content-encoding']).toBe('gzip');
    expect(response.headers()['content-type']).toMatch(/^text\/plain/);
    await page.waitForURL(response.url());
    // Chromium renders text/plain as a <pre>; a download or binary garbage would not contain this.
    expect(await page.locator('body').innerText()).toContain(FAILURE);
  });

  it('an artifact link downloads exactly the artifact bytes', async () => {
    await page.goto(`${site}/packages/shell/alpha/`);
    const link = page.getByRole('link', { name: 'alpha-2.0.0.bin' });
    const href = await link.evaluate((a) => (a as HTMLAnchorElement).href);
    expect(href).toBe(`${site}/shell/alpha/alpha-2.0.0.bin`);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('alpha-2.0.0.bin');
    expect(await readFile(await download.path())).toEqual(Buffer.from('two'));

    const r = await page.request.get(href);
    expect(r.status()).toBe(200);
    const body = await r.body();
    expect(body.toString()).toBe('two');
    expect(sha256(body)).toBe((await page.locator('code.sha').innerText()).replace('sha256:', ''));

    // The package's JSON points at the same bytes.
    const json = (await (await page.request.get(`${site}/packages/shell/alpha/json/index.json`)).json()) as {
      versions: Record<string, { builds: Record<string, { status: string; files: Array<{ url: string; sha256: string }> }> }>;
    };
    const f = json.versions['2.0.0']!.builds['shell-a']!.files[0]!;
    expect(f.sha256).toBe(sha256('two'));
    expect((await (await page.request.get(f.url)).body()).toString()).toBe('two');
  });

  it('a nonexistent address shows the 404 page, whose link goes home', async () => {
    const url = `${site}/no/such/page`;
    expected404.add(url);
    const r = await page.goto(url);
    expect(r?.status()).toBe(404);
    expect(await page.locator('h1').innerText()).toBe('Not found');
    expect(await page.locator('header').evaluate((e) => getComputedStyle(e).backgroundColor)).toBe('rgb(58, 36, 24)');
    await page.getByRole('link', { name: 'home page' }).click();
    await page.waitForURL(`${site}/index.html`);
  });

  it('no broken links on the master\'s site (home, package pages, 404 page)', async () => {
    expected404.add(`${site}/no/such/page`);
    const { broken, pages, checked } = await brokenLinks(page, [`${site}/`, `${site}/no/such/page`], `${site}/`);
    expect(broken).toEqual([]);
    expect(pages).toEqual(expect.arrayContaining([`${site}/packages/shell/alpha/index.html`, `${site}/packages/shell/broken/index.html`]));
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  describe('served by a plain static web server', () => {
    let server: StaticServer;
    beforeAll(async () => {
      // Under a prefix, to hold the pages to their promise of relative links.
      server = await serveStatic(farm.master.ctx.paths.outputPath, '/mirror/');
    });
    afterAll(async () => {
      await server?.close();
    });

    it('home and package pages work, styled, with no broken links', async () => {
      await page.goto(server.url);
      expect(await page.locator('.totals .failed b').innerText()).toBe('1');
      expect(await page.locator('header').evaluate((e) => getComputedStyle(e).backgroundColor)).toBe('rgb(58, 36, 24)');
      await page.getByRole('link', { name: 'alpha', exact: true }).click();
      await page.waitForURL(`${server.url}packages/shell/alpha/index.html`);
      expect(await page.locator('code.sha').innerText()).toBe(`sha256:${sha256('two')}`);
      const r = await page.request.get(await page.getByRole('link', { name: 'alpha-2.0.0.bin' }).evaluate((a) => (a as HTMLAnchorElement).href));
      expect((await r.body()).toString()).toBe('two');

      // Logs need Content-Encoding configured on the server, so only their presence is checked here.
      const { broken, pages } = await brokenLinks(page, [server.url], server.url);
      expect(broken).toEqual([]);
      expect(pages.length).toBeGreaterThanOrEqual(3);
    });
  });

  it('screenshots of the pages are PNGs (kept in a temp folder for people to look at)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-browser-'));
    const shots: Array<[string, string]> = [
      ['package-alpha.png', `${site}/packages/shell/alpha/`],
      ['package-broken.png', `${site}/packages/shell/broken/`],
      ['home.png', `${site}/`],
      ['log.png', `${site}/logs/0/${failedBuild}.txt.gz`],
    ];
    for (const [name, url] of shots) {
      await page.goto(url);
      await page.screenshot({ path: join(dir, name), fullPage: true });
      const png = await readFile(join(dir, name));
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(png.length).toBeGreaterThan(5_000);
    }
    console.log(`site screenshots: ${dir}/{${shots.map(([n]) => n).join(',')}}`);
  });

  it('no unexpected error responses or script errors along the way', () => {
    expect(problems).toEqual([]);
  });
});
