/**
 * Reading unified diffs as git and `patch -p1` read them: git's quoted paths,
 * `diff --git` header names, and the files a patch touches. Pure; shared by the
 * patch guardrails, SWE-bench test patches and the agent's own diff.
 */

/**
 * Undo git's C-style quoting of a path (`"a/t\303\251st.py"`, `"a/tab\there"`);
 * unquoted text is returned as is, and anything after the closing quote is
 * ignored (a `---` line's timestamp). Null when the quoting is malformed (an
 * unknown escape, no closing quote).
 */
export function unquoteGitPath(s: string): string | null {
  if (!s.startsWith('"')) return s;
  const bytes: number[] = [];
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34 };
  let j = 1;
  for (; j < s.length; j++) {
    const c = s[j]!;
    if (c === '"') break;
    if (c === '\\') {
      const e = s[j + 1] ?? '';
      if (/^[0-7]{3}$/.test(s.slice(j + 1, j + 4))) {
        bytes.push(Number.parseInt(s.slice(j + 1, j + 4), 8));
        j += 3;
      } else if (e in simple) {
        bytes.push(simple[e]!);
        j += 1;
      } else {
        return null;
      }
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  if (j >= s.length) return null;
  return Buffer.from(bytes).toString('utf8');
}

/** A `diff --git` header name without its `a/` or `b/` prefix. */
export function stripGitPrefix(name: string): string {
  return name.startsWith('a/') || name.startsWith('b/') ? name.slice(2) : name;
}

/**
 * A `---`/`+++`/`Index:` name as `git apply` and `patch -p1` read it: without
 * its first component, whatever it is (`orig/src/x.py` → `src/x.py`). A name
 * without a `/` is returned as is.
 */
export function stripComponent(name: string): string {
  const slash = name.indexOf('/');
  return slash < 0 ? name : name.slice(slash + 1);
}

/**
 * Old and new names of a `diff --git` header line (the text after `diff
 * --git `), unquoted but still prefixed (`a/x`, `b/x`); null when the line
 * cannot be split or its quoting is malformed.
 */
export function gitHeaderNames(rest: string): [string, string] | null {
  if (rest.startsWith('"')) {
    const close = findQuoteEnd(rest);
    if (close < 0 || rest[close + 1] !== ' ') return null;
    const oldName = unquoteGitPath(rest.slice(0, close + 1));
    const newName = unquoteGitPath(rest.slice(close + 2));
    return oldName !== null && newName !== null ? [oldName, newName] : null;
  }
  const q = rest.indexOf(' "');
  if (q > 0) {
    const newName = unquoteGitPath(rest.slice(q + 1));
    return newName !== null ? [rest.slice(0, q), newName] : null;
  }
  // Unquoted: split on the middle " b/" (old == new for every header git
  // writes without rename/copy lines; those lines are checked separately).
  const splits: number[] = [];
  for (let i = rest.indexOf(' b/'); i >= 0; i = rest.indexOf(' b/', i + 1)) splits.push(i);
  if (!rest.startsWith('a/') || splits.length === 0) return null;
  const mid = splits[Math.floor(splits.length / 2)]!;
  return [rest.slice(0, mid), rest.slice(mid + 1)];
}

function findQuoteEnd(s: string): number {
  for (let j = 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '"') return j;
  }
  return -1;
}
export type PatchFileKind = 'added' | 'modified' | 'deleted' | 'renamed' | 'copied';

/** One file of a patch. */
export interface PatchFile {
  /** Path after the patch (for a deleted file: its path before). */
  path: string;
  /** Path before the patch, or null for an added file. */
  old_path: string | null;
  kind: PatchFileKind;
}

// Paths are read with the guardrail's rules: the files it lets a
// patch touch and the test files taken from a test patch are the same names.

/** A quoted name (`"a/t\303\251st.py"`) unquoted; malformed quoting is kept as written. */
function unquoted(s: string): string {
  return unquoteGitPath(s) ?? s;
}

/**
 * Path of a `---`/`+++` line: null for /dev/null, a trailing timestamp
 * removed, the first component dropped as `git apply` and `patch -p1` do
 * (`a/x` → `x`, and `orig/src/x.py` → `src/x.py` in a `diff -ru` patch).
 */
function markerPath(raw: string): string | null {
  const p = raw.startsWith('"') ? unquoted(raw) : raw.split('\t')[0]!.replace(/\s+$/, '');
  if (p === '/dev/null') return null;
  return stripComponent(p);
}

/** The two paths of a `diff --git a/X b/Y` header (X and Y without prefixes), split as the guardrail splits it. */
function headerPaths(rest: string): { a: string | null; b: string | null } {
  const names = gitHeaderNames(rest);
  if (!names) return { a: null, b: null };
  return { a: stripGitPrefix(names[0]), b: stripGitPrefix(names[1]) };
}

interface FileBlock {
  headerA: string | null;
  headerB: string | null;
  minus: string | null | undefined; // undefined: no `---` line seen
  plus: string | null | undefined;
  renameFrom: string | null;
  renameTo: string | null;
  copyFrom: string | null;
  copyTo: string | null;
  newFile: boolean;
  deletedFile: boolean;
}

function emptyBlock(): FileBlock {
  return {
    headerA: null,
    headerB: null,
    minus: undefined,
    plus: undefined,
    renameFrom: null,
    renameTo: null,
    copyFrom: null,
    copyTo: null,
    newFile: false,
    deletedFile: false,
  };
}

function blockToFile(b: FileBlock): PatchFile | null {
  const deleted = b.deletedFile || (b.plus === null && b.minus !== undefined);
  const added = b.newFile || (b.minus === null && b.plus !== undefined);
  const oldPath = b.renameFrom ?? b.copyFrom ?? (b.minus !== undefined ? b.minus : b.headerA);
  const newPath = b.renameTo ?? b.copyTo ?? (b.plus !== undefined ? b.plus : b.headerB);
  if (deleted) {
    const p = oldPath ?? b.headerA ?? b.headerB;
    return p ? { path: p, old_path: p, kind: 'deleted' } : null;
  }
  if (added) {
    const p = newPath ?? b.headerB;
    return p ? { path: p, old_path: null, kind: 'added' } : null;
  }
  if (!newPath) return null;
  if (b.copyTo !== null) return { path: newPath, old_path: oldPath, kind: 'copied' };
  if (b.renameTo !== null || (oldPath !== null && oldPath !== newPath)) {
    return { path: newPath, old_path: oldPath, kind: 'renamed' };
  }
  return { path: newPath, old_path: oldPath, kind: 'modified' };
}

/**
 * Files of a unified diff (git or plain), in patch order. Hunk bodies are
 * skipped by their line counts, so a removed line `-- x` (`--- x` in the
 * patch) is never taken for a file header.
 */
export function patchFilesOf(patch: string): PatchFile[] {
  const lines = patch.replace(/\r\n/g, '\n').split('\n');
  const files: PatchFile[] = [];
  const hunk: HunkLeft = { old: 0, new: 0 };
  let block: FileBlock | null = null;
  const flush = () => {
    const f = block && blockToFile(block);
    if (f) files.push(f);
    block = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (insideHunk(hunk, line)) continue;
    if (line.startsWith('\\')) continue; // "\ No newline at end of file" after a hunk's last line
    if (line.startsWith('diff --git ')) {
      flush();
      const { a, b } = headerPaths(line.slice('diff --git '.length));
      block = { ...emptyBlock(), headerA: a, headerB: b };
    } else if (startsHunk(hunk, line)) {
      continue;
    } else if (line.startsWith('--- ') && (lines[i + 1] ?? '').startsWith('+++ ')) {
      // In a git block before its first hunk: its paths. Otherwise a plain diff's next file.
      if (!block || (block as FileBlock).minus !== undefined) {
        flush();
        block = emptyBlock();
      }
      const cur: FileBlock = block!;
      cur.minus = markerPath(line.slice(4));
      cur.plus = markerPath(lines[++i]!.slice(4));
    } else if (block) {
      readExtendedHeader(block, line);
    }
  }
  flush();
  return files;
}

/** Lines still to come in the current hunk, old and new side. */
interface HunkLeft {
  old: number;
  new: number;
}

/** Whether `line` is a line of the current hunk body (skipped by the counts, never read as a header). */
function insideHunk(h: HunkLeft, line: string): boolean {
  if (h.old <= 0 && h.new <= 0) return false;
  const c = line[0];
  if (c === ' ' || line === '') {
    h.old--;
    h.new--;
  } else if (c === '-') h.old--;
  else if (c === '+') h.new--;
  else if (c !== '\\') {
    // Malformed hunk (counts too large): read the line as a header.
    h.old = 0;
    h.new = 0;
    return false;
  }
  return true;
}

/** An `@@ -a,b +c,d @@` line: the hunk's counts go into `h`. */
function startsHunk(h: HunkLeft, line: string): boolean {
  const m = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
  if (!m) return false;
  h.old = m[1] === undefined ? 1 : Number.parseInt(m[1], 10);
  h.new = m[2] === undefined ? 1 : Number.parseInt(m[2], 10);
  return true;
}

/** git's extended header lines: new/deleted file, rename and copy names. */
function readExtendedHeader(cur: FileBlock, line: string): void {
  if (line.startsWith('new file mode')) cur.newFile = true;
  else if (line.startsWith('deleted file mode')) cur.deletedFile = true;
  else if (line.startsWith('rename from ')) cur.renameFrom = unquoted(line.slice('rename from '.length));
  else if (line.startsWith('rename to ')) cur.renameTo = unquoted(line.slice('rename to '.length));
  else if (line.startsWith('copy from ')) cur.copyFrom = unquoted(line.slice('copy from '.length));
  else if (line.startsWith('copy to ')) cur.copyTo = unquoted(line.slice('copy to '.length));
}

/**
 * How a patch's bytes are held as text: UTF-8 when they are valid UTF-8, else
 * Latin-1 (one character per byte; old Python repositories have Latin-1
 * sources), so that encoding the text again gives back the very same bytes.
 */
export type PatchEncoding = 'utf8' | 'latin1';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A patch read as bytes (file, stdin, a container's `git diff`), as text that round-trips exactly. */
export function decodePatch(bytes: Uint8Array): { text: string; encoding: PatchEncoding } {
  try {
    return { text: STRICT_UTF8.decode(bytes), encoding: 'utf8' };
  } catch {
    return { text: Buffer.from(bytes).toString('latin1'), encoding: 'latin1' };
  }
}

/** The bytes of a patch held as text in `encoding` (UTF-8 when none is given). */
export function patchBytes(text: string, encoding: PatchEncoding = 'utf8'): Buffer {
  return Buffer.from(text, encoding);
}
