/**
 * run-one: run one task in Docker — clone → install → (tests → patch) → tests —
 * and write sandbox/runs/<run id>/result.json. See --help and the README.
 */
import fs from 'node:fs';
import path from 'node:path';
import { abortOnSignals, listFlag, parseFlags, repoPathsFlag, secondsFlag, stringFlag, main } from './lib/cli/flags.js';
import { DEFAULT_CONFIG, type HarnessConfig, type StageTimeouts } from './lib/core/config.js';
import { HarnessError } from './lib/core/errors.js';
import { recordBadInput, runTask } from './lib/run/run-task.js';
import type { PatchInput } from './lib/core/types.js';
import { AGENT_BOOLEAN_FLAGS, AGENT_STRING_FLAGS, AGENT_USAGE, agentOptionsFromArgs, type AgentCliOptions } from './lib/cli/agent-options.js';
import { findTask, makeTask, testIsSafe } from './lib/task/tasks.js';
import { REF_RULE, refIsSafe } from './lib/task/ids.js';
import { loadTaskSet, patchFor, predictionsMode, readPatchFile, type PatchMode } from './lib/task/taskset.js';
import type { Task } from './lib/core/types.js';

const USAGE = `usage: npx tsx scripts/run-one.ts --task-id ID [options]
       npx tsx scripts/run-one.ts --repo URL|PATH --ref REF [options]

Task:
  --task-id ID          task from the tasks file (with --repo: the id to record)
  --tasks FILE          tasks file (default: seed_tasks.jsonl)
  --instances FILE      SWE-bench instances file instead (JSONL or JSON list); graded as SWE-bench does
  --specs FILE          environment specs over specs/default.json (repeatable)
  --repo URL|PATH       repository: URL, local path, owner/name (GitHub) or fixture:<name>
  --ref REF             commit, tag or branch to check out
  -k EXPR               pytest -k expression
  --tests PATH          test path or node id (repeatable)
  --install CMD         install command run in the repo (bash)
Patch:
  --patch FILE|-        apply this patch (- reads stdin); tests run before and after it
  --task-patch, --gold  apply the task's own patch (its "patch" field; an instance's gold patch)
  --predictions FILE    apply the task's prediction from a SWE-bench predictions file
  --before              with an instance: also run the tests before the patch
Run:
  --image NAME          image to run in (default: swebench-lite:py3.10, else the offline build)
  --clone-timeout S     seconds for the clone   (default ${DEFAULT_CONFIG.timeouts.clone}; a task may set its own)
  --install-timeout S   seconds for the install (default ${DEFAULT_CONFIG.timeouts.install})
  --test-timeout S      seconds per pytest run  (default ${DEFAULT_CONFIG.timeouts.test})
  --repo-cache DIR      host-side git mirrors (owner__name.git), filled on first use
  --repo-path SLUG=PATH use a local repository for owner/name (repeatable)
  --runs-dir DIR        where run directories go (default sandbox/runs)
  --json                print the result JSON on stdout
  --quiet               no progress lines on stderr
  -h, --help            this text

Exit codes: 0 passed, 1 failed, 2 bad input, 3 error (engine, image, clone, install),
            4 timeout, 5 patch rejected or failed, 130 interrupted.`;

const FLAGS = {
  string: ['task-id', 'tasks', 'instances', 'specs', 'repo', 'ref', 'k', 'tests', 'install', 'patch', 'predictions', 'image',
    'clone-timeout', 'install-timeout', 'test-timeout', 'runs-dir', 'repo-cache', 'repo-path'],
  boolean: ['json', 'quiet', 'help', 'task-patch', 'gold', 'before'],
  alias: { h: 'help' },
};
// The runner agent's flags (scripts/lib/agent/options.ts); --no-tool-calls negates tool-calls.
FLAGS.string.push(...AGENT_STRING_FLAGS);
FLAGS.boolean.push(...AGENT_BOOLEAN_FLAGS);
const AGENT_DEFAULT_FLAGS = { 'tool-calls': true };

/** Values given on the command line get the checks a tasks file gets. */
function checkedFlags(args: ReturnType<typeof parseFlags>): { ref: string | null; tests: string[] } {
  const ref = stringFlag(args, 'ref');
  if (ref !== null && !refIsSafe(ref)) throw new HarnessError('usage', `--ref ${REF_RULE}, got "${ref}"`);
  const tests = listFlag(args, 'tests');
  const bad = tests.find((t) => !testIsSafe(t));
  if (bad !== undefined) throw new HarnessError('usage', `--tests must be a test path or node id, not empty or an option, got "${bad}"`);
  return { ref, tests };
}

async function taskFromArgs(args: ReturnType<typeof parseFlags>): Promise<Task> {
  const { ref, tests } = checkedFlags(args);
  const repo = stringFlag(args, 'repo');
  const taskId = stringFlag(args, 'task-id');
  if (!repo) {
    if (!taskId) throw new HarnessError('usage', 'give --task-id ID, or --repo and --ref (see --help)');
    const tasks = await loadTaskSet({
      tasksFile: stringFlag(args, 'tasks'),
      instancesFile: stringFlag(args, 'instances'),
      specsFiles: listFlag(args, 'specs'),
    });
    const task = findTask(tasks, taskId);
    // Direct flags refine a task from the file.
    const k = listFlag(args, 'k');
    const install = stringFlag(args, 'install');
    return {
      ...task,
      ...(ref ? { ref } : {}),
      ...(k.length ? { pytest_k: k.join(' and ') } : {}),
      ...(tests.length ? { tests } : {}),
      ...(install ? { install } : {}),
    };
  }
  if (!ref) throw new HarnessError('usage', '--repo needs --ref (a commit, tag or branch)');
  const id = taskId ?? `adhoc-${path.basename(repo.replace(/\.git$/, '').replace(/\/+$/, '')).replace(/[^A-Za-z0-9._-]/g, '_')}`;
  if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new HarnessError('usage', `--task-id "${id}" may only hold letters, digits, ".", "_" and "-"`);
  const k = listFlag(args, 'k');
  return makeTask({
    task_id: id,
    repo,
    ref,
    pytest_k: k.length ? k.join(' and ') : null,
    tests,
    install: stringFlag(args, 'install'),
  });
}

async function readPatch(args: ReturnType<typeof parseFlags>, task: Task): Promise<PatchInput | null> {
  const file = stringFlag(args, 'patch');
  const predictions = stringFlag(args, 'predictions');
  const own = Boolean(args['task-patch'] || args.gold);
  if ([file, predictions, own].filter(Boolean).length > 1) throw new HarnessError('usage', 'give one of --patch, --predictions, --task-patch/--gold');
  if (file === '-') return { text: fs.readFileSync(0, 'utf8'), source: '-' };
  const mode: PatchMode = predictions
    ? await predictionsMode(predictions)
    : own
      ? { kind: 'task' }
      : file
        ? { kind: 'file', patch: { text: readPatchFile(file, '--patch'), source: file } }
        : { kind: 'none' };
  return patchFor(task, mode);
}

await main(async () => {
  const args = parseFlags(process.argv.slice(2), { ...FLAGS, default: AGENT_DEFAULT_FLAGS });
  if (args.help) {
    process.stdout.write(`${USAGE}\n\n${AGENT_USAGE}\n`);
    return 0;
  }
  if (args._.length) throw new HarnessError('usage', `unexpected argument "${args._[0]}" (see --help)`);
  const task = await taskFromArgs(args);
  const runsDir = stringFlag(args, 'runs-dir');
  const repoCache = stringFlag(args, 'repo-cache');
  const cfg: HarnessConfig = {
    ...DEFAULT_CONFIG,
    ...(runsDir ? { runsDir: path.resolve(runsDir) } : {}),
    repoCache: repoCache ? path.resolve(repoCache) : null,
    repoPaths: repoPathsFlag(args),
  };
  let patch: PatchInput | null;
  let timeouts: Partial<StageTimeouts>;
  let agent: AgentCliOptions | null;
  try {
    agent = agentOptionsFromArgs(args);
    patch = agent ? null : await readPatch(args, task);
    timeouts = {};
    for (const stage of ['clone', 'install', 'test'] as const) {
      const s = secondsFlag(args, `${stage}-timeout`);
      if (s !== undefined) timeouts[stage] = s;
    }
  } catch (err) {
    // The task is known: keep a record of the run that could not start.
    if (err instanceof HarnessError) {
      const { resultFile } = recordBadInput(task, cfg, err);
      process.stderr.write(`result: ${path.relative(process.cwd(), resultFile)}\n`);
    }
    throw err;
  }

  // Ctrl-C / SIGTERM: stop the stage, remove the container, still write the result.
  const controller = abortOnSignals('stopping and removing the container...');

  const quiet = Boolean(args.quiet);
  const common = {
    cfg,
    image: stringFlag(args, 'image'),
    timeouts,
    signal: controller.signal,
    log: quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`),
  };
  // The agent is loaded only when asked for: it pulls in the openai SDK, about a second of start-up.
  const { result, resultFile } = agent
    ? await (await import('./lib/agent/run.js')).runAgent(task, { ...common, ...agent })
    : await runTask(task, { ...common, patch, ...(args.before ? { before: true } : {}) });
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (!quiet) {
    const why = result.error ? ` — ${result.error}` : '';
    process.stderr.write(`${result.status} in ${result.duration_s.toFixed(2)}s${why}\nresult: ${path.relative(process.cwd(), resultFile)}\n`);
  }
  return result.exit_code;
});
