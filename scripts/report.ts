/**
 * report: one self-contained HTML page over runs, batches and agent
 * trajectories (README, "Report page").
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { main, parseFlags, stringFlag } from './lib/cli/flags.js';
import { DEFAULT_CONFIG } from './lib/core/config.js';
import { HarnessError } from './lib/core/errors.js';
import { defaultReportFile, writeReport } from './lib/report/report.js';

const USAGE = `usage: npx tsx scripts/report.ts [RUNS_DIR | RUN_DIR | result.json | summary.json ...] [--out FILE] [--open]

Writes one self-contained HTML page (styles, scripts and data inline; nothing is
fetched when it opens): an overview, a table of every run (sortable, filterable),
each run's stages, logs, patch, tests and, for agent runs, its trajectory.
  RUNS_DIR        every run directory under it, and its summary.json (default: sandbox/runs)
  RUN_DIR         one run directory
  summary.json    the runs a run-many summary names
  --out FILE      the page (default: report.html in the first directory given, or next to the summary)
  --open          open it in the desktop's browser (xdg-open / open)
Exit codes: 0 written, 2 bad input (an argument that does not exist or is no run, runs dir or summary).`;

await main(async () => {
  const args = parseFlags(process.argv.slice(2), { string: ['out'], boolean: ['help', 'open'], alias: { h: 'help' } });
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const inputs = args._.length ? args._.map(String) : [DEFAULT_CONFIG.runsDir];
  const out = path.resolve(stringFlag(args, 'out') ?? defaultReportFile(inputs));
  if (out.endsWith('.json')) throw new HarnessError('usage', `--out ${out}: the page is HTML; give a .html file`);
  const data = await writeReport(inputs, out);
  const broken = data.runs.filter((r) => r.problem).length;
  process.stderr.write(`report: ${path.relative(process.cwd(), out) || out} (${data.runs.length} runs${broken ? `, ${broken} without a readable result` : ''})\n`);
  if (args.open) {
    const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
    const child = spawn(opener, [out], { stdio: 'ignore', detached: true });
    child.on('error', () => process.stderr.write(`could not run ${opener}; open ${out} yourself\n`));
    child.unref();
  }
  return 0;
});
