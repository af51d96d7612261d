/**
 * POSIX extended regular expressions (grep -E), as known-problem files
 * write their patterns, translated to JavaScript RegExp source. See
 * known-problems.ts for how they are matched.
 */

/** The characters that end a line: JavaScript's line terminators (Python's splitlines(), which piuparts uses, also splits at each). */
export const LINE_BREAKS = '\\n\\r\\u2028\\u2029';

/** What each POSIX character class stands for inside a JavaScript `[…]` (never a line break: lines have none). */
const POSIX_CLASSES: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\f\\v',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9A-Fa-f',
  print: ' -~',
  graph: '!-~',
  cntrl: '\\x00-\\x09\\x0b\\x0c\\x0e-\\x1f\\x7f',
  word: 'A-Za-z0-9_',
};

/**
 * Translate a POSIX extended regular expression, as grep -E reads it, to
 * JavaScript RegExp source with the same matches on a single line:
 * bracket expressions with POSIX classes (`[[:space:]]`), a backslash
 * taken literally inside brackets, GNU's `\<` `\>` word boundaries and
 * `{,n}` intervals, and a `{` or `]` that starts nothing taken literally.
 * As in Python's re (which piuparts uses), `\t` is a tab and `\d` a digit.
 * Nothing in the result matches a line break ({@link LINE_BREAKS}), so a
 * multi-line (`m` flag) search of a whole log finds exactly the matches a
 * line-by-line one does.
 *
 * @throws Error (a plain message, no position in a file) for a trailing
 *   backslash, an unterminated bracket or an unknown `[:class:]`.
 */
export function posixEreToJs(pattern: string): string {
  let out = '';
  let i = 0;
  const n = pattern.length;
  // Whether the last thing emitted can take a repetition (`*`, `+`, `?`,
  // `{m,n}`); where it cannot, POSIX (and GNU grep) read those literally.
  let atom = false;
  while (i < n) {
    const c = pattern[i]!;
    if (c === '\\') {
      const e = pattern[i + 1];
      if (e === undefined) throw new Error('trailing backslash');
      i += 2;
      if (e === '<' || e === '>') out += '\\b';
      else if (e === 's') out += `[^\\S${LINE_BREAKS}]`;
      else if (e === 'W') out += `[^\\w${LINE_BREAKS}]`;
      else if (e === 'D') out += `[^\\d${LINE_BREAKS}]`;
      else if ('SwbBd'.includes(e)) out += `\\${e}`;
      else if (e === 't') out += '\\t';
      else if (e === 'n' || e === '\n') out += '(?!)';
      else if (e === '`') out += '^';
      else if (e === "'") out += '$';
      else if (/[1-9]/.test(e)) out += `\\${e}`;
      else if (/[A-Za-z0-9]/.test(e)) out += e;
      else out += `\\${e}`;
      atom = !'<>bB`\''.includes(e);
    } else if (c === '[') {
      const [js, next] = bracket(pattern, i);
      out += js;
      i = next;
      atom = true;
    } else if (c === '{') {
      const m = /^\{(\d*)(,(\d*))?\}/.exec(pattern.slice(i));
      if (atom && m && (m[1] !== '' || m[2] !== undefined)) {
        out += m[2] === undefined ? `{${m[1]}}` : `{${m[1] === '' ? '0' : m[1]},${m[3]}}`;
        i += m[0].length;
        atom = false;
      } else {
        out += '\\{';
        i++;
        atom = true;
      }
    } else if (c === '*' || c === '+' || c === '?') {
      // After a repetition, `?` makes it lazy in JS: the same lines match.
      const repeats: boolean = atom || (c === '?' && /[*+?}]$/.test(out) && !/\\[*+?}]$/.test(out));
      out += repeats ? c : `\\${c}`;
      atom = !repeats;
      i++;
    } else if (c === '}' || c === ']' || c === '/') {
      out += `\\${c}`;
      atom = true;
      i++;
    } else if (c === '\n') {
      out += '(?!)';
      atom = false;
      i++;
    } else {
      out += c;
      atom = c !== '(' && c !== '|' && c !== '^' && c !== '$';
      i++;
    }
  }
  return out;
}

/** Translate the bracket expression starting at `pattern[start]` (`[`). @returns its JS form and the index after it. */
function bracket(pattern: string, start: number): [string, number] {
  let i = start + 1;
  let negate = false;
  if (pattern[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  for (;;) {
    const c = pattern[i];
    if (c === undefined) throw new Error(`unterminated bracket expression at offset ${start}`);
    if (c === ']' && !first) {
      i++;
      break;
    }
    first = false;
    if (c === '[' && (pattern[i + 1] === ':' || pattern[i + 1] === '=' || pattern[i + 1] === '.')) {
      const kind = pattern[i + 1]!;
      const end = pattern.indexOf(`${kind}]`, i + 2);
      if (end < 0) throw new Error(`unterminated [${kind} in bracket expression at offset ${start}`);
      const name = pattern.slice(i + 2, end);
      if (kind === ':') {
        const cls = POSIX_CLASSES[name];
        if (cls === undefined) throw new Error(`unknown character class [:${name}:]`);
        body += cls;
      } else {
        body += escapeClassChars(name);
      }
      i = end + 2;
      continue;
    }
    body += escapeClassChars(c);
    i++;
  }
  return [`[${negate ? '^' : ''}${body}${negate ? LINE_BREAKS : ''}]`, i];
}

/** Escape characters special inside a JS class; `-` keeps its range meaning, as in POSIX. */
function escapeClassChars(s: string): string {
  return s.replace(/[\\\]^[]/g, (c) => `\\${c}`);
}
