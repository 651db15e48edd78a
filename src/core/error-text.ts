// The one way steward turns a caught value into the text of a log line or an error message:
// an Error's message (not its stack, not its class name), or the value itself as a string.

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
