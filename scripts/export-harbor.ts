/**
 * export-harbor: SWE-bench-style instances as Harbor task directories
 * (instruction.md, task.toml, environment/Dockerfile, tests/test.sh,
 * solution/solve.sh) whose tests grade the way this harness does.
 */
import path from 'node:path';
import type minimist from 'minimist';
import { listFlag, main, parseFlags, repoPathsFlag, stringFlag } from './lib/cli/flags.js';
import { HarnessError, errorMessage } from './lib/core/errors.js';
import { exportHarborTask, harborUnsupported } from './lib/export/harbor.js';
import { instanceToTask, loadInstances } from './lib/task/instances.js';
import { DEFAULT_SPECS_FILE, loadSpecs, specFor } from './lib/task/specs.js';

const USAGE = `usage: npx tsx scripts/export-harbor.ts --instances FILE --out DIR [options]

  --instances FILE        instances (JSONL or a JSON list), as run-one reads them
  --out DIR               one Harbor task directory per instance goes here (replaced if present)
  --specs FILE            extra specs files over specs/default.json (repeatable)
  --filter REGEX          only ids matching REGEX (matched from the start of the id)
  --base-image IMAGE      FROM image of environments whose instance and spec name none
                          (default: swebench-lite:py3.11, the local harness image)
  --repo-path OWNER/NAME=PATH  take that repository from a local clone (repeatable)
  -h, --help              this text

Instances whose log parser is not pytest-style (django, sympy) or that carry an
eval_script are skipped with a line on stderr. Exit codes: 0 done, 2 bad input.`;

const FLAGS = {
  string: ['instances', 'out', 'specs', 'filter', 'base-image', 'repo-path'],
  boolean: ['help'],
  alias: { h: 'help' },
};

function filterFrom(args: minimist.ParsedArgs): RegExp | null {
  const text = stringFlag(args, 'filter');
  if (text === null) return null;
  try {
    return new RegExp(`^(?:${text})`);
  } catch (err) {
    throw new HarnessError('usage', `--filter is not a valid regular expression: ${errorMessage(err)}`);
  }
}

await main(async () => {
  const args = parseFlags(process.argv.slice(2), FLAGS);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args._.length) throw new HarnessError('usage', `unexpected argument ${JSON.stringify(String(args._[0]))} (see --help)`);
  const input = stringFlag(args, 'instances');
  const out = stringFlag(args, 'out');
  if (!input || !out) throw new HarnessError('usage', '--instances FILE and --out DIR are required (see --help)');
  const filter = filterFrom(args);
  const [instances, specs] = await Promise.all([loadInstances(input), loadSpecs([DEFAULT_SPECS_FILE, ...listFlag(args, 'specs', { nonEmpty: true })])]);
  const opts = { baseImage: stringFlag(args, 'base-image') ?? 'swebench-lite:py3.11', repoPaths: repoPathsFlag(args) };
  let written = 0;
  let skipped = 0;
  for (const inst of instances) {
    if (filter && !filter.test(inst.instance_id)) continue;
    const spec = specFor(specs, inst.repo, inst.version);
    const task = instanceToTask(inst, spec);
    const why = harborUnsupported(task);
    if (why) {
      process.stderr.write(`skipped ${inst.instance_id}: ${why}\n`);
      skipped++;
      continue;
    }
    const { dir, source } = await exportHarborTask(inst, task, spec, path.resolve(out), opts);
    process.stdout.write(`${inst.instance_id} -> ${path.relative(process.cwd(), dir) || dir} (repository: ${source})\n`);
    written++;
  }
  process.stdout.write(`exported ${written} Harbor task(s) to ${out}${skipped ? `, skipped ${skipped}` : ''}\n`);
  return 0;
});
