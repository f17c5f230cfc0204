/**
 * What every entry script shares: strict flag parsing on minimist, values checked
 * with the flag named, Ctrl-C as an abort, and HarnessError turned into an exit code.
 */
import path from 'node:path';
import minimist from 'minimist';
import { MAX_STAGE_SECONDS, validSeconds } from '../core/config.js';
import { HarnessError, errorMessage } from '../core/errors.js';
import { watchLaunchers } from './launcher.js';

export interface FlagSpec {
  string?: string[];
  boolean?: string[];
  alias?: Record<string, string>;
  default?: Record<string, unknown>;
  /** String flags this script also takes several times, besides the ones every script does (REPEATABLE). */
  repeatable?: string[];
}

/** `--workers -1` → `--workers=-1`: minimist would read a negative number as a flag of its own. */
function joinNegativeValues(argv: string[], stringFlags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.replace(/^--?/, '');
    if (a.startsWith('-') && a !== '--' && !a.includes('=') && stringFlags.includes(name) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      if (a === '--') return [...out, ...argv.slice(i)];
      out.push(a);
    }
  }
  return out;
}

/** `--name`, or `-k` for a one-letter flag. */
export function flagName(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/** Parse argv; an unknown flag is a usage error naming it. */
export function parseFlags(rawArgv: string[], spec: FlagSpec): minimist.ParsedArgs {
  const argv = joinNegativeValues(rawArgv, [...(spec.string ?? []), ...Object.entries(spec.alias ?? {}).filter(([, to]) => spec.string?.includes(to)).map(([from]) => from)]);
  const known = new Set([...(spec.string ?? []), ...(spec.boolean ?? []), ...Object.keys(spec.alias ?? {}), ...Object.values(spec.alias ?? {})]);
  const unknown: string[] = [];
  const args = minimist(argv, {
    string: spec.string,
    boolean: spec.boolean,
    alias: spec.alias,
    default: spec.default,
    unknown: (arg) => {
      if (arg.startsWith('-')) unknown.push(arg.replace(/=.*/, ''));
      return !arg.startsWith('-');
    },
  });
  if (unknown.length) throw new HarnessError('usage', `unknown option ${unknown[0]} (see --help)`);
  for (const name of known) {
    const v = args[name];
    if (Array.isArray(v) && (spec.string ?? []).includes(name) && !REPEATABLE.has(name) && !spec.repeatable?.includes(name)) {
      throw new HarnessError('usage', `--${name} given more than once`);
    }
  }
  return args;
}

/** Flags that may be given several times (collected into a list). */
const REPEATABLE = new Set(['tests', 'k', 'specs', 'repo-path']);

/** A positive number of seconds written in decimal (not `0x10`, not `1e3`), or undefined when the flag is absent. */
export function secondsFlag(args: minimist.ParsedArgs, name: string): number | undefined {
  const raw = args[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^(\d+\.?\d*|\.\d+)$/.test(String(raw)) || !validSeconds(n)) {
    throw new HarnessError('usage', `--${name} must be a positive number of seconds up to ${MAX_STAGE_SECONDS}, got "${raw}"`);
  }
  return n;
}

/** A positive integer, or the default. */
export function intFlag(args: minimist.ParsedArgs, name: string, fallback: number): number {
  const raw = args[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(String(raw)) || !Number.isSafeInteger(n) || n <= 0) throw new HarnessError('usage', `--${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** A string flag given once, or null. */
export function stringFlag(args: minimist.ParsedArgs, name: string): string | null {
  const v = args[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v === '') throw new HarnessError('usage', `${flagName(name)} needs a value`);
  return v;
}

/** Every value of a repeatable flag, as strings; with `nonEmpty`, a flag given without a value is a usage error. */
export function listFlag(args: minimist.ParsedArgs, name: string, opts: { nonEmpty?: boolean } = {}): string[] {
  const v = args[name];
  const values = v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String);
  if (opts.nonEmpty && values.includes('')) throw new HarnessError('usage', `${flagName(name)} needs a value`);
  return values;
}

/** `--repo-path owner/name=PATH` values as a map (paths made absolute). */
export function repoPathsFlag(args: minimist.ParsedArgs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of listFlag(args, 'repo-path', { nonEmpty: true })) {
    const m = /^([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)=(.+)$/.exec(v);
    if (!m) throw new HarnessError('usage', `--repo-path must look like owner/name=PATH, got "${v}"`);
    out[m[1]!] = path.resolve(m[2]!);
  }
  return out;
}

/**
 * Ctrl-C, SIGTERM and the death of the launching npx/tsx process abort the
 * returned controller (once, with a line saying what happens now) instead of
 * killing the process: the run still removes its containers and writes its results.
 */
export function abortOnSignals(doing: string | (() => string)): AbortController {
  const controller = new AbortController();
  const stop = (why: string) => {
    if (!controller.signal.aborted) process.stderr.write(`\ninterrupted${why}: ${typeof doing === 'string' ? doing : doing()}\n`);
    controller.abort();
  };
  process.on('SIGINT', () => stop(''));
  process.on('SIGTERM', () => stop(''));
  watchLaunchers((pid) => stop(` (the launching process ${pid} is gone)`));
  return controller;
}

/** Run an entry script's main; HarnessError becomes `error: <message>` and its exit code, anything else exit 3. */
export async function main(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (err) {
    if (err instanceof HarnessError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`internal error: ${errorMessage(err)}\n`);
      if (process.env.SWE_HARNESS_DEBUG) console.error(err);
      process.exitCode = 3;
    }
  }
}
