/**
 * run-many: run a tasks or SWE-bench instances file with N workers, skipping
 * what is already done, and write a summary. See --help and the README.
 */
import path from 'node:path';
import { abortOnSignals, intFlag, listFlag, main, parseFlags, repoPathsFlag, secondsFlag, stringFlag } from './lib/cli/flags.js';
import { DEFAULT_CONFIG, type HarnessConfig, type StageTimeouts } from './lib/core/config.js';
import { HarnessError } from './lib/core/errors.js';
import { runBatch, summaryTable, writeSummary, type BatchItem } from './lib/batch/batch.js';
import { agentOptionsFromArgs, AGENT_BOOLEAN_FLAGS, AGENT_STRING_FLAGS } from './lib/cli/agent-options.js';
import { loadTaskSet, patchFor, predictionsMode, readPatchFile, type PatchMode } from './lib/task/taskset.js';

const USAGE = `usage: npx tsx scripts/run-many.ts [--tasks FILE | --instances FILE] [options]

What to run:
  --tasks FILE           tasks file (default seed_tasks.jsonl)
  --instances FILE       SWE-bench instances (JSONL or JSON list)
  --specs FILE           environment specs over specs/default.json (repeatable)
  --slice A:B            only tasks A..B-1 of the file (Python slice, e.g. 0:10, :5, 10:; negative: --slice=-5:)
  --filter REGEX         only task ids matching REGEX
Patches:
  --predictions FILE     SWE-bench predictions (JSONL, JSON list or preds.json dict)
  --gold / --task-patch  each task's own patch (an instance's gold patch)
  --patch FILE           the same patch for every task
Running:
  --workers N            parallel runs (default 1)
  --redo-existing        run again even when a result with the same task, image and patch exists
  --image NAME           image for every task
  --repo-cache DIR       host-side git mirrors (owner__name.git), filled on first use
  --repo-path SLUG=PATH  use a local repository for owner/name (repeatable)
  --clone-timeout S --install-timeout S --test-timeout S
  --runs-dir DIR         run directories (default sandbox/runs)
  --summary FILE         summary JSON (default <runs-dir>/summary.json)
  --json                 print the summary JSON on stdout
  -h, --help

Runner agent: --agent and its flags (see run-one --help) solve each task with a model;
  patches are appended to --preds FILE (default <runs-dir>/preds.json).

Exit codes: 0 every task resolved/passed, 1 some did not (per-task errors, engine or image
            problems included: each is in its result and the summary), 2 bad input, 130 interrupted.`;

const FLAGS = {
  string: ['tasks', 'instances', 'specs', 'slice', 'filter', 'predictions', 'patch', 'workers', 'image', 'repo-cache', 'repo-path',
    'clone-timeout', 'install-timeout', 'test-timeout', 'runs-dir', 'summary'],
  boolean: ['gold', 'task-patch', 'redo-existing', 'json', 'help'],
  alias: { h: 'help' },
};
FLAGS.string.push(...AGENT_STRING_FLAGS);
FLAGS.boolean.push(...AGENT_BOOLEAN_FLAGS);

/** Python-style slice bounds. */
export function parseSlice(spec: string, n: number): [number, number] {
  const m = /^(-?\d*):(-?\d*)$/.exec(spec);
  if (!m) throw new HarnessError('usage', `--slice must look like A:B (e.g. 0:10, :5, 10:), got "${spec}"`);
  const at = (s: string, dflt: number) => (s === '' ? dflt : Number(s) < 0 ? Math.max(0, n + Number(s)) : Math.min(n, Number(s)));
  return [at(m[1]!, 0), at(m[2]!, n)];
}

await main(async () => {
  const args = parseFlags(process.argv.slice(2), { ...FLAGS, default: { 'tool-calls': true } });
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args._.length) throw new HarnessError('usage', `unexpected argument "${args._[0]}" (see --help)`);

  let tasks = await loadTaskSet({ tasksFile: stringFlag(args, 'tasks'), instancesFile: stringFlag(args, 'instances'), specsFiles: listFlag(args, 'specs') });
  const filter = stringFlag(args, 'filter');
  if (filter) {
    let re: RegExp;
    try {
      re = new RegExp(filter);
    } catch {
      throw new HarnessError('usage', `--filter is not a valid regular expression: "${filter}"`);
    }
    tasks = tasks.filter((t) => re.test(t.task_id));
  }
  const slice = stringFlag(args, 'slice');
  if (slice) tasks = tasks.slice(...parseSlice(slice, tasks.length));
  if (tasks.length === 0) throw new HarnessError('usage', 'no task left to run after --filter/--slice');

  const chosen = [args.gold || args['task-patch'], args.predictions, args.patch].filter(Boolean).length;
  if (chosen > 1) throw new HarnessError('usage', 'give at most one of --predictions, --gold/--task-patch, --patch');
  const patchFile = stringFlag(args, 'patch');
  const predictions = stringFlag(args, 'predictions');
  const mode: PatchMode = predictions
    ? await predictionsMode(predictions)
    : args.gold || args['task-patch']
      ? { kind: 'task' }
      : patchFile
        ? { kind: 'file', patch: { text: readPatchFile(patchFile, '--patch'), source: patchFile } }
        : { kind: 'none' };
  if (mode.kind === 'predictions') {
    // SWE-bench evaluates the instances that were predicted; the rest are not part of this batch.
    tasks = tasks.filter((t) => mode.preds.has(t.task_id));
    if (tasks.length === 0) throw new HarnessError('usage', `no task has a prediction in ${predictions}`);
  }
  const items: BatchItem[] = tasks.map((task) => {
    try {
      return { task, patch: patchFor(task, mode) };
    } catch (err) {
      return { task, patch: err as HarnessError };
    }
  });

  const timeouts: Partial<StageTimeouts> = {};
  for (const stage of ['clone', 'install', 'test'] as const) {
    const s = secondsFlag(args, `${stage}-timeout`);
    if (s !== undefined) timeouts[stage] = s;
  }
  const runsDir = path.resolve(stringFlag(args, 'runs-dir') ?? DEFAULT_CONFIG.runsDir);
  const cfg: HarnessConfig = {
    ...DEFAULT_CONFIG,
    runsDir,
    repoCache: stringFlag(args, 'repo-cache') ? path.resolve(stringFlag(args, 'repo-cache')!) : null,
    repoPaths: repoPathsFlag(args),
  };
  const workers = intFlag(args, 'workers', 1);
  const agent = agentOptionsFromArgs(args);
  const image = stringFlag(args, 'image');
  // Loaded only for --agent: it pulls in the openai SDK, about a second of start-up.
  const agentLib = agent ? await import('./lib/agent/run.js') : null;
  const runAgentItem = agent
    ? (item: BatchItem, c: HarnessConfig, signal: AbortSignal) =>
        agentLib!.runAgent(item.task, { ...agent, cfg: c, image, timeouts, signal, predsFile: agent.predsFile ?? path.join(runsDir, 'preds.json') })
    : undefined;

  const controller = abortOnSignals('finishing the runs in flight (their containers are removed)...');

  const tty = process.stderr.isTTY;
  const summary = await runBatch(items, {
    cfg,
    workers,
    image,
    timeouts,
    runOne: runAgentItem,
    mode: agent ? agentLib!.agentMode(agent.model, agent.limits, agent.toolCalls) : undefined,
    redoExisting: Boolean(args['redo-existing']),
    signal: controller.signal,
    // On a terminal one line is rewritten; elsewhere each completion is a line (the last one is not repeated).
    progress: (line, final) => {
      if (tty) process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
      else if (!final) process.stderr.write(`${line}\n`);
    },
  });
  const summaryFile = path.resolve(stringFlag(args, 'summary') ?? path.join(runsDir, 'summary.json'));
  writeSummary(summaryFile, summary);
  if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.stderr.write(`${summaryTable(summary)}\nsummary: ${path.relative(process.cwd(), summaryFile)}\n`);
  if (summary.interrupted) return 130;
  return summary.resolved === summary.tasks.length ? 0 : 1;
});
