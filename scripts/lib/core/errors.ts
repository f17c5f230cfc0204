/**
 * The one error type of the harness. Library code throws it; only the entry
 * scripts catch it, print `error: <message>` on one line and exit with the
 * code that belongs to `code` (see EXIT_CODES and the README).
 */
export type ErrorCode =
  | 'usage' // bad CLI argument or value
  | 'task' // bad task file / unknown task id
  | 'engine' // Docker engine not reachable
  | 'image' // image missing or could not be built
  | 'internal'; // a bug or an unexpected infrastructure failure

/** Process exit codes. Run outcomes (passed/failed/...) map onto these too. */
export const EXIT_CODES = {
  passed: 0,
  failed: 1,
  usage: 2,
  task: 2,
  engine: 3,
  image: 3,
  error: 3,
  internal: 3,
  timeout: 4,
  patch_rejected: 5,
  patch_failed: 5,
  interrupted: 130,
} as const;

export class HarnessError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarnessError';
    this.code = code;
  }
  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** The first non-empty line of a tool's output, trimmed ('' for none). */
export function firstLine(text: unknown): string {
  const s = typeof text === 'string' ? text : '';
  return s.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
}

/** Message of anything thrown, on one line. */
export function errorMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return firstLine(msg) || msg;
}
