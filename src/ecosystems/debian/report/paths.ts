/**
 * Where the pages of a section report live, relative to the output root,
 * and the names that go into their paths. Everything is under
 * `debian/<section>/`, so a section's report can be published or withdrawn
 * as one folder.
 */

/** A section's report folder, relative to the output root: `debian/<section>/`. */
export function sectionDir(section: string): string {
  return `debian/${section}/`;
}

/**
 * A name made safe as one path segment: characters other than letters,
 * digits and `@._+-` become `_`, and a leading `.` gets a `_` before it
 * (the publisher refuses dot files). Debian package names never change.
 */
export function pathSegment(name: string): string {
  const s = name.replace(/[^A-Za-z0-9@._+-]/g, '_');
  return s === '' || s.startsWith('.') ? `_${s}` : s;
}

/** A binary package's page, relative to the section folder: `pkg/<name>.html`. */
export function packagePage(name: string): string {
  return `pkg/${pathSegment(name)}.html`;
}

/** A source package's page, relative to the section folder: `source/<name>.html`. */
export function sourcePage(name: string): string {
  return `source/${pathSegment(name)}.html`;
}

/** A known problem's page, relative to the section folder: `problems/<id>.html`. */
export function problemPage(id: string): string {
  return `problems/${pathSegment(id)}.html`;
}

/** A state's page, relative to the section folder: `state-<state>.html`. */
export function statePage(state: string): string {
  return `state-${pathSegment(state)}.html`;
}

/** A maintainer's page, relative to the section folder: `maintainer/<slug>.html`. */
export function maintainerPage(slug: string): string {
  return `maintainer/${slug}.html`;
}

/**
 * The HTML id of a package's entry on a state page, as piuparts-report
 * makes it (`+` is replaced by `_`), so `state-<state>.html#<id>` links
 * work the same.
 */
export function packageAnchor(name: string): string {
  return name.replace(/\+/g, '_');
}

/** A person of a Maintainer or Uploaders field. */
export interface Person {
  /** The field as written, e.g. `Jane Doe <jane@example.org>`. */
  text: string;
  /** The display name, or the address when there is none. */
  name: string;
  /** The address, lower-cased; null when the field holds none (piuparts: "INVALID maintainer address"). */
  email: string | null;
  /** Names the maintainer's page (`maintainer/<slug>.html`); null without an address. */
  slug: string | null;
}

/**
 * Split a Maintainer or Uploaders entry into name and address, as
 * piuparts-report's get_email_address() does (`Name <address>`, the last
 * `<…@…>`), also taking a bare `address`.
 */
export function parsePerson(text: string): Person {
  const t = text.trim();
  const m = /^(.*)<([^<>\s]+@[^<>\s]+)>\s*$/.exec(t);
  let email: string | null = null;
  let name = t;
  if (m) {
    email = m[2]!.toLowerCase();
    name = m[1]!.trim() || m[2]!;
  } else if (/^[^\s<>@]+@[^\s<>@]+$/.test(t)) {
    email = t.toLowerCase();
  }
  return { text: t, name, email, slug: email === null ? null : pathSegment(email) };
}

/** A path relative to the output root (or an absolute URL) as seen from a page whose way back to the root is `root` (e.g. `../../`). */
export function fromRoot(root: string, href: string): string {
  return /^[a-z][a-z\d+.-]*:/i.test(href) || href.startsWith('/') ? href : `${root}${href}`;
}
