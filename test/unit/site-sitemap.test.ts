import { describe, expect, it } from 'vitest';
import { isSitemapPart, SITEMAP_LIMIT, sitemapFiles, siteUrl } from '../../src/site/sitemap.ts';

const locs = (xml: string) => [...xml.matchAll(/<loc>([^<]*)<\/loc>/g)].map((m) => m[1]);

describe('sitemap', () => {
  it('makes absolute URLs, encoding odd names but keeping npm scopes readable', () => {
    expect(siteUrl('http://h:1/mirror/', '')).toBe('http://h:1/mirror/');
    expect(siteUrl('http://h:1', 'packages/npm/@s/x y/')).toBe('http://h:1/packages/npm/@s/x%20y/');
    expect(siteUrl('http://h:1', 'packages.html')).toBe('http://h:1/packages.html');
  });

  it('writes one sitemap.xml while the URLs fit', () => {
    const urls = ['http://h/', 'http://h/packages.html', 'http://h/packages/pypi/a&b/'];
    const files = sitemapFiles(urls, 'http://h', 3);
    expect([...files.keys()]).toEqual(['sitemap.xml']);
    const xml = files.get('sitemap.xml')!;
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<urlset xmlns="http:\/\/www.sitemaps.org\/schemas\/sitemap\/0.9">/);
    expect(xml).toContain('<loc>http://h/packages/pypi/a&amp;b/</loc>');
    expect(locs(xml)).toEqual(['http://h/', 'http://h/packages.html', 'http://h/packages/pypi/a&amp;b/']);
  });

  it('splits into sitemap-N.xml parts of at most the limit, under a sitemap index', () => {
    const urls = Array.from({ length: 7 }, (_, i) => `http://h/p/${i}/`);
    const files = sitemapFiles(urls, 'http://h/', 3, '2026-01-02');
    expect([...files.keys()].sort()).toEqual(['sitemap-1.xml', 'sitemap-2.xml', 'sitemap-3.xml', 'sitemap.xml']);
    expect(locs(files.get('sitemap-1.xml')!)).toEqual(urls.slice(0, 3));
    expect(locs(files.get('sitemap-2.xml')!)).toEqual(urls.slice(3, 6));
    expect(locs(files.get('sitemap-3.xml')!)).toEqual(urls.slice(6));
    const index = files.get('sitemap.xml')!;
    expect(index).toContain('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">');
    expect(index).not.toContain('<urlset');
    expect(locs(index)).toEqual(['http://h/sitemap-1.xml', 'http://h/sitemap-2.xml', 'http://h/sitemap-3.xml']);
    expect(index).toContain('<lastmod>2026-01-02</lastmod>');
    // Every URL is in exactly one part.
    const all = ['sitemap-1.xml', 'sitemap-2.xml', 'sitemap-3.xml'].flatMap((f) => locs(files.get(f)!));
    expect(all).toEqual(urls);
  });

  it('an exact multiple of the limit makes no empty part', () => {
    const files = sitemapFiles(Array.from({ length: 6 }, (_, i) => `http://h/${i}`), 'http://h', 3);
    expect([...files.keys()].sort()).toEqual(['sitemap-1.xml', 'sitemap-2.xml', 'sitemap.xml']);
  });

  it('uses the protocol limit of 50,000 by default and refuses nonsense limits', () => {
    expect(SITEMAP_LIMIT).toBe(50_000);
    expect([...sitemapFiles(Array.from({ length: 50_000 }, (_, i) => `http://h/${i}`), 'http://h').keys()]).toEqual(['sitemap.xml']);
    expect([...sitemapFiles(Array.from({ length: 50_001 }, (_, i) => `http://h/${i}`), 'http://h').keys()].sort()).toEqual(['sitemap-1.xml', 'sitemap-2.xml', 'sitemap.xml']);
    expect(() => sitemapFiles([], 'http://h', 0)).toThrow('positive integer');
  });

  it('recognises its numbered parts (for removing stale ones) and nothing else', () => {
    expect(isSitemapPart('sitemap-12.xml')).toBe(true);
    for (const n of ['sitemap.xml', 'sitemap-.xml', 'sitemap-1.xml.tmp', 'index.html']) expect(isSitemapPart(n), n).toBe(false);
  });
});
