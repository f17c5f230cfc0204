/**
 * cleanup: remove the containers labelled swe-harness.run that a crashed or
 * killed harness left behind. Containers whose harness process is still alive
 * on this host are spared unless --all; `--run ID` limits it to one run.
 * `--snapshots` lists the snapshot images instead and removes them (all, or
 * `--stale` ones only); with --dry-run it only lists them.
 */
import { main, parseFlags, stringFlag } from './lib/cli/flags.js';
import { DEFAULT_CONFIG, RUN_LABEL, SNAPSHOT_LABELS } from './lib/core/config.js';
import { listSnapshots, removeSnapshot } from './lib/engine/snapshots.js';
import { defaultEngine, describeHarnessContainers, listHarnessContainers, removeContainer, useEngine } from './lib/engine/docker.js';
import { HarnessError } from './lib/core/errors.js';

const USAGE = `usage: npx tsx scripts/cleanup.ts [--engine NAME|URL] [--run RUN_ID] [--all] [--dry-run]
       npx tsx scripts/cleanup.ts [--engine NAME|URL] --snapshots [--stale] [--dry-run]

Removes containers labelled ${RUN_LABEL} whose harness process is gone (crashed,
killed). --all also removes those of live runs; --run ID only that run's.
--snapshots: lists the snapshot images (${DEFAULT_CONFIG.snapshots.repo}:<key>, label ${SNAPSHOT_LABELS.key})
with their size, last use, repository and commit, and removes them; --stale only
those whose base image is gone or was rebuilt, and untagged ones (a refresh or a
race left them; never used again); --dry-run only lists.
--engine NAME|URL: on that engine (a docker context name, a host URL such as
unix:///path.sock, tcp://host:2376, ssh://user@host, or podman); default: as the docker client
(DOCKER_HOST, DOCKER_CONTEXT), else this machine's engine.
Exit codes: 0 done, 2 bad option, 3 Docker engine not reachable or a removal failed.`;

await main(async () => {
  const args = parseFlags(process.argv.slice(2), { string: ['run', 'engine'], boolean: ['help', 'dry-run', 'all', 'snapshots', 'stale'], alias: { h: 'help' } });
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args._.length) throw new HarnessError('usage', `unexpected argument "${args._[0]}" (see --help)`);
  await useEngine(stringFlag(args, 'engine'));
  const on = defaultEngine().label === 'local' ? '' : ` on engine ${defaultEngine().label}`;
  if (args.snapshots) return snapshots(Boolean(args.stale), Boolean(args['dry-run']));
  if (args.stale) throw new HarnessError('usage', '--stale goes with --snapshots');
  const run = stringFlag(args, 'run');
  const all = await describeHarnessContainers();
  // A blank run label is a snapshot's (its container's labels are blanked on commit), run by hand: not ours.
  const chosen = all.filter((c) => c.runId !== '' && (run ? c.runId === run : true));
  const spared = args.all || run ? [] : chosen.filter((c) => c.ownerAlive);
  const doomed = chosen.filter((c) => !spared.includes(c));
  if (args['dry-run']) {
    for (const c of doomed) process.stdout.write(`${c.id} ${c.runId}\n`);
    process.stderr.write(`${doomed.length} container(s) would be removed${on}${spared.length ? `; ${spared.length} of live runs spared` : ''}\n`);
    return 0;
  }
  await Promise.all(doomed.map((c) => removeContainer(c.id)));
  const left = new Set(await listHarnessContainers());
  const failed = doomed.filter((c) => left.has(c.id));
  process.stderr.write(
    `removed ${doomed.length - failed.length} container(s)${on}${spared.length ? `; spared ${spared.length} of live runs (--all removes them too)` : ''}` +
      `${failed.length ? `; ${failed.length} could not be removed` : ''}\n`,
  );
  return failed.length ? 3 : 0;
});

/** List the snapshots (least recently used first) and remove them (all, or the stale ones). */
async function snapshots(staleOnly: boolean, dryRun: boolean): Promise<number> {
  const s = DEFAULT_CONFIG.snapshots;
  const all = await listSnapshots(s);
  const mib = (b: number) => (b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(2)} GiB` : `${(b / 1024 ** 2).toFixed(1)} MiB`);
  for (const x of all) {
    const l = x.labels;
    const used = new Date(x.usedMs).toISOString().replace('T', ' ').slice(0, 19);
    const name = x.untagged ? `<untagged ${x.id.replace(/^sha256:/, '').slice(0, 12)}>` : x.name;
    const marks = `${x.stale ? '\tstale' : ''}${x.untagged ? '\tuntagged' : ''}`;
    process.stdout.write(`${name}\t${mib(x.bytes)}\tused ${used}\t${l[SNAPSHOT_LABELS.repo] ?? '?'}@${(l[SNAPSHOT_LABELS.commit] ?? '?').slice(0, 12)}\t${l[SNAPSHOT_LABELS.task] ?? ''}${marks}\n`);
  }
  const total = all.reduce((n, x) => n + x.bytes, 0);
  const doomed = all.filter((x) => !staleOnly || x.stale || x.untagged);
  if (dryRun) {
    process.stderr.write(`${all.length} snapshot(s), ${mib(total)} (cap ${mib(s.capBytes)}); ${doomed.length} would be removed\n`);
    return 0;
  }
  const refused: string[] = [];
  for (const x of doomed) {
    const why = await removeSnapshot(s, x);
    if (why) refused.push(`${x.name}: ${why}`);
  }
  for (const r of refused) process.stderr.write(`not removed: ${r}\n`);
  process.stderr.write(`removed ${doomed.length - refused.length} of ${doomed.length} snapshot(s)${staleOnly ? ` (stale or untagged, of ${all.length} listed)` : ''}\n`);
  return refused.length ? 3 : 0;
}
