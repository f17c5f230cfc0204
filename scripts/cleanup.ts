/**
 * cleanup: remove the containers labelled swe-harness.run that a crashed or
 * killed harness left behind. Containers whose harness process is still alive
 * on this host are spared unless --all; `--run ID` limits it to one run.
 */
import { main, parseFlags, stringFlag } from './lib/cli/flags.js';
import { RUN_LABEL } from './lib/core/config.js';
import { describeHarnessContainers, listHarnessContainers, removeContainer } from './lib/engine/docker.js';
import { HarnessError } from './lib/core/errors.js';

const USAGE = `usage: npx tsx scripts/cleanup.ts [--run RUN_ID] [--all] [--dry-run]

Removes containers labelled ${RUN_LABEL} whose harness process is gone (crashed,
killed). --all also removes those of live runs; --run ID only that run's.
Exit codes: 0 done, 2 bad option, 3 Docker engine not reachable or a removal failed.`;

await main(async () => {
  const args = parseFlags(process.argv.slice(2), { string: ['run'], boolean: ['help', 'dry-run', 'all'], alias: { h: 'help' } });
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args._.length) throw new HarnessError('usage', `unexpected argument "${args._[0]}" (see --help)`);
  const run = stringFlag(args, 'run');
  const all = await describeHarnessContainers();
  const chosen = all.filter((c) => (run ? c.runId === run : true));
  const spared = args.all || run ? [] : chosen.filter((c) => c.ownerAlive);
  const doomed = chosen.filter((c) => !spared.includes(c));
  if (args['dry-run']) {
    for (const c of doomed) process.stdout.write(`${c.id} ${c.runId}\n`);
    process.stderr.write(`${doomed.length} container(s) would be removed${spared.length ? `; ${spared.length} of live runs spared` : ''}\n`);
    return 0;
  }
  await Promise.all(doomed.map((c) => removeContainer(c.id)));
  const left = new Set(await listHarnessContainers());
  const failed = doomed.filter((c) => left.has(c.id));
  process.stderr.write(
    `removed ${doomed.length - failed.length} container(s)${spared.length ? `; spared ${spared.length} of live runs (--all removes them too)` : ''}` +
      `${failed.length ? `; ${failed.length} could not be removed` : ''}\n`,
  );
  return failed.length ? 3 : 0;
});
