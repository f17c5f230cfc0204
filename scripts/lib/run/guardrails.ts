/**
 * Guardrails for a patch before anything applies it: size and shape limits,
 * no binary content, no symlinks or gitlinks, and every path relative,
 * inside the repository and outside `.git`. Pure: applying happens elsewhere.
 *
 * Paths are taken from every place a patch tool may read them, not only from
 * what `parsePatch` keeps: in a git diff the `--- a/x` / `+++ b/x` lines
 * override `rename to` / `copy to` and the `diff --git` header in its result,
 * so those header lines are scanned here as well.
 *
 * Paths are read the way the apply chain reads them (`git apply`, `patch
 * -p1`): a `diff --git` header's names lose their `a/`/`b/` prefix, and a
 * `---`/`+++`/`Index:` name loses its first component whatever it is
 * (`diff -ru orig new` writes `--- orig/src/x.py`: the file is `src/x.py`).
 *
 * What passes is returned as `text`, the exact text that was checked (LF line
 * ends, without a format-patch preamble or signature): that, not the original,
 * is what must be applied, since `patch` also reads formats hidden in the parts
 * dropped here (an `Index:` line plus an ed script in a commit message).
 */
// The one parser, not the package index: the index loads the whole library (19 modules, ~30 ms of start-up under tsx).
import { parsePatch } from 'diff/lib/patch/parse.js';
import type { PatchLimits } from '../core/config.js';
import { gitHeaderNames, stripComponent, stripGitPrefix, unquoteGitPath } from '../core/diff.js';

export type PatchCheck =
  | {
      ok: true;
      files: string[];
      hunks: number;
      /** Size of the patch as given, in UTF-8 bytes. */
      bytes: number;
      /** The text that was checked, the one to apply: LF line ends, no format-patch preamble or signature. */
      text: string;
    }
  | { ok: false; reason: string };

/** A value quoted for a one-line reason: control characters escaped, long values cut. */
function show(value: string): string {
  const cut = value.length > 200 ? `${value.slice(0, 200)}...` : value;
  const escaped = cut.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `"${escaped}"`;
}

class Rejection extends Error {}

function reject(reason: string): never {
  throw new Rejection(reason);
}

/** unquoteGitPath, rejecting the patch when the quoting is malformed. */
function unquote(s: string): string {
  const out = unquoteGitPath(s);
  if (out === null) reject(`unparseable quoted path ${show(s)}`);
  return out;
}

/**
 * Check one path and return it normalised (`.` and empty segments dropped).
 * `strip` says how the apply chain reads it: `git` drops an `a/`/`b/` prefix
 * (`diff --git` headers), `p1` drops the first component (`---`/`+++`/`Index:`
 * names, `patch -p1`), `none` keeps it (`rename to` and the like).
 *
 * Rejects absolute paths (including `a//etc/x`), Windows drive letters, any
 * `..` segment (even one that would resolve inside the repo: patch tools
 * refuse them too) and any `.git` segment at any depth (case-insensitive,
 * trailing dots/spaces ignored, as on case-insensitive or NTFS-like file
 * systems). With `p1`, the component that is dropped may not be `..`, `.git`
 * or a root / drive letter either.
 */
function checkPath(raw: string, strip: 'git' | 'p1' | 'none', where: string): string {
  let p = raw;
  if (strip === 'git') p = stripGitPrefix(p);
  if (strip === 'p1') {
    const first = raw.split(/[\\/]/)[0]!;
    if (raw.startsWith('/') || raw.startsWith('\\')) reject(`absolute path ${show(raw)} in ${where}`);
    if (/^[A-Za-z]:/.test(raw)) reject(`absolute Windows path ${show(raw)} in ${where}`);
    if (first === '..') reject(`path ${show(raw)} escapes the repository ('..') in ${where}`);
    if (isGitDir(first)) reject(`path ${show(raw)} is inside .git in ${where}`);
    p = stripComponent(p);
  }
  if (p === '') reject(`empty path in ${where}`);
  if (p.startsWith('/') || p.startsWith('\\')) reject(`absolute path ${show(raw)} in ${where}`);
  if (/^[A-Za-z]:/.test(p)) reject(`absolute Windows path ${show(raw)} in ${where}`);
  const segments = p.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  if (segments.length === 0) reject(`empty path ${show(raw)} in ${where}`);
  if (segments.includes('..')) reject(`path ${show(raw)} escapes the repository ('..') in ${where}`);
  if (segments.some(isGitDir)) reject(`path ${show(raw)} is inside .git in ${where}`);
  return segments.join('/');
}

function isGitDir(segment: string): boolean {
  return segment.replace(/[. ]+$/, '').toLowerCase() === '.git';
}


const DIFF_CONTENT_RE = /^(?:[-+ @\\]|diff )/;

/** True when `lines` hold something a patch tool would apply: a hunk header, or a `---` line followed by `+++`. */
function hasDiffContent(lines: string[]): boolean {
  return lines.some((l, i) => /^@@ -\d/.test(l) || (l.startsWith('--- ') && (lines[i + 1] ?? '').startsWith('+++ ')));
}

/**
 * The diff proper, without a format-patch preamble (mail headers, commit
 * message, diffstat: anything before the first `diff --git`, unless it holds
 * a diff of its own, which `git apply` would apply too) and without a trailing
 * `-- ` signature: `lines` with CRLF line ends made LF (what is checked), and
 * `text`, the same lines as the one to apply. `text` is all LF when the patch
 * is (a CRLF patch); otherwise a line keeps a CR it ends with, content of a
 * file with CRLF line ends, which only matters inside hunks (git, patch and
 * the parser here all split lines on LF alone, so the lines are the same).
 */
function diffLines(original: string): { lines: string[]; text: string } {
  const raw = original.split('\n');
  const last = raw.length - 1;
  let lines = raw.map((l, i) => (i < last && l.endsWith('\r') ? l.slice(0, -1) : l));
  let start = 0;
  let end = lines.length;
  const first = lines.findIndex((l) => l.startsWith('diff --git '));
  if (first > 0 && !hasDiffContent(lines.slice(0, first))) start = first;
  if (first >= 0) {
    const sig = lines.lastIndexOf('-- ');
    if (sig > start) {
      const after = lines.slice(sig + 1);
      if (after.some((l) => l.trim() !== '') && after.every((l) => !DIFF_CONTENT_RE.test(l))) end = sig;
    }
  }
  lines = lines.slice(start, end);
  const crlfPatch = last > 0 && raw.slice(0, last).every((l) => l.endsWith('\r'));
  const text = (crlfPatch ? lines : raw.slice(start, end)).join('\n');
  return { lines, text: text.endsWith('\n') || text === '' ? text : `${text}\n` };
}

/** Mode of a symlink / gitlink (submodule) entry in git's extended headers. */
const SPECIAL_MODES: Record<string, string> = { '120000': 'symlink', '160000': 'gitlink (submodule)' };

function checkOrThrow(text: string, limits: PatchLimits): { files: string[]; hunks: number; bytes: number; text: string } {
  const bytes = checkSize(text, limits);
  const { lines, text: checked } = diffLines(text);
  const files = checkHeaders(lines);
  const hunks = checkFileDiffs(lines, files, bytes);
  const list = [...files].sort();
  if (list.length > limits.maxFiles) {
    reject(`patch touches ${list.length} files, over the limit of ${limits.maxFiles} files`);
  }
  if (hunks > limits.maxHunks) reject(`patch has ${hunks} hunks, over the limit of ${limits.maxHunks} hunks`);
  return { files: list, hunks, bytes, text: checked };
}

/** Not empty, not too large, no NUL byte; returns the size in UTF-8 bytes. */
function checkSize(text: string, limits: PatchLimits): number {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (text.trim() === '') reject(`empty patch (${bytes} bytes, no diff)`);
  if (bytes > limits.maxBytes) reject(`patch is ${bytes} bytes, over the limit of ${limits.maxBytes} bytes`);
  const nul = text.indexOf('\0');
  if (nul >= 0) reject(`binary content: NUL byte on line ${text.slice(0, nul).split('\n').length}`);
  return bytes;
}

/**
 * The git extended headers and `Index:` lines: every path they name (checked),
 * no symlink, gitlink or binary entry. None of them can be a hunk line (those
 * start with ' ', '+', '-', '\' or are empty), so scanning every line is safe.
 */
function checkHeaders(lines: string[]): Set<string> {
  const files = new Set<string>();
  let current = '(patch)';
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    let m: RegExpExecArray | null;
    if (line.startsWith('diff --git ')) {
      current = checkGitHeader(line.slice('diff --git '.length), where, files);
    } else if ((m = /^(rename|copy) (from|to) (.*)$/.exec(line))) {
      files.add(checkPath(unquote(m[3]!), 'none', `"${m[1]} ${m[2]}" header (${where})`));
    } else if ((m = /^Index: (.*)$/.exec(line))) {
      // patch reads the name of an ed-style or plain diff from here (stripped like the others).
      files.add(checkPath(m[1]!.trim(), 'p1', `"Index:" header (${where})`));
    } else if ((m = /^(new file mode|new mode) (\d+)\s*$/.exec(line)) && SPECIAL_MODES[m[2]!]) {
      reject(`${SPECIAL_MODES[m[2]!]} not allowed: "${m[1]} ${m[2]}" for ${show(current)} (${where})`);
    } else if ((m = /^index [0-9a-f]+\.\.[0-9a-f]+ (\d+)\s*$/.exec(line)) && SPECIAL_MODES[m[1]!]) {
      reject(`${SPECIAL_MODES[m[1]!]} not allowed: modifies mode ${m[1]} entry ${show(current)} (${where})`);
    } else if (line.startsWith('GIT binary patch')) {
      reject(`binary content: "GIT binary patch" for ${show(current)} (${where})`);
    } else if (/^Binary files .* differ\s*$/.test(line)) {
      reject(`binary content: ${show(line.trimEnd())} (${where})`);
    }
  });
  return files;
}

/** Both names of a `diff --git` header, checked and added to `files`; returns the file it is about. */
function checkGitHeader(rest: string, where: string, files: Set<string>): string {
  const names = gitHeaderNames(rest);
  if (names) {
    const [a, b] = names.map((n) => checkPath(n, 'git', `diff --git header (${where})`));
    files.add(a!).add(b!);
    return b!;
  }
  if (rest.includes('"')) reject(`unparseable quoted path in diff --git header ${show(rest)} (${where})`);
  for (const word of rest.split(/\s+/).filter(Boolean)) checkPath(word, 'git', `diff --git header (${where})`);
  return rest;
}

/** The file diffs as `patch` reads them: every `---`/`+++`/`Index:` name checked into `files`; returns the hunk count. */
function checkFileDiffs(lines: string[], files: Set<string>, bytes: number): number {
  let parsed: ReturnType<typeof parsePatch>;
  try {
    parsed = parsePatch(lines.join('\n'));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    reject(`patch does not parse: ${msg.split('\n')[0]}`);
  }
  let hunks = 0;
  let fileDiffs = 0;
  for (const entry of parsed) {
    const names = [entry.oldFileName, entry.newFileName].filter((n): n is string => n !== undefined);
    if (names.length === 0 && entry.index === undefined) {
      if (entry.hunks.length > 0) reject(`hunk without file names (${entry.hunks.length} hunks before any "---"/"+++" header)`);
      continue; // prose around the diff
    }
    fileDiffs++;
    if (entry.isBinary) reject(`binary content for ${show(entry.newFileName ?? entry.oldFileName ?? '')}`);
    for (const name of names) {
      if (name !== '/dev/null') files.add(checkPath(name, 'p1', `file header of ${show(name)}`));
    }
    if (entry.index !== undefined && names.length === 0) files.add(checkPath(entry.index.trim(), 'p1', `"Index:" header`));
    hunks += entry.hunks.length;
  }
  if (fileDiffs === 0) reject(`no file diffs found in ${bytes} bytes`);
  return hunks;
}

/**
 * Check a patch against the guardrails. On success, `files` lists every path
 * it names, as the apply chain reads them (both sides of a rename/copy;
 * `a/`/`b/` stripped from `diff --git` headers, the first component from
 * `---`/`+++`/`Index:` names as `patch -p1` does; `/dev/null` left out),
 * deduplicated and sorted; `hunks` counts hunks over all files; `bytes` is its
 * size in UTF-8; `text` is what was checked and what must be applied (LF line
 * ends, a format-patch preamble and `-- ` signature removed, ending in a
 * newline). On failure, `reason` is one line naming the offending value and,
 * for limits, the limit.
 *
 * Accepted: git diffs (renames and mode changes without hunks, new and
 * deleted files, `\ No newline at end of file`), plain unified diffs (any
 * first component: `diff -ru orig new`), CRLF line ends, `git format-patch`
 * mails (preamble and `-- ` signature dropped from `text`).
 */
export function checkPatch(text: string, limits: PatchLimits): PatchCheck {
  try {
    return { ok: true, ...checkOrThrow(text, limits) };
  } catch (err) {
    if (err instanceof Rejection) return { ok: false, reason: err.message };
    throw err;
  }
}
