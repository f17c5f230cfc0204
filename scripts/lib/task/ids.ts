/**
 * The naming rules every task input shares: task and instance ids (they name
 * run directories and containers, so they stay filesystem- and docker-safe),
 * repository names, refs, and the control-character check.
 */
import { HarnessError } from '../core/errors.js';

/** Letters, digits, ".", "_" and "-": safe in a path and a container name. */
export const ID_RE = /^[A-Za-z0-9._-]+$/;
export const ID_MAX = 128;
/** `owner/name`, as SWE-bench rows and specs write a repository. */
export const REPO_NAME_RE = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

export const REF_RULE = 'must be a commit id, tag or branch (no whitespace, no leading "-", no "..")';

export function hasControlChars(s: string): boolean {
  return /[\u0000-\u001f\u007f]/.test(s);
}

/** Problem with a task or instance id, or null when it is fine. */
export function idProblem(id: unknown): string | null {
  if (typeof id !== 'string' || id === '') return 'must be a non-empty string';
  if (!ID_RE.test(id) || /^\.+$/.test(id)) return 'may only contain letters, digits, ".", "_" and "-" (and not only dots)';
  if (id.length > ID_MAX) return `must be at most ${ID_MAX} characters`;
  return null;
}

/** A ref git can check out and no tool reads as an option or a range. */
export function refIsSafe(ref: string): boolean {
  return ref !== '' && !/\s/.test(ref) && !hasControlChars(ref) && !ref.startsWith('-') && !ref.includes('..');
}

/** An unknown id, naming a few known ones (a SWE-bench file has thousands: the message stays one readable line). */
export function unknownIdError(what: string, id: string, known: readonly string[]): HarnessError {
  const listed = known.slice(0, 10).join(', ') + (known.length > 10 ? `, ... (${known.length} in all)` : '');
  return new HarnessError('task', `unknown ${what} id ${JSON.stringify(id)}; known ids: ${known.length ? listed : '(none)'}`);
}
