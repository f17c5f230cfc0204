/**
 * build-image: build the harness image, or keep the one built from the current
 * recipe, and print its name and Python version (scripts/lib/engine/image-build.ts).
 */
import { main, parseFlags } from './lib/cli/flags.js';
import { HarnessError } from './lib/core/errors.js';
import { buildImage } from './lib/engine/image-build.js';

const USAGE = `usage: npm run build-image -- [--force] [--flavour auto|registry|offline]

  --flavour auto      registry image (python:3.10-slim + pip) when Docker Hub answers,
                      else the offline image (Debian bookworm via debootstrap, needs root) [default]
  --flavour registry  only the registry image (docker/Dockerfile)
  --flavour offline   only the offline image (docker/offline/)
  --force             rebuild even when an image of the current recipe exists
  --help              this text

env: DEBIAN_MIRROR (offline: Debian mirror), SWE_HARNESS_BUILD_DIR (offline: where the rootfs is built)`;

await main(async () => {
  const argv = parseFlags(process.argv.slice(2), {
    boolean: ['force', 'help'],
    string: ['flavour'],
    alias: { h: 'help', flavor: 'flavour' },
  });
  if (argv.help) {
    console.log(USAGE);
    return 0;
  }
  if (argv._.length > 0) throw new HarnessError('usage', `unexpected argument ${argv._[0]}`);
  const flavour = argv.flavour ?? 'auto';
  if (flavour !== 'auto' && flavour !== 'registry' && flavour !== 'offline') {
    throw new HarnessError('usage', `--flavour must be auto, registry or offline, not "${flavour}"`);
  }
  const info = await buildImage({
    force: argv.force,
    flavour,
    log: (line) => console.error(`build-image: ${line}`),
  });
  const verb = info.built ? 'built' : 'kept (recipe unchanged; --force rebuilds)';
  console.log(`image ${info.name} ${verb}: python ${info.python}, flavour ${info.flavour}, recipe ${info.recipe}`);
  return 0;
});
