/**
 * Kiln's error types. Only the CLI entry point turns these into exit codes;
 * everything else throws.
 */

/** A failure with a one-line message meant for the user, and a process exit code. */
export class KilnError extends Error {
  /** Process exit code the CLI uses for this error (2 for usage or config errors, 1 otherwise). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'KilnError';
    this.exitCode = exitCode;
  }
}

/** A bad configuration value: the message names the key and what was expected. Exit code 2. */
export class ConfigError extends KilnError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'ConfigError';
  }
}

/** The database schema does not match this Kiln (too old: run `kiln initdb`; too new: upgrade Kiln). */
export class SchemaVersionError extends KilnError {
  constructor(message: string) {
    super(message, 3);
    this.name = 'SchemaVersionError';
  }
}

/**
 * An error with an HTTP status, thrown by master routes and turned into a
 * JSON body `{ error: code, message }` by the API's error handler.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
  }
}
