/**
 * The model's patch: everything that differs from the cloned commit, new
 * files included, read out of the container byte for byte and kept as
 * patch.diff (ready for a SWE-bench predictions file).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HarnessConfig } from '../core/config.js';
import { HarnessError } from '../core/errors.js';
import { decodePatch, patchFilesOf } from '../core/diff.js';
import type { PatchInput } from '../core/types.js';
import { sha256 } from '../core/values.js';
import { execIn, type Container } from '../engine/docker.js';
import type { RunResult } from '../run/result.js';
import { tailLinesOf } from '../testing/pytest.js';
import type { Toolbox } from './tools.js';

// Everything changed since the clone, new files included, through a throw-away
// index so the repository's own index is left as the model's tools left it.
// Bytecode is never part of a patch: __pycache__ and .pyc files are left out
// even in a repository that does not ignore them (its tests and snapshots make them).
const DIFF_SCRIPT = String.raw`
idx=/tmp/swe-harness-diff-index
rm -f "$idx"
cp .git/index "$idx" 2>/dev/null || true
export GIT_INDEX_FILE="$idx"
git add -A -- . ':(exclude,glob)**/__pycache__/**' ':(exclude,glob)**/*.py[co]' >/dev/null 2>&1 || exit 90
git diff --cached --no-color --no-ext-diff "$1" 2>/dev/null
rc=$?
rm -f "$idx"
exit $rc
`;

/**
 * Write the model's patch (`git diff` against the commit of the clone) as
 * patch.diff, the bytes as git wrote them (a Latin-1 source stays Latin-1).
 */
export async function savePatch(c: Container, tools: Toolbox, result: RunResult, runDir: string, cfg: HarnessConfig): Promise<PatchInput> {
  let diff: Buffer = Buffer.alloc(0);
  if (tools.cloned && tools.head) {
    const r = await execIn(c, ['bash', '-c', DIFF_SCRIPT, 'diff', tools.head], {
      timeoutS: cfg.timeouts.test + 30,
      backstopS: cfg.backstopSeconds,
      logs: cfg.logs,
      logFile: null,
      cwd: cfg.workdir,
    });
    if (r.exitCode !== 0) throw new HarnessError('internal', `git diff of the model's changes failed (exit ${r.exitCode ?? 'none'}): ${tailLinesOf(r.output, 1)}`);
    if (r.bytes > r.outputBytes.length) throw new HarnessError('internal', `the model's diff is larger than ${cfg.logs.tailWindowBytes} bytes`);
    diff = r.outputBytes;
  }
  fs.writeFileSync(path.join(runDir, 'patch.diff'), diff);
  const patch: PatchInput = { ...decodePatch(diff), source: 'model' };
  if (diff.length) {
    // Read as the guardrail and the grading read patches (quoted names, spaces, renames).
    const files = [...new Set(patchFilesOf(patch.text).map((f) => f.path))];
    result.patch = { source: 'model', sha256: sha256(diff), bytes: diff.length, files, applied_with: null };
  }
  return patch;
}
