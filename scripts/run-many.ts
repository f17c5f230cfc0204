/**
 * run-many: run a tasks or SWE-bench instances file with N workers, skipping
 * what is already done, and write a summary. See --help and the README.
 */
import path from 'node:path';
import type minimist from 'minimist';
import { abortOnSignals, intFlag, listFlag, main, parseFlags, stringFlag } from './lib/cli/flags.js';
import { checkDirPath, configFlags, ENGINE_USAGE, engineFlag, patchModeFlags, patchOrError, PREBUILT_USAGE, RUN_BOOLEAN_FLAGS, RUN_FLAG_DEFAULTS, RUN_STRING_FLAGS, SNAPSHOT_USAGE, stageTimeoutsFlags, taskSetFlags } from './lib/cli/run-flags.js';
import type { HarnessConfig, StageTimeouts } from './lib/core/config.js';
import { errorMessage, HarnessError } from './lib/core/errors.js';
import { runBatch, summaryTable, writeSummary, type BatchItem, type BatchOptions, type BatchSummary, type EngineSlots } from './lib/batch/batch.js';
import { engineFor, useEngine } from './lib/engine/docker.js';
import { agentOptionsFromArgs, AGENT_BOOLEAN_FLAGS, AGENT_STRING_FLAGS } from './lib/cli/agent-options.js';
import { batchRunReport, reportPredictions, runIdFor, writeRunReport } from './lib/batch/run-report.js';
import { loadTaskSet, type PatchMode } from './lib/task/taskset.js';
import { REPORT_PAGE, writeReport } from './lib/report/report.js';
import type { Task } from './lib/core/types.js';

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
  --run-id ID            run id of SWE-bench's run report <model>.<run-id>.json, written next to
                         the summary for instances with --predictions, --gold or --agent
                         (default: the runs dir's name)
  --json                 print the summary JSON on stdout
  -h, --help
${ENGINE_USAGE}
  --engine NAME|URL=N    several engines at once (repeatable): N runs at a time on each, e.g.
                         --engine build-server=16 --engine tcp://vm1:2376=8. The local engine
                         (the default one above) is among them with --workers slots unless
                         named: --engine local=N gives it N, --engine local=0 leaves it out.
                         An engine that does not answer, or goes away mid-run, hands its tasks
                         to the others (its lost runs stay as \`error\` results naming it)
${PREBUILT_USAGE}
${SNAPSHOT_USAGE}

Runner agent: --agent and its flags (see run-one --help) solve each task with a model;
  patches are appended to --preds FILE (default <runs-dir>/preds.json).

Exit codes: 0 every task resolved/passed, 1 some did not (per-task errors, engine or image
            problems included: each is in its result and the summary), 2 bad input, 130 interrupted.`;

const FLAGS = {
  string: [...RUN_STRING_FLAGS, 'slice', 'filter', 'workers', 'summary', 'run-id', ...AGENT_STRING_FLAGS],
  boolean: [...RUN_BOOLEAN_FLAGS, 'redo-existing', ...AGENT_BOOLEAN_FLAGS],
  alias: { h: 'help' },
  default: { 'tool-calls': true, ...RUN_FLAG_DEFAULTS },
  // Several engines at once: --engine A=8 --engine B=16.
  repeatable: ['engine'],
};

type Args = minimist.ParsedArgs;

/**
 * `--engine SPEC=N` (repeatable; also several `--engine SPEC`, each with --workers
 * slots): the engines of a batch over several, the local (default) engine among
 * them with --workers slots unless `local=N` names it (`local=0` leaves it out).
 * One `--engine SPEC` without `=N`, or none: null, the one engine of the process (engineFlag).
 * @throws HarnessError('usage') for an engine named twice, an unknown context, or no slot at all.
 */
async function engineSlotsFlag(args: Args, workers: number): Promise<EngineSlots[] | null> {
  const specs = listFlag(args, 'engine', { nonEmpty: true });
  if (specs.length <= 1 && !specs.some((s) => /=\d+$/.test(s))) {
    await engineFlag(args);
    return null;
  }
  const local = await useEngine(null);
  const slots: EngineSlots[] = [];
  for (const spec of specs) {
    const m = /^(.+)=(\d+)$/.exec(spec);
    const name = m ? m[1]! : spec;
    const engine = name === 'local' ? local : await engineFor(name);
    if (slots.some((s) => s.engine.label === engine.label)) throw new HarnessError('usage', `--engine: engine ${engine.label} is named twice`);
    slots.push({ engine, slots: m ? Number(m[2]) : workers });
  }
  if (!slots.some((s) => s.engine.label === local.label)) slots.unshift({ engine: local, slots: workers });
  const used = slots.filter((s) => s.slots > 0);
  if (used.length === 0) throw new HarnessError('usage', '--engine: every engine has 0 slots');
  return used;
}

/** Python-style slice bounds. */
export function parseSlice(spec: string, n: number): [number, number] {
  const m = /^(-?\d*):(-?\d*)$/.exec(spec);
  if (!m) throw new HarnessError('usage', `--slice must look like A:B (e.g. 0:10, :5, 10:), got "${spec}"`);
  const at = (s: string, dflt: number) => (s === '' ? dflt : Number(s) < 0 ? Math.max(0, n + Number(s)) : Math.min(n, Number(s)));
  return [at(m[1]!, 0), at(m[2]!, n)];
}

/** The tasks of the file that --filter and --slice keep. */
async function selectTasks(args: Args): Promise<Task[]> {
  let tasks = await loadTaskSet(taskSetFlags(args));
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
  return tasks;
}

/** Each task with its patch; with predictions, only the predicted tasks (SWE-bench evaluates those). */
function batchItems(tasks: Task[], mode: PatchMode): BatchItem[] {
  if (mode.kind === 'predictions') {
    tasks = tasks.filter((t) => mode.preds.has(t.task_id));
    if (tasks.length === 0) throw new HarnessError('usage', `no task has a prediction in ${mode.file}`);
  }
  return tasks.map((task) => ({ task, patch: patchOrError(task, mode) }));
}

/** With --agent, how each item runs, the mode folded into cache keys and the preds.json it appends to; else plain runs. */
async function agentRunner(args: Args, image: string | null, timeouts: Partial<StageTimeouts>, runsDir: string): Promise<Pick<BatchOptions, 'runOne' | 'mode'> & { predsFile?: string }> {
  const agent = agentOptionsFromArgs(args);
  if (!agent) return {};
  // Loaded only for --agent: it pulls in the openai SDK, about a second of start-up.
  const { runAgent, agentMode } = await import('./lib/agent/run.js');
  const predsFile = agent.predsFile ?? path.join(runsDir, 'preds.json');
  return {
    runOne: (item: BatchItem, cfg: HarnessConfig, signal: AbortSignal) => runAgent(item.task, { ...agent, cfg, image, timeouts, signal, predsFile }),
    mode: agentMode(agent.model, agent.limits, agent.toolCalls),
    predsFile,
  };
}

/** On a terminal one line is rewritten; elsewhere each completion is a line (the last one is not repeated). */
function progressLine(line: string, final: boolean): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
  else if (!final) process.stderr.write(`${line}\n`);
}

/** What the batch leaves behind: summary.json, report.html next to it, and for SWE-bench instances with predictions SWE-bench's run report. */
async function report(args: Args, summary: BatchSummary, runsDir: string, tasks: Task[], mode: PatchMode, agentPredsFile: string | null): Promise<void> {
  const summaryFile = path.resolve(stringFlag(args, 'summary') ?? path.join(runsDir, 'summary.json'));
  writeSummary(summaryFile, summary);
  if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.stderr.write(`${summaryTable(summary)}\nsummary: ${path.relative(process.cwd(), summaryFile)}\n`);
  // The report page next to the summary (README, "Report page"); a page that cannot be written is a warning, not the batch's end.
  const page = path.join(path.dirname(summaryFile), REPORT_PAGE);
  try {
    await writeReport([summaryFile], page);
    process.stderr.write(`report page: ${path.relative(process.cwd(), page)}\n`);
  } catch (err) {
    process.stderr.write(`report page not written: ${errorMessage(err)}\n`);
  }
  const preds = await reportPredictions(tasks, mode, agentPredsFile);
  if (!preds) return;
  const run = batchRunReport(tasks, preds, summary);
  const file = writeRunReport(path.dirname(summaryFile), preds.model, runIdFor(stringFlag(args, 'run-id'), runsDir), run);
  process.stderr.write(
    `run report: ${path.relative(process.cwd(), file)} (SWE-bench's: resolved ${run.resolved_instances}/${run.total_instances}, ` +
      `unresolved ${run.unresolved_instances}, empty patch ${run.empty_patch_instances}, errors ${run.error_instances}, incomplete ${run.incomplete_ids.length})\n`,
  );
}

await main(async () => {
  const args = parseFlags(process.argv.slice(2), FLAGS);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args._.length) throw new HarnessError('usage', `unexpected argument "${args._[0]}" (see --help)`);
  const workers = intFlag(args, 'workers', 1);
  const engines = await engineSlotsFlag(args, workers);
  const tasks = await selectTasks(args);
  const mode = await patchModeFlags(args, { stdin: false });
  const items = batchItems(tasks, mode);
  const timeouts = stageTimeoutsFlags(args);
  const cfg = configFlags(args);
  const image = stringFlag(args, 'image');
  const { predsFile: agentPredsFile, ...agent } = await agentRunner(args, image, timeouts, cfg.runsDir);
  // A bad --run-id or an unwritable --summary is bad input: refused before anything runs.
  runIdFor(stringFlag(args, 'run-id'), cfg.runsDir);
  const summaryFlag = stringFlag(args, 'summary');
  if (summaryFlag) checkDirPath('--summary', path.dirname(path.resolve(summaryFlag)));

  const controller = abortOnSignals('finishing the runs in flight (their containers are removed)...');
  const summary = await runBatch(items, {
    cfg,
    workers,
    image,
    timeouts,
    ...agent,
    redoExisting: Boolean(args['redo-existing']),
    ...(engines ? { engines } : {}),
    signal: controller.signal,
    progress: progressLine,
  });
  await report(args, summary, cfg.runsDir, tasks, mode, agentPredsFile ?? null);
  if (summary.interrupted) return 130;
  return summary.resolved === summary.tasks.length ? 0 : 1;
});
