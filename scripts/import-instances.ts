/**
 * import-instances: validate SWE-bench instances as published (JSONL or a
 * JSON array: SWE-bench Lite/Verified, SWE-Gym, SWE-rebench, SWE-smith...),
 * normalise them (SWE-bench field names, FAIL_TO_PASS / PASS_TO_PASS as real
 * arrays) and append the ones not there yet to an instances JSONL file that
 * run-one / run-many read with `--instances`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { main, parseFlags, stringFlag } from './lib/cli/flags.js';
import { ROOT } from './lib/core/config.js';
import { HarnessError, errorMessage } from './lib/core/errors.js';
import { instanceToRow, loadInstances, parseInstances } from './lib/task/instances.js';
import { DEFAULT_SPECS_FILE, loadSpecs, specFor } from './lib/task/specs.js';

const DEFAULT_OUT = path.join(ROOT, 'sandbox', 'instances.jsonl');

const USAGE = `usage: npx tsx scripts/import-instances.ts --instances FILE [options]

  --instances FILE   instances as published: JSON Lines or a JSON array
  --out FILE         instances file to append to (default: sandbox/instances.jsonl);
                     ids already in it are skipped
  --filter REGEX     only ids matching REGEX (matched from the start of the id)
  --specs FILE       specs file(s) to check install commands against (repeatable;
                     default: specs/default.json); only reported, not written
  -h, --help         this text

Prints one summary line. Exit codes: 0 done, 2 bad input.`;

const FLAGS = {
  string: ['instances', 'out', 'filter'],
  boolean: ['help'],
  alias: { h: 'help' },
};

/** Take every `--specs X` / `--specs=X` out of argv (cli.ts allows repeating only a few flags). */
function takeRepeated(argv: string[], name: string): { rest: string[]; values: string[] } {
  const rest: string[] = [];
  const values: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === `--${name}`) {
      const v = argv[i + 1];
      if (v === undefined || v === '' || v.startsWith('-')) throw new HarnessError('usage', `--${name} needs a value`);
      values.push(v);
      i++;
    } else if (a.startsWith(`--${name}=`)) {
      const v = a.slice(name.length + 3);
      if (v === '') throw new HarnessError('usage', `--${name} needs a value`);
      values.push(v);
    } else {
      rest.push(a);
    }
  }
  return { rest, values };
}

function display(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

async function run(): Promise<number> {
  const { rest, values: specFiles } = takeRepeated(process.argv.slice(2), 'specs');
  const args = parseFlags(rest, FLAGS);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args._.length) throw new HarnessError('usage', `unexpected argument ${JSON.stringify(String(args._[0]))} (see --help)`);
  const input = stringFlag(args, 'instances');
  if (!input) throw new HarnessError('usage', '--instances FILE is required (see --help)');
  const out = path.resolve(stringFlag(args, 'out') ?? DEFAULT_OUT);
  const filterText = stringFlag(args, 'filter');
  let filter: RegExp | null = null;
  if (filterText !== null) {
    try {
      filter = new RegExp(`^(?:${filterText})`);
    } catch (err) {
      throw new HarnessError('usage', `--filter is not a valid regular expression: ${errorMessage(err)}`);
    }
  }

  const instances = await loadInstances(input);
  const specs = await loadSpecs(specFiles.length ? specFiles : [DEFAULT_SPECS_FILE]);

  let existing = '';
  try {
    existing = fs.readFileSync(out, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new HarnessError('task', `cannot read ${out}: ${errorMessage(err)}`, { cause: err });
    }
  }
  // Validates the output file too: never append to something we could not read back.
  let present: Set<string>;
  try {
    present = new Set(parseInstances(existing, out).map((i) => i.instance_id));
  } catch (err) {
    throw new HarnessError('task', `refusing to append to ${out}: ${errorMessage(err)}`, { cause: err });
  }

  const selected = filter ? instances.filter((i) => filter.test(i.instance_id)) : instances;
  const fresh = selected.filter((i) => !present.has(i.instance_id));
  const skipped = selected.length - fresh.length;
  const noSpec = fresh.filter((i) => i.install === null && i.pre_install.length === 0 && specFor(specs, i.repo, i.version) === null).length;
  const noTests = fresh.filter((i) => i.fail_to_pass.length === 0 && i.pass_to_pass.length === 0).length;

  if (fresh.length) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const sep = existing !== '' && !existing.endsWith('\n') ? '\n' : '';
    fs.appendFileSync(out, sep + fresh.map((i) => JSON.stringify(instanceToRow(i))).join('\n') + '\n');
  }

  const notes = [
    `${skipped} already there`,
    ...(filter ? [`${instances.length - selected.length} filtered out`] : []),
    ...(noSpec ? [`${noSpec} with no install command of their own and no spec for their repo/version`] : []),
    ...(noTests ? [`${noTests} without FAIL_TO_PASS/PASS_TO_PASS tests`] : []),
  ];
  process.stdout.write(`imported ${fresh.length} of ${instances.length} instances from ${display(path.resolve(input))} into ${display(out)} (${notes.join(', ')})\n`);
  return 0;
}

await main(run);
