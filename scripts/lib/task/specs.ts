/**
 * Environment specs per repository and version: what SWE-bench keeps in code
 * as MAP_REPO_VERSION_TO_SPECS, kept here as JSON data (`specs/default.json`).
 *
 * A specs file is one JSON object mapping `"owner/name"` to either an EnvSpec
 * (the same for every version) or
 *
 *     { "default": EnvSpec, "versions": { "1.3": EnvSpec, ... } }
 *
 * (both keys optional). Keys starting with `_` (e.g. `"_comment"`) are
 * ignored everywhere except inside `env`. Unknown keys are errors: specs
 * files are written by hand, and a typo should not silently drop a setting.
 *
 * `loadSpecs(files)` reads several files; a later file replaces an earlier
 * one's entry per repo default and per repo/version (the whole EnvSpec of
 * that slot, not field by field). `specFor` merges the version's EnvSpec
 * over the repo default (`env` and `timeouts` key by key, other fields
 * replaced).
 *
 * `specs/swebench.json` holds SWE-bench's own table (every repo/version of
 * Lite and Verified) with the fields it needs beyond the harness's:
 * `log_parser`, `python`, `packages`, `pip_packages`, `eval_commands`,
 * `workdir` and `env_prelude` (the prebuilt-image layout).
 *
 * Errors are HarnessError('task') naming the file and the JSON path, e.g.
 *   specs.json: "psf/requests".versions."2.0".install must be a string, got 3
 */
import path from 'node:path';
import { MAX_STAGE_SECONDS, ROOT, validSeconds } from '../core/config.js';
import { HarnessError, errorMessage } from '../core/errors.js';
import { readInputFile } from '../core/files.js';
import { REPO_NAME_RE } from './ids.js';
import { isPlainObject, kindOf, showValue } from '../core/values.js';

/** How to set up and test one repository (at one version). */
export interface EnvSpec {
  /** Image to run in. */
  image?: string;
  /** Install command (bash, in the repo). */
  install?: string;
  /** Environment variables for install and tests. */
  env?: Record<string, string>;
  /** Test command, for runners that do not build their own pytest command line. */
  test_cmd?: string;
  /** Commands run before `install` (SWE-bench's `pre_install`). */
  pre_install?: string[];
  /** The install step needs the network (PyPI) even when the repo is local. */
  install_network?: boolean;
  /** Per-stage time limits in seconds (remote clones and real installs need more than the defaults). */
  timeouts?: { clone?: number; install?: number; test?: number };
  /** Which log parser reads the test output (SWE-bench's MAP_REPO_TO_PARSER, by name; see LOG_PARSER_NAMES). */
  log_parser?: LogParserName;
  /** Python version SWE-bench built the environment with (`"3.9"`). */
  python?: string;
  /** SWE-bench's `packages`: conda packages, or `requirements.txt` / `environment.yml`. */
  packages?: string;
  /** SWE-bench's `pip_packages`: pip requirements installed into the environment. */
  pip_packages?: string[];
  /** SWE-bench's `eval_commands`: shell lines run before the tests (locale exports...). */
  eval_commands?: string[];
  /** Absolute path of the repository inside a prebuilt image (SWE-bench: `/testbed`). */
  workdir?: string;
  /** Shell prefix that enters the test environment (SWE-bench: `source /opt/miniconda3/bin/activate && conda activate testbed`). */
  env_prelude?: string;
}

/** Log parser names a spec may name (the registry in testing/parsers implements exactly these). */
export const LOG_PARSER_NAMES = ['pytest', 'pytest_options', 'pytest_v2', 'matplotlib', 'seaborn', 'django', 'sympy'] as const;
export type LogParserName = (typeof LOG_PARSER_NAMES)[number];

export interface RepoSpecs {
  /** Spec for every version (null: none). */
  default: EnvSpec | null;
  /** Version-specific specs, merged over `default`. */
  versions: Record<string, EnvSpec>;
}

/** Specs by `owner/name`. */
export type Specs = Map<string, RepoSpecs>;

/** The shipped specs file. */
export const DEFAULT_SPECS_FILE = path.join(ROOT, 'specs', 'default.json');
/** SWE-bench's spec table (every repo/version of Lite and Verified); loaded first in prebuilt mode. */
export const SWEBENCH_SPECS_FILE = path.join(ROOT, 'specs', 'swebench.json');

const SPEC_KEYS = [
  'image',
  'install',
  'env',
  'test_cmd',
  'pre_install',
  'install_network',
  'timeouts',
  'log_parser',
  'python',
  'packages',
  'pip_packages',
  'eval_commands',
  'workdir',
  'env_prelude',
] as const;
const PYTHON_VERSION_RE = /^\d+\.\d+(?:\.\d+)?$/;
const TIMEOUT_KEYS = ['clone', 'install', 'test'] as const;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One JSON path segment: bare when it is an identifier, quoted otherwise. */
function seg(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
}

function join(base: string, key: string): string {
  return base ? `${base}.${seg(key)}` : seg(key);
}

function bad(source: string, at: string, what: string, value: unknown): never {
  throw new HarnessError('task', `${source}: ${at} ${what}, got ${showValue(value)}`);
}

function isIgnored(key: string): boolean {
  return key.startsWith('_');
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], source: string, at: string): void {
  for (const key of Object.keys(obj)) {
    if (isIgnored(key) || allowed.includes(key)) continue;
    throw new HarnessError('task', `${source}: ${join(at, key)} is not a known key; allowed: ${allowed.join(', ')} (keys starting with "_" are ignored)`);
  }
}

function validateSpec(value: unknown, source: string, at: string): EnvSpec {
  if (!isPlainObject(value)) bad(source, at, 'must be an object', value);
  checkKeys(value, SPEC_KEYS, source, at);
  const f = new SpecFields(value, source, at);
  const spec: EnvSpec = {
    image: f.str('image', (v) => !/\s/.test(v) && !v.startsWith('-'), 'must be an image reference (no whitespace, no leading "-")'),
    install: f.str('install'),
    test_cmd: f.str('test_cmd'),
    env: f.env(),
    pre_install: f.list('pre_install'),
    pip_packages: f.list('pip_packages'),
    eval_commands: f.list('eval_commands'),
    packages: f.str('packages'),
    env_prelude: f.str('env_prelude'),
    workdir: f.str('workdir', (v) => v.startsWith('/') && !/\s/.test(v), 'must be an absolute path without whitespace'),
    python: f.str('python', (v) => PYTHON_VERSION_RE.test(v), 'must be a Python version such as "3.9"'),
    log_parser: f.oneOf('log_parser', LOG_PARSER_NAMES),
    install_network: f.bool('install_network'),
    timeouts: f.timeouts(),
  };
  // Absent fields stay absent: a later specs file's spec overrides only what it sets.
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as EnvSpec;
}

/** Reading one spec's fields, each with the message that names its JSON path. */
class SpecFields {
  constructor(
    private readonly value: Record<string, unknown>,
    private readonly source: string,
    private readonly at: string,
  ) {}

  private fail(key: string, what: string, v: unknown): never {
    bad(this.source, join(this.at, key), what, v);
  }

  /** A non-empty string that passes `ok` when given. */
  str(key: string, ok?: (v: string) => boolean, rule = ''): string | undefined {
    const v = this.value[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') this.fail(key, 'must be a string', v);
    if (ok && !ok(v)) this.fail(key, rule, v);
    return v;
  }

  list(key: string): string[] | undefined {
    const v = this.value[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) this.fail(key, 'must be an array of strings', v);
    return v.map((c: unknown, i: number) => {
      if (typeof c !== 'string' || c.trim() === '') bad(this.source, `${join(this.at, key)}[${i}]`, 'must be a string', c);
      return c;
    });
  }

  env(): Record<string, string> | undefined {
    const v = this.value.env;
    if (v === undefined) return undefined;
    const envAt = join(this.at, 'env');
    if (!isPlainObject(v)) bad(this.source, envAt, 'must be an object of strings', v);
    const env: Record<string, string> = {};
    for (const [name, x] of Object.entries(v)) {
      if (!ENV_NAME_RE.test(name)) bad(this.source, join(envAt, name), 'is not a valid environment variable name', name);
      if (typeof x !== 'string') bad(this.source, join(envAt, name), 'must be a string', x);
      env[name] = x;
    }
    return env;
  }

  oneOf<T extends string>(key: string, names: readonly T[]): T | undefined {
    const v = this.value[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !(names as readonly string[]).includes(v)) this.fail(key, `must be one of ${names.join(', ')}`, v);
    return v as T;
  }

  bool(key: string): boolean | undefined {
    const v = this.value[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.fail(key, 'must be true or false', v);
    return v;
  }

  timeouts(): EnvSpec['timeouts'] {
    const v = this.value.timeouts;
    if (v === undefined) return undefined;
    const tAt = join(this.at, 'timeouts');
    if (!isPlainObject(v)) bad(this.source, tAt, 'must be an object', v);
    checkKeys(v, TIMEOUT_KEYS, this.source, tAt);
    const timeouts: NonNullable<EnvSpec['timeouts']> = {};
    for (const key of TIMEOUT_KEYS) {
      const x = v[key];
      if (x === undefined) continue;
      if (!validSeconds(x)) bad(this.source, join(tAt, key), `must be a positive number of seconds up to ${MAX_STAGE_SECONDS}`, x);
      timeouts[key] = x;
    }
    return timeouts;
  }
}

/** Parse the text of one specs file. `source` names it in messages. */
export function parseSpecs(text: string, source: string): Specs {
  let root: unknown;
  try {
    root = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new HarnessError('task', `${source}: invalid JSON: ${errorMessage(err)}`);
  }
  if (!isPlainObject(root)) {
    throw new HarnessError('task', `${source}: expected a JSON object mapping "owner/name" to specs, got ${kindOf(root)}`);
  }
  const specs: Specs = new Map();
  for (const [repo, entry] of Object.entries(root)) {
    if (isIgnored(repo)) continue;
    const at = seg(repo);
    if (!REPO_NAME_RE.test(repo)) bad(source, at, 'is not a repository name ("owner/name")', repo);
    if (!isPlainObject(entry)) bad(source, at, 'must be an object (an EnvSpec, or {"default", "versions"})', entry);
    if ('versions' in entry || 'default' in entry) {
      checkKeys(entry, ['default', 'versions'], source, at);
      const def = entry.default === undefined || entry.default === null ? null : validateSpec(entry.default, source, join(at, 'default'));
      const versions: Record<string, EnvSpec> = {};
      if (entry.versions !== undefined) {
        const vAt = join(at, 'versions');
        if (!isPlainObject(entry.versions)) bad(source, vAt, 'must be an object mapping versions to specs', entry.versions);
        for (const [version, spec] of Object.entries(entry.versions)) {
          if (isIgnored(version)) continue;
          versions[version] = validateSpec(spec, source, join(vAt, version));
        }
      }
      specs.set(repo, { default: def, versions });
    } else {
      specs.set(repo, { default: validateSpec(entry, source, at), versions: {} });
    }
  }
  return specs;
}

/** `over` on top of `base`: per repo, a given default replaces the old one, each given version replaces the old one. */
export function mergeSpecs(base: Specs, over: Specs): Specs {
  const out: Specs = new Map();
  for (const [repo, rs] of base) out.set(repo, { default: rs.default, versions: { ...rs.versions } });
  for (const [repo, rs] of over) {
    const prev = out.get(repo);
    if (!prev) {
      out.set(repo, { default: rs.default, versions: { ...rs.versions } });
      continue;
    }
    out.set(repo, { default: rs.default ?? prev.default, versions: { ...prev.versions, ...rs.versions } });
  }
  return out;
}

/** Read and merge specs files, later ones overriding earlier ones. */
export async function loadSpecs(files: readonly string[]): Promise<Specs> {
  let specs: Specs = new Map();
  for (const file of files) {
    const text = await readInputFile(file, 'specs file');
    specs = mergeSpecs(specs, parseSpecs(text, file));
  }
  return specs;
}

/**
 * The spec for a repo at a version: the version's spec merged over the repo
 * default (`env` and `timeouts` merged key by key, every other field taken
 * from the version when it sets it). Null when the repo is unknown, or
 * has neither a default nor this version.
 */
export function specFor(specs: Specs, repo: string, version: string | null): EnvSpec | null {
  const rs = specs.get(repo);
  if (!rs) return null;
  const v = version !== null ? rs.versions[version] : undefined;
  const d = rs.default;
  if (!v && !d) return null;
  if (!v) return cloneSpec(d!);
  if (!d) return cloneSpec(v);
  const merged: EnvSpec = { ...cloneSpec(d), ...cloneSpec(v) };
  if (d.env || v.env) merged.env = { ...(d.env ?? {}), ...(v.env ?? {}) };
  if (d.timeouts || v.timeouts) merged.timeouts = { ...(d.timeouts ?? {}), ...(v.timeouts ?? {}) };
  return merged;
}

function cloneSpec(s: EnvSpec): EnvSpec {
  const c: EnvSpec = { ...s };
  if (s.env) c.env = { ...s.env };
  if (s.pre_install) c.pre_install = [...s.pre_install];
  if (s.pip_packages) c.pip_packages = [...s.pip_packages];
  if (s.eval_commands) c.eval_commands = [...s.eval_commands];
  if (s.timeouts) c.timeouts = { ...s.timeouts };
  return c;
}
