/**
 * import-instances: check and normalise published SWE-bench-style instances and
 * append the new ones to the instances file run-one / run-many read (--instances).
 */
import fs from 'node:fs';
import path from 'node:path';
import type minimist from 'minimist';
import { listFlag, main, parseFlags, stringFlag } from './lib/cli/flags.js';
import { ROOT } from './lib/core/config.js';
import { HarnessError, errorMessage } from './lib/core/errors.js';
import { instanceToRow, loadInstances, parseInstances, type Instance } from './lib/task/instances.js';
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
  string: ['instances', 'out', 'filter', 'specs'],
  boolean: ['help'],
  alias: { h: 'help' },
};

function display(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

interface Options {
  input: string;
  out: string;
  filter: RegExp | null;
  specFiles: string[];
}

function optionsFrom(args: minimist.ParsedArgs): Options {
  if (args._.length) throw new HarnessError('usage', `unexpected argument ${JSON.stringify(String(args._[0]))} (see --help)`);
  const input = stringFlag(args, 'instances');
  if (!input) throw new HarnessError('usage', '--instances FILE is required (see --help)');
  const filterText = stringFlag(args, 'filter');
  let filter: RegExp | null = null;
  if (filterText !== null) {
    try {
      filter = new RegExp(`^(?:${filterText})`);
    } catch (err) {
      throw new HarnessError('usage', `--filter is not a valid regular expression: ${errorMessage(err)}`);
    }
  }
  return { input, out: path.resolve(stringFlag(args, 'out') ?? DEFAULT_OUT), filter, specFiles: listFlag(args, 'specs', { nonEmpty: true }) };
}

/** The output file's text and ids; it is validated too: never append to something we could not read back. */
function readExisting(out: string): { text: string; ids: Set<string> } {
  let text = '';
  try {
    text = fs.readFileSync(out, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new HarnessError('task', `cannot read ${out}: ${errorMessage(err)}`, { cause: err });
    }
  }
  try {
    return { text, ids: new Set(parseInstances(text, out).map((i) => i.instance_id)) };
  } catch (err) {
    throw new HarnessError('task', `refusing to append to ${out}: ${errorMessage(err)}`, { cause: err });
  }
}

function append(out: string, existing: string, fresh: Instance[]): void {
  if (!fresh.length) return;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const sep = existing !== '' && !existing.endsWith('\n') ? '\n' : '';
  fs.appendFileSync(out, sep + fresh.map((i) => JSON.stringify(instanceToRow(i))).join('\n') + '\n');
}

await main(async () => {
  const args = parseFlags(process.argv.slice(2), FLAGS);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { input, out, filter, specFiles } = optionsFrom(args);
  const instances = await loadInstances(input);
  const specs = await loadSpecs(specFiles.length ? specFiles : [DEFAULT_SPECS_FILE]);
  const existing = readExisting(out);

  const selected = filter ? instances.filter((i) => filter.test(i.instance_id)) : instances;
  const fresh = selected.filter((i) => !existing.ids.has(i.instance_id));
  append(out, existing.text, fresh);

  const noSpec = fresh.filter((i) => i.install === null && i.pre_install.length === 0 && specFor(specs, i.repo, i.version) === null).length;
  const noTests = fresh.filter((i) => i.fail_to_pass.length === 0 && i.pass_to_pass.length === 0).length;
  const notes = [
    `${selected.length - fresh.length} already there`,
    ...(filter ? [`${instances.length - selected.length} filtered out`] : []),
    ...(noSpec ? [`${noSpec} with no install command of their own and no spec for their repo/version`] : []),
    ...(noTests ? [`${noTests} without FAIL_TO_PASS/PASS_TO_PASS tests`] : []),
  ];
  process.stdout.write(`imported ${fresh.length} of ${instances.length} instances from ${display(path.resolve(input))} into ${display(out)} (${notes.join(', ')})\n`);
  return 0;
});
