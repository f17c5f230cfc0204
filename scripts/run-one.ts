/**
 * run-one: run one task in Docker — clone → install → (tests → patch) → tests —
 * and write sandbox/runs/<run id>/result.json. See --help and the README.
 */
import path from 'node:path';
import type minimist from 'minimist';
import { abortOnSignals, listFlag, parseFlags, stringFlag, main } from './lib/cli/flags.js';
import { configFlags, ENGINE_USAGE, engineFlag, patchModeFlags, PREBUILT_USAGE, RUN_BOOLEAN_FLAGS, RUN_FLAG_DEFAULTS, RUN_STRING_FLAGS, SNAPSHOT_USAGE, stageTimeoutsFlags, taskSetFlags } from './lib/cli/run-flags.js';
import { DEFAULT_CONFIG, type HarnessConfig } from './lib/core/config.js';
import { HarnessError } from './lib/core/errors.js';
import { recordBadInput, runTask, type RunOptions } from './lib/run/run-task.js';
import { recordEmptyPrediction } from './lib/run/outcome.js';
import type { PatchInput, Task } from './lib/core/types.js';
import { AGENT_BOOLEAN_FLAGS, AGENT_STRING_FLAGS, AGENT_USAGE, agentOptionsFromArgs, type AgentCliOptions } from './lib/cli/agent-options.js';
import { findTask, makeTask, testIsSafe } from './lib/task/tasks.js';
import { idProblem, REF_RULE, refIsSafe } from './lib/task/ids.js';
import { loadTaskSet, patchFor } from './lib/task/taskset.js';
import { watchRuns } from './lib/cli/watch.js';

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
  --watch               with --patch FILE: run again each time FILE changes, until Ctrl-C
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
${ENGINE_USAGE}
${PREBUILT_USAGE}
${SNAPSHOT_USAGE}

Exit codes: 0 passed, 1 failed, 2 bad input, 3 error (engine, image, clone, install),
            4 timeout, 5 patch rejected or failed, 130 interrupted.`;

const FLAGS = {
  string: [...RUN_STRING_FLAGS, 'task-id', 'repo', 'ref', 'k', 'tests', 'install', ...AGENT_STRING_FLAGS],
  // --no-tool-calls is minimist's negation of the agent's tool-calls.
  boolean: [...RUN_BOOLEAN_FLAGS, 'quiet', 'before', 'watch', ...AGENT_BOOLEAN_FLAGS],
  alias: { h: 'help' },
  default: { 'tool-calls': true, ...RUN_FLAG_DEFAULTS },
};

type Args = minimist.ParsedArgs;

/** What to run besides the task: the agent's options, or the patch; and the stage limits. */
interface Plan {
  agent: AgentCliOptions | null;
  patch: PatchInput | null;
  timeouts: RunOptions['timeouts'];
}

/** `-k EXPR` (repeatable, joined with "and"), or null. */
function pytestK(args: Args): string | null {
  const k = listFlag(args, 'k', { nonEmpty: true });
  return k.length ? k.join(' and ') : null;
}

/** Values given on the command line get the checks a tasks file gets. */
function checkedFlags(args: Args): { ref: string | null; tests: string[] } {
  const ref = stringFlag(args, 'ref');
  if (ref !== null && !refIsSafe(ref)) throw new HarnessError('usage', `--ref ${REF_RULE}, got "${ref}"`);
  const tests = listFlag(args, 'tests');
  const bad = tests.find((t) => !testIsSafe(t));
  if (bad !== undefined) throw new HarnessError('usage', `--tests must be a test path or node id, not empty or an option, got "${bad}"`);
  return { ref, tests };
}

/** The task: from the tasks or instances file, refined by direct flags; or made from --repo and --ref. */
async function taskFromArgs(args: Args): Promise<Task> {
  const repo = stringFlag(args, 'repo');
  if (stringFlag(args, 'instances') && (repo || args.ref !== undefined)) {
    throw new HarnessError('usage', 'give --instances or --repo/--ref, not both (an instance names its repository and commit)');
  }
  return repo ? adhocTask(args, repo) : fileTask(args);
}

async function fileTask(args: Args): Promise<Task> {
  const { ref, tests } = checkedFlags(args);
  const taskId = stringFlag(args, 'task-id');
  if (!taskId) throw new HarnessError('usage', 'give --task-id ID, or --repo and --ref (see --help)');
  const instances = stringFlag(args, 'instances');
  const k = pytestK(args);
  // An instance is graded on the files its test patch touches, run whole: a narrower selection would change the verdict.
  if (instances && (k || tests.length)) throw new HarnessError('usage', `${k ? '-k' : '--tests'} does not apply to --instances (SWE-bench grading runs the test patch's files whole)`);
  const task = findTask(await loadTaskSet(taskSetFlags(args)), taskId);
  const install = stringFlag(args, 'install');
  return {
    ...task,
    ...(ref ? { ref } : {}),
    ...(k ? { pytest_k: k } : {}),
    ...(tests.length ? { tests } : {}),
    ...(install ? { install } : {}),
  };
}

function adhocTask(args: Args, repo: string): Task {
  const unused = ['tasks', 'specs'].find((f) => args[f] !== undefined);
  if (unused) throw new HarnessError('usage', `--${unused} is not used with --repo (the task comes from the flags)`);
  const { ref, tests } = checkedFlags(args);
  if (!ref) throw new HarnessError('usage', '--repo needs --ref (a commit, tag or branch)');
  const taskId = stringFlag(args, 'task-id');
  const id = taskId ?? `adhoc-${path.basename(repo.replace(/\.git$/, '').replace(/\/+$/, '')).replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const bad = idProblem(id);
  if (bad) throw new HarnessError('usage', `--task-id ${bad}, got "${id.length > 60 ? `${id.slice(0, 57)}...` : id}"`);
  return makeTask({ task_id: id, repo, ref, pytest_k: pytestK(args), tests, install: stringFlag(args, 'install') });
}

/** The agent, patch and limits; bad ones are recorded as a result of the known task, then rethrown. */
async function planOrRecord(args: Args, task: Task, cfg: HarnessConfig): Promise<Plan> {
  try {
    const agent = agentOptionsFromArgs(args);
    const patch = agent ? null : patchFor(task, await patchModeFlags(args, { stdin: true }));
    // "Before" is before a patch: without one there is only one test run.
    if (args.before && !patch) throw new HarnessError('usage', '--before needs a patch (--patch, --gold/--task-patch or --predictions)');
    return { agent, patch, timeouts: stageTimeoutsFlags(args) };
  } catch (err) {
    if (err instanceof HarnessError) {
      const { resultFile } = recordBadInput(task, cfg, err);
      process.stderr.write(`result: ${path.relative(process.cwd(), resultFile)}\n`);
    }
    throw err;
  }
}

/** Run the plan; Ctrl-C / SIGTERM (`signal`) stop the stage, remove the container and still write the result. */
async function execute(args: Args, task: Task, cfg: HarnessConfig, plan: Plan, signal: AbortSignal) {
  const common = {
    cfg,
    image: stringFlag(args, 'image'),
    timeouts: plan.timeouts,
    signal,
    log: args.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`),
  };
  // The agent is loaded only when asked for: it pulls in the openai SDK, about a second of start-up.
  if (plan.agent) return (await import('./lib/agent/run.js')).runAgent(task, { ...common, ...plan.agent });
  // SWE-bench's empty patch: recorded, not run.
  if (plan.patch?.empty_prediction) return recordEmptyPrediction(task, cfg, plan.patch);
  // One run at a time: its "before" tests may run beside the patch in a second container from the snapshot.
  return runTask(task, { ...common, patch: plan.patch, beside: true, ...(args.before ? { before: true } : {}) });
}

/** Print the run's outcome as asked; its exit code. */
function told(args: Args, { result, resultFile }: Awaited<ReturnType<typeof execute>>): number {
  // Under --watch one line per run (JSON Lines), so the stream stays readable as it grows.
  if (args.json) process.stdout.write(`${args.watch ? JSON.stringify(result) : JSON.stringify(result, null, 2)}\n`);
  if (!args.quiet) {
    const why = result.error ? ` — ${result.error}` : '';
    process.stderr.write(`${result.status} in ${result.duration_s.toFixed(2)}s${why}\nresult: ${path.relative(process.cwd(), resultFile)}\n`);
  }
  return result.exit_code;
}

/** The file --watch watches: the patch file, and only a patch run has one. */
function watchedFile(args: Args): string {
  const file = stringFlag(args, 'patch');
  if (agentOptionsFromArgs(args)) throw new HarnessError('usage', '--watch runs a patch again when its file changes; it does not drive the agent');
  if (file === null || file === '-') {
    const own = args.gold ? '--gold' : args['task-patch'] ? '--task-patch' : null;
    const given = file === '-' ? '--patch - (stdin)' : own ? `${own} (the task's own patch, not a file to watch)` : stringFlag(args, 'predictions') ? '--predictions' : 'no patch';
    throw new HarnessError('usage', `--watch needs --patch FILE (the file it watches), got ${given}`);
  }
  return file;
}

/** --watch: the patch run again at each change of its file (scripts/lib/cli/watch.ts), until Ctrl-C. */
function watch(args: Args, task: Task, cfg: HarnessConfig, file: string): Promise<number> {
  // Read by its absolute path from now on: the directory it was given from may go away meanwhile.
  args.patch = path.resolve(file);
  const phase = { waiting: false };
  const controller = abortOnSignals(() => (phase.waiting ? 'the watch ends' : 'stopping and removing the container, then the watch ends...'));
  const say = (line: string) => args.quiet || process.stderr.write(`${line}\n`);
  return watchRuns({ file: args.patch, shown: file, signal: controller.signal, phase, say }, async () => told(args, await execute(args, task, cfg, await planOrRecord(args, task, cfg), controller.signal)));
}

await main(async () => {
  const args = parseFlags(process.argv.slice(2), FLAGS);
  if (args.help) {
    process.stdout.write(`${USAGE}\n\n${AGENT_USAGE}\n`);
    return 0;
  }
  if (args._.length) throw new HarnessError('usage', `unexpected argument "${args._[0]}" (see --help)`);
  await engineFlag(args);
  const task = await taskFromArgs(args);
  const cfg = configFlags(args);
  if (args.watch) return watch(args, task, cfg, watchedFile(args));
  const plan = await planOrRecord(args, task, cfg);
  const controller = abortOnSignals('stopping and removing the container...');
  return told(args, await execute(args, task, cfg, plan, controller.signal));
});
