/**
 * deb822 control data: the paragraph format of Packages and Sources
 * indexes, Debian Policy §5.1
 * <https://www.debian.org/doc/debian-policy/ch-controlfields.html#syntax-of-control-files>
 * and deb822(5) <https://manpages.debian.org/deb822>.
 *
 * A paragraph is a run of `Field: value` lines; a line starting with a
 * space or tab continues the previous field; one or more blank lines (or
 * lines of only spaces and tabs) separate paragraphs. Field names compare
 * case-insensitively.
 */

/** A control file that does not follow Policy §5.1. */
export class ControlSyntaxError extends Error {
  constructor(
    /** 1-based line number of the offending line. */
    readonly line: number,
    reason: string,
  ) {
    super(`control data line ${line}: ${reason}`);
    this.name = 'ControlSyntaxError';
  }
}

/**
 * One paragraph (stanza). Values keep their continuation lines: the first
 * line's text is trimmed, and each continuation line follows after a `\n`
 * with its leading white space intact, so multiline fields such as
 * Description can be rendered and folded fields such as Depends can be
 * handed to the relation parser as they are.
 */
export class ControlParagraph {
  readonly #fields = new Map<string, { name: string; value: string }>();

  /**
   * Add a field.
   * @throws Error when the paragraph already has a field of that name, in
   *   any case (Policy §5.1 forbids duplicates).
   */
  set(name: string, value: string): void {
    const key = name.toLowerCase();
    if (this.#fields.has(key)) throw new Error(`duplicate field ${name}`);
    this.#fields.set(key, { name, value });
  }

  /** The value of a field, looked up case-insensitively, or undefined. */
  get(name: string): string | undefined {
    return this.#fields.get(name.toLowerCase())?.value;
  }

  /** Whether the paragraph has a field, looked up case-insensitively. */
  has(name: string): boolean {
    return this.#fields.has(name.toLowerCase());
  }

  /** The fields in file order, with names spelled as in the file. */
  *entries(): IterableIterator<[name: string, value: string]> {
    for (const f of this.#fields.values()) yield [f.name, f.value];
  }

  /** Number of fields. */
  get size(): number {
    return this.#fields.size;
  }
}

/** Options for reading control data. */
export interface ControlOptions {
  /**
   * Skip lines starting with `#`. Policy §5.1 allows comments only in
   * `debian/control`, so index files are read with this off (the default)
   * and a `#` line there is a syntax error.
   */
  comments?: boolean;
}

// Field names: US-ASCII printable except space and colon, not starting
// with `#` or `-` (Policy §5.1).
const FIELD_NAME = /^[!"$-,.-9;-~][!-9;-~]*$/;

/**
 * Incremental paragraph builder: feed lines one at a time, so a 100 MB
 * index never has to be held as one string. Used by both
 * {@link parseControl} and {@link readControlParagraphs}.
 */
export class ControlParser {
  #line = 0;
  #current: ControlParagraph | null = null;
  #lastName: string | null = null;
  #lastValue = '';
  #lastLine = 0;
  readonly #comments: boolean;

  /** A parser at the start of a file. */
  constructor(options: ControlOptions = {}) {
    this.#comments = options.comments ?? false;
  }

  /**
   * Feed one line (without its line terminator; a trailing `\r` is
   * dropped).
   * @returns the paragraph this line completed, or null.
   * @throws ControlSyntaxError on a line that is neither a field, a
   *   continuation nor blank, on a continuation with no field before it,
   *   and on a duplicate field.
   */
  push(rawLine: string): ControlParagraph | null {
    this.#line++;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) {
      if (/^[ \t]*$/.test(line)) return this.finish();
      if (this.#lastName === null) throw new ControlSyntaxError(this.#line, 'continuation line before any field');
      this.#lastValue += '\n' + line.trimEnd();
      return null;
    }
    if (line.length === 0) return this.finish();
    if (this.#comments && first === 35) return null;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!FIELD_NAME.test(name)) {
      throw new ControlSyntaxError(this.#line, `expected "Field: value", got ${JSON.stringify(line.slice(0, 80))}`);
    }
    this.#flushField();
    this.#current ??= new ControlParagraph();
    this.#lastName = name;
    this.#lastLine = this.#line;
    this.#lastValue = line.slice(colon + 1).trim();
    return null;
  }

  /**
   * Signal the end of input (or a blank line).
   * @returns the paragraph in progress, or null when there is none.
   * @throws ControlSyntaxError when the last field is a duplicate.
   */
  finish(): ControlParagraph | null {
    this.#flushField();
    const done = this.#current;
    this.#current = null;
    return done;
  }

  #flushField(): void {
    if (this.#lastName === null || this.#current === null) return;
    try {
      this.#current.set(this.#lastName, this.#lastValue);
    } catch (err) {
      throw new ControlSyntaxError(this.#lastLine, (err as Error).message);
    }
    this.#lastName = null;
    this.#lastValue = '';
  }
}

/**
 * Parse a whole control file held in memory.
 * @returns the paragraphs in file order.
 * @throws ControlSyntaxError as {@link ControlParser.push} does.
 */
export function parseControl(text: string, options: ControlOptions = {}): ControlParagraph[] {
  const parser = new ControlParser(options);
  const out: ControlParagraph[] = [];
  for (const line of text.split('\n')) {
    const p = parser.push(line);
    if (p) out.push(p);
  }
  const last = parser.finish();
  if (last) out.push(last);
  return out;
}

/**
 * Read paragraphs from a stream of text lines (for example
 * `readline.createInterface` over a decompressed index), holding only one
 * paragraph at a time.
 * @throws ControlSyntaxError as {@link ControlParser.push} does, and
 *   whatever the line source throws.
 */
export async function* readControlParagraphs(
  lines: AsyncIterable<string> | Iterable<string>,
  options: ControlOptions = {},
): AsyncGenerator<ControlParagraph> {
  const parser = new ControlParser(options);
  for await (const line of lines) {
    const p = parser.push(line);
    if (p) yield p;
  }
  const last = parser.finish();
  if (last) yield last;
}
