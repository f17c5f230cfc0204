/**
 * The entry scripts' shared flag parsing: values that look like options,
 * number formats, empty values, dead or conflicting flags, the runs dir.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { intFlag, listFlag, parseFlags, secondsFlag } from '../../scripts/lib/cli/flags.js';
import { configFlags, patchModeFlags, RUN_BOOLEAN_FLAGS, RUN_STRING_FLAGS, stageTimeoutsFlags, taskSetFlags } from '../../scripts/lib/cli/run-flags.js';
import { HarnessError } from '../../scripts/lib/core/errors.js';

const SPEC = { string: [...RUN_STRING_FLAGS, 'workers', 'k', 'slice'], boolean: RUN_BOOLEAN_FLAGS, alias: { h: 'help' } };
const parse = (...argv: string[]) => parseFlags(argv, SPEC);

/** The usage error `fn` throws (exit 2), as its message. */
function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).exitCode).toBe(2);
    return (err as HarnessError).message;
  }
  throw new Error('no error thrown');
}

describe('negative numbers as values', () => {
  it('reads `--workers -1` as a bad value of --workers, not an unknown option -1', () => {
    expect(usageError(() => intFlag(parse('--workers', '-1'), 'workers', 1))).toBe('--workers must be a positive integer, got "-1"');
  });

  it('reads `--test-timeout -5` as a bad number of seconds', () => {
    expect(usageError(() => stageTimeoutsFlags(parse('--test-timeout', '-5')))).toBe(
      '--test-timeout must be a positive number of seconds up to 604800, got "-5"',
    );
  });

  it('still takes a negative slice bound after a space, and leaves a real option alone', () => {
    expect(parse('--slice', '-5:').slice).toBe('-5:');
    expect(usageError(() => parse('--workers', '-x'))).toMatch(/unknown option -x/);
  });
});

describe('number formats', () => {
  it.each(['0x10', '1e3', ' 5', '5s', '0', ''])('refuses --test-timeout %j', (v) => {
    expect(usageError(() => secondsFlag(parse(`--test-timeout=${v}`), 'test-timeout'))).toMatch(/--test-timeout must be a positive number of seconds/);
  });

  it.each([['5', 5], ['2.5', 2.5], ['.5', 0.5], ['120', 120]])('takes --test-timeout %j as %d s', (v, n) => {
    expect(secondsFlag(parse('--test-timeout', v), 'test-timeout')).toBe(n);
  });

  it.each(['0x2', '2.0', '1e1'])('refuses --workers %j', (v) => {
    expect(usageError(() => intFlag(parse('--workers', v), 'workers', 1))).toMatch(/--workers must be a positive integer/);
  });
});

describe('flags without a value', () => {
  it('says -k needs a value, at the end or before another option', () => {
    expect(usageError(() => listFlag(parse('-k'), 'k', { nonEmpty: true }))).toBe('-k needs a value');
    expect(usageError(() => listFlag(parse('-k', '--json'), 'k', { nonEmpty: true }))).toBe('-k needs a value');
    expect(listFlag(parse('-k', 'a', '-k', 'b'), 'k', { nonEmpty: true })).toEqual(['a', 'b']);
  });

  it('says --specs needs a value', () => {
    expect(usageError(() => taskSetFlags(parse('--instances', 'i.jsonl', '--specs')))).toBe('--specs needs a value');
  });
});

describe('dead and conflicting flags', () => {
  it('refuses --specs without --instances (only instances use specs)', () => {
    expect(usageError(() => taskSetFlags(parse('--specs', 'x.json')))).toMatch(/--specs only applies to --instances/);
    expect(taskSetFlags(parse('--instances', 'i.jsonl', '--specs', 'x.json'))).toEqual({ tasksFile: null, instancesFile: 'i.jsonl', specsFiles: ['x.json'] });
  });

  it.each([
    [['--patch', 'a.diff', '--gold']],
    [['--predictions', 'p.jsonl', '--task-patch']],
    [['--patch', 'a.diff', '--predictions', 'p.jsonl']],
  ])('refuses two patch sources %j', async (argv) => {
    await expect(patchModeFlags(parse(...argv), { stdin: true })).rejects.toThrow('give at most one of --predictions, --gold/--task-patch, --patch');
  });

  it('reads each patch source into its mode', async () => {
    expect(await patchModeFlags(parse(), { stdin: false })).toEqual({ kind: 'none' });
    expect(await patchModeFlags(parse('--gold'), { stdin: false })).toEqual({ kind: 'task' });
    await expect(patchModeFlags(parse('--patch', '/nonexistent.diff'), { stdin: false })).rejects.toThrow('--patch "/nonexistent.diff" cannot be read (no such file)');
  });
});

describe('--runs-dir', () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-flags-'));

  it('is a usage error naming it when it is a file', () => {
    const file = path.join(tmp(), 'runs');
    fs.writeFileSync(file, 'x');
    expect(usageError(() => configFlags(parse('--runs-dir', file)))).toBe(`--runs-dir "${file}" is a file, not a directory`);
  });

  it('is a usage error naming the file when a parent is one', () => {
    const file = path.join(tmp(), 'f');
    fs.writeFileSync(file, 'x');
    expect(usageError(() => configFlags(parse('--runs-dir', path.join(file, 'a', 'b'))))).toBe(`--runs-dir "${path.join(file, 'a', 'b')}": "${file}" is a file, not a directory`);
  });

  it('may be a directory that does not exist yet', () => {
    const dir = path.join(tmp(), 'new', 'runs');
    expect(configFlags(parse('--runs-dir', dir)).runsDir).toBe(dir);
    expect(fs.existsSync(dir)).toBe(false);
  });
});
