/**
 * The sitemap (sitemaps.org protocol 0.9). Up to {@link SITEMAP_LIMIT} URLs
 * go in one `sitemap.xml`; more are split into `sitemap-1.xml`,
 * `sitemap-2.xml`… of at most that many `<url>` each, and `sitemap.xml`
 * becomes a sitemap index pointing at them. URLs are absolute.
 */

/** Most `<url>` entries in one sitemap file (the protocol's limit). */
export const SITEMAP_LIMIT = 50_000;

/** Escape text for XML content. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * The absolute URL of an output-relative path: `baseUrl` (no trailing
 * slash needed) plus the path, each segment percent-encoded (`@` kept, for
 * scoped npm names).
 */
export function siteUrl(baseUrl: string, rel: string): string {
  const path = rel
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/%40/g, '@'))
    .join('/');
  return `${baseUrl.replace(/\/+$/, '')}/${path}`;
}

function urlset(urls: string[]): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ...urls.map((u) => `<url><loc>${escapeXml(u)}</loc></url>`),
    '</urlset>',
    '',
  ].join('\n');
}

/**
 * The sitemap files for a list of absolute URLs: output-relative file name
 * → content. One `sitemap.xml` when the URLs fit in `limit`, otherwise
 * `sitemap-N.xml` files (N from 1) and a `sitemap.xml` index over them.
 * @param lastmod date written on the index entries (`YYYY-MM-DD`), default today.
 */
export function sitemapFiles(urls: string[], baseUrl: string, limit = SITEMAP_LIMIT, lastmod = new Date().toISOString().slice(0, 10)): Map<string, string> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`sitemap limit must be a positive integer, got ${limit}`);
  const files = new Map<string, string>();
  if (urls.length <= limit) {
    files.set('sitemap.xml', urlset(urls));
    return files;
  }
  const parts: string[] = [];
  for (let i = 0; i < urls.length; i += limit) {
    const name = `sitemap-${parts.length + 1}.xml`;
    parts.push(name);
    files.set(name, urlset(urls.slice(i, i + limit)));
  }
  files.set(
    'sitemap.xml',
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
      ...parts.map((p) => `<sitemap><loc>${escapeXml(siteUrl(baseUrl, p))}</loc><lastmod>${lastmod}</lastmod></sitemap>`),
      '</sitemapindex>',
      '',
    ].join('\n'),
  );
  return files;
}

/** Whether an output-root file name is one of the numbered sitemap parts (for removing stale ones). */
export function isSitemapPart(name: string): boolean {
  return /^sitemap-\d+\.xml$/.test(name);
}
