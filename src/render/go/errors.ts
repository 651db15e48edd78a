// Errors that template functions throw. The message is exactly the text Go's error value would
// print, so the executor can wrap it the way text/template does ("error calling getv: ...").

/** An error returned (or a panic raised) by a Go function. */
export class GoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoError';
  }
}

/**
 * A function's data source has no such key. Any dialect's lookup functions throw it, with their
 * own text; the executor copies the key onto the TemplateError so that callers can wait for it.
 */
export class MissingKeyError extends GoError {
  readonly key: string;
  constructor(key: string, message: string) {
    super(message);
    this.name = 'MissingKeyError';
    this.key = key;
  }
}
