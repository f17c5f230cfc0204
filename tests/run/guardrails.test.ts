import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPatch } from '../../scripts/lib/run/guardrails.js';
import type { PatchLimits } from '../../scripts/lib/core/config.js';
import { sha256 } from '../../scripts/lib/core/values.js';

const LIMITS: PatchLimits = { maxBytes: 512 * 1024, maxFiles: 50, maxHunks: 400 };
const lines = (...ls: string[]): string => `${ls.join('\n')}\n`;

/** A one-hunk modification of `path` as git writes it. */
function modify(path: string, opts: { old?: string; neu?: string } = {}): string {
  return lines(
    `diff --git a/${path} b/${path}`,
    'index 83db48f..8792505 100644',
    `--- ${opts.old ?? `a/${path}`}`,
    `+++ ${opts.neu ?? `b/${path}`}`,
    '@@ -1,3 +1,3 @@',
    ' line1',
    '-line2',
    '+line2 changed',
    ' line3',
  );
}

// Real `git diff --cached` output (git 2.39), one change per kind.
const SIMPLE = modify('src/a.py');
const NEW_FILE = lines(
  'diff --git a/added.py b/added.py',
  'new file mode 100644',
  'index 0000000..3e75765',
  '--- /dev/null',
  '+++ b/added.py',
  '@@ -0,0 +1 @@',
  '+new',
);
const NEW_FILE_NO_EOL = lines(
  'diff --git a/nonl.txt b/nonl.txt',
  'new file mode 100644',
  'index 0000000..20cbb4d',
  '--- /dev/null',
  '+++ b/nonl.txt',
  '@@ -0,0 +1 @@',
  '+no newline',
  '\\ No newline at end of file',
);
const DELETION = lines(
  'diff --git a/del.txt b/del.txt',
  'deleted file mode 100644',
  'index 286c5f5..0000000',
  '--- a/del.txt',
  '+++ /dev/null',
  '@@ -1 +0,0 @@',
  '-gone',
);
const RENAME = lines(
  'diff --git a/old_name.py b/new_name.py',
  'similarity index 100%',
  'rename from old_name.py',
  'rename to new_name.py',
);
const MODE_CHANGE = lines('diff --git a/run.sh b/run.sh', 'old mode 100644', 'new mode 100755');
const PLAIN_UNIFIED = lines('--- a/x.py\t2024-01-01 00:00:00', '+++ b/x.py\t2024-01-02 00:00:00', '@@ -1 +1 @@', '-a', '+b');
const FORMAT_PATCH = [
  'From 7edb029b0ee4fbdc2ebaab287ce2cc2e87b78c92 Mon Sep 17 00:00:00 2001',
  'From: t <a@b>',
  'Date: Mon, 23 Nov 2026 18:41:07 +0000',
  'Subject: [PATCH] Fix things',
  '',
  'Longer message with a line',
  '--- that looks like a header',
  'rename to ../not/a/header/in/a/commit/message',
  'Binary files are mentioned here and differ',
  '---',
  ' src/a.py | 2 +-',
  ' 1 file changed, 1 insertion(+), 1 deletion(-)',
  '',
  SIMPLE.trimEnd(),
  '-- ',
  '2.39.5',
  '',
  '',
].join('\n');

describe('checkPatch accepts', () => {
  it.each([
    { name: 'a simple modification', text: SIMPLE, files: ['src/a.py'], hunks: 1 },
    { name: 'a new file', text: NEW_FILE, files: ['added.py'], hunks: 1 },
    { name: 'a new file without a final newline', text: NEW_FILE_NO_EOL, files: ['nonl.txt'], hunks: 1 },
    { name: 'a deletion', text: DELETION, files: ['del.txt'], hunks: 1 },
    { name: 'a rename without hunks (similarity index 100%)', text: RENAME, files: ['new_name.py', 'old_name.py'], hunks: 0 },
    { name: 'a header-only mode change', text: MODE_CHANGE, files: ['run.sh'], hunks: 0 },
    { name: 'a plain unified diff with timestamps', text: PLAIN_UNIFIED, files: ['x.py'], hunks: 1 },
    { name: 'a CRLF patch (checked and returned with LF line ends)', text: SIMPLE.replace(/\n/g, '\r\n'), files: ['src/a.py'], hunks: 1, checked: SIMPLE },
    {
      name: 'an LF patch of a file with CRLF content',
      text: lines('diff --git a/win.txt b/win.txt', '--- a/win.txt', '+++ b/win.txt', '@@ -1,2 +1,2 @@', ' crlf1\r', '-crlf2\r', '+crlf2 changed\r'),
      files: ['win.txt'],
      hunks: 1,
    },
    { name: 'a git format-patch mail (preamble and signature dropped)', text: FORMAT_PATCH, files: ['src/a.py'], hunks: 1, checked: SIMPLE },
    {
      name: 'a multi-file patch, listing files deduplicated and sorted',
      text: SIMPLE + NEW_FILE + DELETION + RENAME + MODE_CHANGE + modify('src/a.py'),
      files: ['added.py', 'del.txt', 'new_name.py', 'old_name.py', 'run.sh', 'src/a.py'],
      hunks: 4,
    },
    {
      name: 'a path with spaces and a quoted path',
      text: modify('docs/my file.txt') + lines('diff --git "a/tab\\there.txt" "b/tab\\there.txt"', '--- "a/tab\\there.txt"', '+++ "b/tab\\there.txt"', '@@ -1 +1 @@', '-a', '+b'),
      files: ['docs/my file.txt', 'tab\there.txt'],
      hunks: 2,
    },
    { name: 'names that merely contain "git" or dots', text: modify('.github/workflows/ci.yml') + modify('a/.gitignore') + modify('x..y/z.py'), files: ['.github/workflows/ci.yml', 'a/.gitignore', 'x..y/z.py'], hunks: 3 },
    {
      name: 'a `diff -ru orig new` patch (names read as patch -p1 reads them: first component dropped)',
      text: lines(
        'diff -ru orig/src/x.py new/src/x.py',
        '--- orig/src/x.py\t2026-11-23 20:03:25.887626198 +0000',
        '+++ new/src/x.py\t2026-11-23 20:03:25.887626198 +0000',
        '@@ -1,2 +1,2 @@',
        ' a',
        '-b',
        '+c',
      ),
      files: ['src/x.py'],
      hunks: 1,
    },
    { name: 'a plain diff of a top-level file without a prefix', text: lines('--- setup.py', '+++ setup.py', '@@ -1 +1 @@', '-a', '+b'), files: ['setup.py'], hunks: 1 },
    { name: 'a removed line that looks like a file header', text: lines('diff --git a/q.sql b/q.sql', '--- a/q.sql', '+++ b/q.sql', '@@ -1,2 +1 @@', '--- comment', ' select 1;'), files: ['q.sql'], hunks: 1 },
  ])('$name', ({ text, files, hunks, checked }) => {
    const result = checkPatch(text, LIMITS);
    // `text` is what was checked: the input itself unless a CRLF patch or a format-patch mail.
    expect(result).toEqual({ ok: true, files, hunks, bytes: Buffer.byteLength(text, 'utf8'), text: checked ?? text });
  });

  it('measures bytes in UTF-8', () => {
    const text = modify('ünïcödé.py');
    const result = checkPatch(text, LIMITS);
    expect(result.ok && result.bytes).toBe(Buffer.byteLength(text, 'utf8'));
    expect(result.ok && result.bytes).toBeGreaterThan(text.length);
  });

  it('accepts a patch exactly at every limit', () => {
    const text = SIMPLE + modify('b.py');
    const bytes = Buffer.byteLength(text, 'utf8');
    expect(checkPatch(text, { maxBytes: bytes, maxFiles: 2, maxHunks: 2 }).ok).toBe(true);
  });
});

describe('checkPatch rejects', () => {
  const manyFiles = Array.from({ length: 4 }, (_, i) => modify(`f${i}.py`)).join('');
  const manyHunks = lines(
    'diff --git a/h.py b/h.py',
    '--- a/h.py',
    '+++ b/h.py',
    ...Array.from({ length: 5 }, (_, i) => [`@@ -${i * 10 + 1} +${i * 10 + 1} @@`, `-x${i}`, `+y${i}`]).flat(),
  );
  const big = SIMPLE + '#'.repeat(2000);
  it.each([
    { name: 'an empty patch', text: '', limits: LIMITS, reason: /empty patch \(0 bytes/ },
    { name: 'a whitespace-only patch', text: ' \n\n', limits: LIMITS, reason: /empty patch \(3 bytes/ },
    { name: 'text without any file diff', text: 'just some words\nand more\n', limits: LIMITS, reason: /no file diffs found in 25 bytes/ },
    {
      name: 'a patch over the size limit',
      text: big,
      limits: { ...LIMITS, maxBytes: 1000 },
      reason: new RegExp(`${Buffer.byteLength(big)} bytes, over the limit of 1000 bytes`),
    },
    {
      name: 'a patch over the size limit counted in UTF-8 bytes, not characters',
      text: modify('é'.repeat(100)),
      limits: { ...LIMITS, maxBytes: modify('é'.repeat(100)).length },
      reason: new RegExp(`${Buffer.byteLength(modify('é'.repeat(100)))} bytes, over the limit of ${modify('é'.repeat(100)).length} bytes`),
    },
    { name: 'too many files', text: manyFiles, limits: { ...LIMITS, maxFiles: 3 }, reason: /touches 4 files, over the limit of 3 files/ },
    { name: 'too many hunks', text: manyHunks, limits: { ...LIMITS, maxHunks: 4 }, reason: /5 hunks, over the limit of 4 hunks/ },
    {
      name: 'a "GIT binary patch"',
      text: lines(
        'diff --git a/blob.bin b/blob.bin',
        'new file mode 100644',
        'index 0000000000000000000000000000000000000000..8352675d67aed6625ece79af41c27fdb4ee2e867',
        'GIT binary patch',
        'literal 3',
        'KcmZQzWC8#H2LJ>B',
        '',
        'literal 0',
        'HcmV?d00001',
        '',
      ),
      limits: LIMITS,
      reason: /binary content: "GIT binary patch" for "blob.bin"/,
    },
    {
      name: 'a "Binary files ... differ" line',
      text: lines('diff --git a/blob.bin b/blob.bin', 'new file mode 100644', 'index 0000000..8352675', 'Binary files /dev/null and b/blob.bin differ'),
      limits: LIMITS,
      reason: /binary content: "Binary files \/dev\/null and b\/blob.bin differ"/,
    },
    { name: 'NUL bytes', text: SIMPLE.replace('+line2 changed', '+line2\0changed'), limits: LIMITS, reason: /NUL byte on line 8/ },
    { name: 'an absolute path', text: modify('etc/passwd', { old: '/etc/passwd', neu: '/etc/passwd' }), limits: LIMITS, reason: /absolute path "\/etc\/passwd"/ },
    { name: 'an absolute path behind the a/ prefix', text: modify('/etc/x'), limits: LIMITS, reason: /absolute path "a\/\/etc\/x"/ },
    { name: 'a Windows drive letter', text: modify('C:/Windows/evil.dll'), limits: LIMITS, reason: /absolute Windows path "a\/C:\/Windows\/evil.dll"/ },
    { name: 'a ../ traversal', text: modify('../outside.py'), limits: LIMITS, reason: /"a\/..\/outside.py" escapes the repository/ },
    { name: 'a traversal in the middle of a path', text: modify('src/../../x.py'), limits: LIMITS, reason: /"a\/src\/..\/..\/x.py" escapes the repository/ },
    { name: 'a traversal with backslashes', text: modify('src\\..\\..\\x.py'), limits: LIMITS, reason: /escapes the repository/ },
    {
      name: 'a traversal only in the "+++" line',
      text: modify('ok.py', { neu: 'b/../evil.py' }),
      limits: LIMITS,
      reason: /"b\/..\/evil.py" escapes the repository/,
    },
    {
      name: 'a traversal hidden in "rename to" (the ---/+++ lines look harmless)',
      text: lines(
        'diff --git a/ok.py b/ok.py',
        'similarity index 90%',
        'rename from ok.py',
        'rename to ../../home/user/.bashrc',
        '--- a/ok.py',
        '+++ b/ok.py',
        '@@ -1 +1 @@',
        '-a',
        '+b',
      ),
      limits: LIMITS,
      reason: /"..\/..\/home\/user\/.bashrc" escapes the repository \('..'\) in "rename to" header/,
    },
    {
      name: 'a traversal hidden in "copy from"',
      text: lines('diff --git a/x b/y', 'similarity index 100%', 'copy from ../../etc/shadow', 'copy to y'),
      limits: LIMITS,
      reason: /"..\/..\/etc\/shadow" escapes the repository \('..'\) in "copy from" header/,
    },
    {
      name: 'a traversal in a plain diff placed before the first "diff --git" (not mistaken for a preamble)',
      text: lines('Subject: [PATCH] innocent', '', '--- a/../evil.py', '+++ b/../evil.py', '@@ -1 +1 @@', '-a', '+b') + SIMPLE,
      limits: LIMITS,
      reason: /"a\/..\/evil.py" escapes the repository/,
    },
    {
      name: 'a plain diff whose first component (the one -p1 drops) is ".."',
      text: lines('--- ../src/x.py', '+++ ../src/x.py', '@@ -1 +1 @@', '-a', '+b'),
      limits: LIMITS,
      reason: /"..\/src\/x.py" escapes the repository/,
    },
    {
      name: 'a plain diff with absolute names (even though -p1 would make them relative)',
      text: lines('--- /tmp/orig/x.py', '+++ /tmp/new/x.py', '@@ -1 +1 @@', '-a', '+b'),
      limits: LIMITS,
      reason: /absolute path "\/tmp\/orig\/x.py"/,
    },
    {
      name: 'a plain diff whose second component is .git (the first one is dropped)',
      text: lines('--- x/.git/config', '+++ y/.git/config', '@@ -1 +1 @@', '-a', '+b'),
      limits: LIMITS,
      reason: /"x\/.git\/config" is inside .git/,
    },
    {
      name: 'an ed-style diff naming .git through "Index:" in the checked text',
      text: SIMPLE + lines('Index: x/.git/config', '0a', '[alias]', '\tpwned = !true', '.'),
      limits: LIMITS,
      reason: /"x\/.git\/config" is inside .git in "Index:" header/,
    },
    { name: 'a path inside .git/', text: modify('.git/config'), limits: LIMITS, reason: /"a\/.git\/config" is inside .git/ },
    { name: 'a nested .git directory', text: modify('sub/.git/hooks/x'), limits: LIMITS, reason: /"a\/sub\/.git\/hooks\/x" is inside .git/ },
    { name: 'a .git spelled in upper case', text: modify('.GIT/config'), limits: LIMITS, reason: /"a\/.GIT\/config" is inside .git/ },
    { name: 'a file named .git', text: modify('vendor/.git'), limits: LIMITS, reason: /"a\/vendor\/.git" is inside .git/ },
    {
      name: 'a .git path hidden in "rename to"',
      text: lines('diff --git a/hook b/hook', 'similarity index 100%', 'rename from hook', 'rename to .git/hooks/pre-commit'),
      limits: LIMITS,
      reason: /".git\/hooks\/pre-commit" is inside .git/,
    },
    {
      name: 'a symlink creation',
      text: lines('diff --git a/link b/link', 'new file mode 120000', 'index 0000000..d09b807', '--- /dev/null', '+++ b/link', '@@ -0,0 +1 @@', '+../outside', '\\ No newline at end of file'),
      limits: LIMITS,
      reason: /symlink not allowed: "new file mode 120000" for "link"/,
    },
    {
      name: 'a change of a file into a symlink',
      text: lines('diff --git a/f b/f', 'old mode 100644', 'new mode 120000'),
      limits: LIMITS,
      reason: /symlink not allowed: "new mode 120000" for "f"/,
    },
    {
      name: 'a change of an existing symlink target',
      text: lines('diff --git a/link b/link', 'index d09b807..e69de29 120000', '--- a/link', '+++ b/link', '@@ -1 +1 @@', '-../a', '\\ No newline at end of file', '+/etc', '\\ No newline at end of file'),
      limits: LIMITS,
      reason: /symlink not allowed: modifies mode 120000 entry "link"/,
    },
    {
      name: 'a gitlink (submodule) creation',
      text: lines('diff --git a/sub b/sub', 'new file mode 160000', 'index 0000000..1234567', '--- /dev/null', '+++ b/sub', '@@ -0,0 +1 @@', '+Subproject commit 1234567'),
      limits: LIMITS,
      reason: /gitlink \(submodule\) not allowed: "new file mode 160000" for "sub"/,
    },
    {
      name: 'a hunk whose line counts do not match (parse error)',
      text: lines('diff --git a/a.py b/a.py', '--- a/a.py', '+++ b/a.py', '@@ -1,3 +1,3 @@', ' line1', '-line2'),
      limits: LIMITS,
      reason: /does not parse: .*line 4/,
    },
    {
      name: 'a hunk without file headers',
      text: lines('@@ -1 +1 @@', '-a', '+b'),
      limits: LIMITS,
      reason: /hunk without file names \(1 hunks/,
    },
  ])('$name', ({ text, limits, reason }) => {
    const result = checkPatch(text, limits);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(reason);
    expect(result.reason).not.toContain('\n');
  });

  it('quotes control characters in reasons so they stay on one line', () => {
    const result = checkPatch(modify('../x\ty.py', { old: '"a/../x\\ty.py"', neu: '"b/../x\\ty.py"' }), LIMITS);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toContain('\\x09');
      expect(result.reason).not.toMatch(/[\t\n]/);
    }
  });
});

describe('checkPatch returns the text to apply', () => {
  // GNU patch reads an `Index:` line plus an ed script as a diff of its own:
  // hidden in a format-patch preamble or after the `-- ` signature, parts the
  // checker drops, it would write into .git/config.
  const ED_INDEX = (name: string) => ['', `Index: ${name}`, '0a', '[alias]', '\tpwned = !true', '.'];
  const HIDDEN_ED = [
    'From 7edb029b0ee4fbdc2ebaab287ce2cc2e87b78c92 Mon Sep 17 00:00:00 2001',
    'From: t <a@b>',
    'Subject: [PATCH] Fix things',
    ...ED_INDEX('x/.git/config'),
    '---',
    ' src/a.py | 2 +-',
    '',
    SIMPLE.trimEnd(),
    '-- ',
    '2.39.5',
    ...ED_INDEX('y/.git/config'),
    '',
  ].join('\n');

  it('a format-patch mail with ed-style diffs of .git/config in the preamble and after the signature: none in the text to apply', () => {
    const result = checkPatch(HIDDEN_ED, LIMITS);
    if (!result.ok) return; // rejecting it would do too
    expect(result.files).toEqual(['src/a.py']);
    expect(typeof result.text).toBe('string');
    expect(result.text).not.toContain('.git/config');
    expect(result.text).toBe(SIMPLE);
  });

  it.skipIf(spawnSync('patch', ['--version']).status !== 0 || spawnSync('ed', ['--version']).status !== 0)(
    'GNU patch -p1 given that text changes the checked file and leaves .git/config alone',
    () => {
      const result = checkPatch(HIDDEN_ED, LIMITS);
      if (!result.ok) return;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-patch-'));
      const git = (...args: string[]) => spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
      git('init', '-q', '.');
      fs.mkdirSync(path.join(dir, 'src'));
      fs.writeFileSync(path.join(dir, 'src/a.py'), 'line1\nline2\nline3\n');
      const config = fs.readFileSync(path.join(dir, '.git/config'), 'utf8');
      fs.writeFileSync(path.join(dir, 'p.diff'), result.text);
      const r = spawnSync('patch', ['--batch', '--forward', '-p1', '-i', 'p.diff'], { cwd: dir, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'src/a.py'), 'utf8')).toBe('line1\nline2 changed\nline3\n');
      expect(fs.readFileSync(path.join(dir, '.git/config'), 'utf8')).toBe(config);
    },
  );
});

describe('sha256', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['é', '4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c'],
  ])('hashes %j as UTF-8 into lower-case hex', (text, hex) => {
    expect(sha256(text)).toBe(hex);
  });
});
