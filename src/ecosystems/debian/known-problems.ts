/**
 * Known problems: patterns that say why a piuparts log failed (or what a
 * passing one still shows), in piuparts' known_problems/*.conf format
 * (piupartslib/dwke.py and /usr/share/piuparts/known_problems, piuparts
 * 1.1.7), so an operator can reuse piuparts' own files.
 *
 * A file holds shell-like `KEY=value` assignments, values quoted with `'…'`
 * or `"…"` and free to span lines:
 *
 * - `PATTERN` (required): an extended regular expression (grep -E),
 *   matched line by line;
 * - `EXCLUDE_PATTERN`: a line that matches it does not count;
 * - `WHERE` (required): the log kinds it applies to, space-separated:
 *   `pass`, `fail`, `bugged`, `affected`, and Kiln's `untestable`;
 * - `ISSUE` (required): `0` for an error (why the test failed), `1` for an
 *   issue (worth knowing, not fatal);
 * - `HEADER` (required): one-line title; `HELPTEXT` (required): HTML;
 *   `EXPLAIN`: more HTML; `PRIORITY`: accepted and ignored, as piuparts
 *   does;
 * - `KILN_INFRASTRUCTURE` (Kiln's own): `yes` when the problem is the test
 *   infrastructure's fault (network, mirror, disk, piuparts), so the master
 *   drops the result and tests the package again.
 *
 * Kiln ships its own set in `known-problems/` next to this module; an
 * operator directory adds to it, a file of the same name replacing the
 * shipped one.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KnownProblem } from './report/model.ts';
import { posixEreToJs } from './known-problems-regex.ts';

export { posixEreToJs };

/** A log kind a problem can apply to (the `WHERE` words). */
export type ProblemLogKind = KnownProblem['where'][number];

const WHERE_WORDS: ReadonlySet<string> = new Set<ProblemLogKind>(['pass', 'fail', 'bugged', 'affected', 'untestable']);
const REQUIRED_KEYS = ['PATTERN', 'WHERE', 'ISSUE', 'HEADER', 'HELPTEXT'] as const;
const KNOWN_KEYS: ReadonlySet<string> = new Set([...REQUIRED_KEYS, 'EXCLUDE_PATTERN', 'EXPLAIN', 'PRIORITY', 'KILN_INFRASTRUCTURE']);
/** Problem ids name report pages; these names are the report's own pages. */
const RESERVED_IDS: ReadonlySet<string> = new Set(['index', 'unclassified']);
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** The directory of the known problems Kiln ships (absolute path). */
export const SHIPPED_KNOWN_PROBLEMS_DIR: string = fileURLToPath(new URL('./known-problems/', import.meta.url));

/** A malformed known-problem file; `message` starts with `file:line:`. */
export class KnownProblemError extends Error {
  /** The file as given to the parser (a path or a name). */
  readonly file: string;
  /** 1-based line the problem is on (the key's line for a bad value). */
  readonly line: number;
  /** @param file the file; @param line 1-based line; @param detail what is wrong. */
  constructor(file: string, line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'KnownProblemError';
    this.file = file;
    this.line = line;
  }
}

/** One `KEY=value` of a file, with the line the key is on. */
interface Assignment {
  value: string;
  line: number;
}

/** Read the assignments of a .conf file, shell-style. @throws KnownProblemError */
function readAssignments(text: string, file: string): Map<string, Assignment> {
  const out = new Map<string, Assignment>();
  const keyRe = /([A-Za-z_][A-Za-z0-9_]*)=/y;
  let pos = 0;
  let line = 1;
  const n = text.length;
  while (pos < n) {
    while (text[pos] === ' ' || text[pos] === '\t' || text[pos] === '\r') pos++;
    if (pos >= n) break;
    if (text[pos] === '\n') {
      pos++;
      line++;
      continue;
    }
    if (text[pos] === '#') {
      const end = text.indexOf('\n', pos);
      pos = end < 0 ? n : end;
      continue;
    }
    keyRe.lastIndex = pos;
    const m = keyRe.exec(text);
    if (!m) {
      const end = text.indexOf('\n', pos);
      const got = text.slice(pos, end < 0 ? n : end).slice(0, 40);
      throw new KnownProblemError(file, line, `expected KEY=value, found ${JSON.stringify(got)}`);
    }
    const key = m[1]!;
    const keyLine = line;
    pos = keyRe.lastIndex;
    let value = '';
    for (;;) {
      const c = text[pos];
      if (c === undefined || c === '\n' || c === ' ' || c === '\t' || c === '\r') break;
      if (c === "'") {
        const end = text.indexOf("'", pos + 1);
        if (end < 0) throw new KnownProblemError(file, line, `unterminated '…' in the value of ${key}`);
        const part = text.slice(pos + 1, end);
        value += part;
        line += countNewlines(part);
        pos = end + 1;
      } else if (c === '"') {
        const startLine = line;
        pos++;
        for (;;) {
          const d = text[pos];
          if (d === undefined) throw new KnownProblemError(file, startLine, `unterminated "…" in the value of ${key}`);
          if (d === '"') {
            pos++;
            break;
          }
          if (d === '\\') {
            const e = text[pos + 1];
            if (e === '\n') {
              line++;
              pos += 2;
              continue;
            }
            if (e === '\\' || e === '"' || e === '$' || e === '`') {
              value += e;
              pos += 2;
              continue;
            }
          }
          if (d === '\n') line++;
          value += d;
          pos++;
        }
      } else if (c === '\\') {
        const e = text[pos + 1];
        if (e === undefined) throw new KnownProblemError(file, line, `trailing backslash in the value of ${key}`);
        if (e === '\n') line++;
        else value += e;
        pos += 2;
      } else {
        value += c;
        pos++;
      }
    }
    while (text[pos] === ' ' || text[pos] === '\t' || text[pos] === '\r') pos++;
    if (text[pos] === '#') {
      const end = text.indexOf('\n', pos);
      pos = end < 0 ? n : end;
    }
    if (pos < n && text[pos] !== '\n') {
      throw new KnownProblemError(file, line, `unexpected text after the value of ${key} (quote values that contain spaces)`);
    }
    if (!KNOWN_KEYS.has(key)) throw new KnownProblemError(file, keyLine, `unknown key ${key}`);
    if (out.has(key)) throw new KnownProblemError(file, keyLine, `${key} is set twice (first on line ${out.get(key)!.line})`);
    out.set(key, { value, line: keyLine });
  }
  return out;
}

function countNewlines(s: string): number {
  let k = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) k++;
  return k;
}

/**
 * Parse one known-problem file.
 *
 * @param text the file's contents.
 * @param file its path or name: the problem's id is its base name without
 *   `.conf`, and errors name it.
 * @param origin recorded in {@link KnownProblem.origin} (`kiln`, or the
 *   operator's directory).
 * @throws KnownProblemError naming the file and line: bad syntax, an
 *   unknown or repeated key, a missing required key, a bad `WHERE`,
 *   `ISSUE` or `KILN_INFRASTRUCTURE`, or a pattern that does not compile.
 */
export function parseKnownProblem(text: string, file: string, origin: string): KnownProblem {
  const id = basename(file).replace(/\.conf$/, '');
  if (!ID_RE.test(id) || RESERVED_IDS.has(id)) {
    throw new KnownProblemError(file, 1, `the file name must be <id>.conf with an id of letters, digits, ._+- (not ${[...RESERVED_IDS].join(' or ')})`);
  }
  const a = readAssignments(text, file);
  for (const key of REQUIRED_KEYS) {
    if (!a.has(key)) throw new KnownProblemError(file, countNewlines(text) + 1, `missing ${key}`);
  }
  const get = (key: string): Assignment => a.get(key)!;
  const pattern = get('PATTERN');
  if (pattern.value === '') throw new KnownProblemError(file, pattern.line, 'PATTERN is empty (it would match every line)');
  checkPattern(pattern, 'PATTERN', file);
  const exclude = a.get('EXCLUDE_PATTERN');
  if (exclude && exclude.value !== '') checkPattern(exclude, 'EXCLUDE_PATTERN', file);
  const whereA = get('WHERE');
  const where = whereA.value.split(/\s+/).filter(Boolean);
  if (where.length === 0) throw new KnownProblemError(file, whereA.line, 'WHERE is empty');
  for (const w of where) {
    if (!WHERE_WORDS.has(w)) throw new KnownProblemError(file, whereA.line, `WHERE: unknown log kind ${JSON.stringify(w)} (expected ${[...WHERE_WORDS].join(', ')})`);
  }
  const issueA = get('ISSUE');
  const issue = issueA.value.trim();
  if (issue !== '0' && issue !== '1') throw new KnownProblemError(file, issueA.line, `ISSUE must be 0 (error) or 1 (issue), not ${JSON.stringify(issueA.value)}`);
  const infraA = a.get('KILN_INFRASTRUCTURE');
  let infrastructure = false;
  if (infraA) {
    const v = infraA.value.trim().toLowerCase();
    if (['yes', 'true', '1'].includes(v)) infrastructure = true;
    else if (!['no', 'false', '0', ''].includes(v)) throw new KnownProblemError(file, infraA.line, `KILN_INFRASTRUCTURE must be yes or no, not ${JSON.stringify(infraA.value)}`);
  }
  const header = get('HEADER').value.trim();
  if (header === '') throw new KnownProblemError(file, get('HEADER').line, 'HEADER is empty');
  const explain = a.get('EXPLAIN')?.value.trim();
  return {
    id,
    pattern: pattern.value,
    excludePattern: exclude && exclude.value !== '' ? exclude.value : null,
    where: [...new Set(where)] as ProblemLogKind[],
    issue: issue === '1',
    header,
    helpText: get('HELPTEXT').value.trim(),
    origin,
    infrastructure,
    ...(explain ? { explain } : {}),
  };
}

function checkPattern(a: Assignment, key: string, file: string): void {
  try {
    new RegExp(posixEreToJs(a.value), 'm');
  } catch (e) {
    throw new KnownProblemError(file, a.line, `${key} is not a valid extended regular expression: ${(e as Error).message}`);
  }
}

/** Parse every `*.conf` of a directory, keyed by file name. */
async function readProblemDir(dir: string, origin: string): Promise<Map<string, KnownProblem>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new Error(`known-problem directory ${dir} does not exist or is not a directory`);
    throw e;
  }
  const out = new Map<string, KnownProblem>();
  for (const name of names.filter((x) => x.endsWith('.conf')).sort()) {
    const path = join(dir, name);
    out.set(name, parseKnownProblem(await readFile(path, 'utf8'), path, origin));
  }
  return out;
}

/** Options of {@link loadKnownProblems}. */
export interface LoadKnownProblemsOptions {
  /**
   * The operator's directory of `*.conf` files, or null/undefined for
   * none. Its files add to Kiln's; one with the same file name replaces
   * Kiln's. piuparts' own /usr/share/piuparts/known_problems works here.
   */
  operatorDir?: string | null;
  /** Problem ids to leave out (piuparts' `exclude-known-problems`, without `.conf`). */
  exclude?: readonly string[];
  /** Where Kiln's own files are (tests); default {@link SHIPPED_KNOWN_PROBLEMS_DIR}. */
  shippedDir?: string;
}

/**
 * Load Kiln's known problems and the operator's, sorted by id (piuparts
 * reads its directory in file-name order).
 *
 * @throws KnownProblemError for a malformed file; Error when the operator
 *   directory does not exist.
 */
export async function loadKnownProblems(opts: LoadKnownProblemsOptions = {}): Promise<KnownProblem[]> {
  const merged = await readProblemDir(opts.shippedDir ?? SHIPPED_KNOWN_PROBLEMS_DIR, 'kiln');
  if (opts.operatorDir) {
    for (const [name, p] of await readProblemDir(opts.operatorDir, opts.operatorDir)) merged.set(name, p);
  }
  const exclude = new Set(opts.exclude ?? []);
  return [...merged.values()].filter((p) => !exclude.has(p.id)).sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/** The ids of the problems that are the infrastructure's fault ({@link KnownProblem.infrastructure}). */
export function infrastructureProblemIds(problems: readonly KnownProblem[]): Set<string> {
  return new Set(problems.filter((p) => p.infrastructure).map((p) => p.id));
}

interface CompiledProblem {
  id: string;
  where: ReadonlySet<string>;
  /** Global, multi-line: finds candidate lines in the whole log. */
  include: RegExp;
  /** Tested on one line. */
  exclude: RegExp | null;
  infrastructure: boolean;
}

/**
 * Known problems compiled once, to classify many logs. Matching follows
 * piuparts (dwke.py `has_problem`, and `grep -E PATTERN | grep -v -E
 * EXCLUDE_PATTERN`): a problem is found when some line of the log matches
 * PATTERN and that same line does not match EXCLUDE_PATTERN. The log is
 * searched as a whole and only candidate lines are looked at, so a 1 MB log
 * costs one regex scan per problem.
 */
export class KnownProblemClassifier {
  readonly #compiled: CompiledProblem[];

  /** @throws Error when a pattern does not compile (not for problems from {@link parseKnownProblem}, which checks them). */
  constructor(problems: readonly KnownProblem[]) {
    this.#compiled = problems.map((p) => ({
      id: p.id,
      where: new Set(p.where),
      include: new RegExp(posixEreToJs(p.pattern), 'gm'),
      exclude: p.excludePattern ? new RegExp(posixEreToJs(p.excludePattern)) : null,
      infrastructure: p.infrastructure,
    }));
  }

  /**
   * The ids of the problems found in a log, in the order the problems were
   * given.
   *
   * @param log the whole log text. Lines end at `\n`, `\r\n`, `\r`,
   *   U+2028 or U+2029, as Python's splitlines() (which piuparts uses) cuts
   *   them.
   * @param kind which kind of log it is; only problems whose WHERE lists
   *   it are looked for. Kiln's `fail` results are piuparts' `fail` logs.
   */
  classify(log: string, kind: ProblemLogKind): string[] {
    const found: string[] = [];
    for (const p of this.#compiled) {
      if (p.where.has(kind) && matches(p, log)) found.push(p.id);
    }
    return found;
  }

  /** The ids of the infrastructure problems among the classifier's problems. */
  get infrastructureIds(): ReadonlySet<string> {
    return new Set(this.#compiled.filter((p) => p.infrastructure).map((p) => p.id));
  }

  /** Whether any of these problem ids is an infrastructure problem (the result should be dropped and the package tested again). */
  isInfrastructure(ids: readonly string[]): boolean {
    return ids.some((id) => this.#compiled.some((p) => p.id === id && p.infrastructure));
  }
}

function isLineBreak(c: number): boolean {
  return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
}

function matches(p: CompiledProblem, log: string): boolean {
  const re = p.include;
  re.lastIndex = 0;
  const n = log.length;
  for (;;) {
    const m = re.exec(log);
    if (!m) return false;
    const at = m.index;
    if (m[0] === '') {
      // An empty match after the final line break is on no line, and \r\n is one break.
      if (at === n && (n === 0 || isLineBreak(log.charCodeAt(n - 1)))) return false;
      if (log.charCodeAt(at - 1) === 13 && log.charCodeAt(at) === 10) {
        re.lastIndex = at + 1;
        continue;
      }
    }
    let lineStart = at;
    while (lineStart > 0 && !isLineBreak(log.charCodeAt(lineStart - 1))) lineStart--;
    let lineEnd = at;
    while (lineEnd < n && !isLineBreak(log.charCodeAt(lineEnd))) lineEnd++;
    if (!p.exclude || !p.exclude.test(log.slice(lineStart, lineEnd))) return true;
    if (lineEnd >= n) return false;
    re.lastIndex = lineEnd + 1;
  }
}

/**
 * Classify one log with a fresh classifier. For many logs, build one
 * {@link KnownProblemClassifier} and reuse it.
 *
 * @returns the ids of the problems found, in the order of `problems`.
 */
export function classifyLog(problems: readonly KnownProblem[], log: string, kind: ProblemLogKind): string[] {
  return new KnownProblemClassifier(problems).classify(log, kind);
}
