// Errors raised by confd's functions. The message is exactly the text Go's error value would
// print, so an engine can wrap it the way text/template does ("error calling getv: ...").

export class ConfdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfdError';
  }
}

/** memkv's KeyError: "key does not exist: /the/key". */
export class KeyNotFoundError extends ConfdError {
  readonly key: string;
  constructor(key: string) {
    super(`key does not exist: ${key}`);
    this.name = 'KeyNotFoundError';
    this.key = key;
  }
}
