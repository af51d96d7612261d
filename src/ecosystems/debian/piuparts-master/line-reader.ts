/**
 * Read a byte stream line by line, on demand, for the piuparts protocol.
 *
 * Lines end with `\n` only (a `\r` stays part of the line: piuparts-slave
 * never sends one, and Node's readline would split on it). Bytes are decoded
 * as UTF-8, invalid sequences becoming U+FFFD. A last fragment without `\n`
 * is not a line: it is dropped at end of input, so a command cut off by a
 * dropped connection is never acted on.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** Thrown by {@link LineReader.readLine} when a line grows past the reader's limit. */
export class LineTooLongError extends Error {
  constructor(limit: number) {
    super(`line longer than ${limit} characters`);
    this.name = 'LineTooLongError';
  }
}

/** Buffered lines above which the input is paused (backpressure for long logs). */
const HIGH_WATER_LINES = 2048;

/** Pulls lines from a Readable one at a time. Attach it before the stream flows. */
export class LineReader {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private lines: string[] = [];
  private next = 0;
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private readonly input: Readable;
  private readonly maxLineChars: number;

  /**
   * @param input the byte stream; the reader takes its `data` events.
   * @param maxLineChars the longest line accepted, in characters, not
   *   counting the `\n`; a longer one makes `readLine` throw
   *   {@link LineTooLongError} (after the lines before it were read).
   */
  constructor(input: Readable, maxLineChars: number) {
    this.input = input;
    this.maxLineChars = maxLineChars;
    input.on('data', (chunk: Buffer | string) => this.push(typeof chunk === 'string' ? chunk : this.decoder.write(chunk)));
    input.on('end', () => this.finish());
    input.on('close', () => this.finish());
    input.on('error', (err: Error) => {
      this.failure ??= err;
      this.finish();
    });
  }

  /**
   * The next line without its `\n`.
   * @returns null at end of input (or once the input closed).
   * @throws LineTooLongError, or the input stream's error, once the lines
   *   received before it have been read.
   */
  async readLine(): Promise<string | null> {
    for (;;) {
      if (this.next < this.lines.length) {
        const line = this.lines[this.next++]!;
        if (this.next === this.lines.length) {
          this.lines = [];
          this.next = 0;
        }
        if (this.input.isPaused() && !this.failure && this.lines.length - this.next < HIGH_WATER_LINES / 2) this.input.resume();
        return line;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private push(text: string): void {
    if (this.failure || this.ended) return;
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    for (const line of parts) {
      if (line.length > this.maxLineChars) return this.fail(new LineTooLongError(this.maxLineChars));
      this.lines.push(line);
    }
    if (this.partial.length > this.maxLineChars) return this.fail(new LineTooLongError(this.maxLineChars));
    if (this.lines.length - this.next > HIGH_WATER_LINES) this.input.pause();
    this.signal();
  }

  private fail(err: Error): void {
    this.failure = err;
    this.input.pause();
    this.signal();
  }

  private finish(): void {
    this.ended = true;
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
