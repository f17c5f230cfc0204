/** SWE-Factory / R2E-Gym "transferred" rows: their dockerfile, eval_script and log_parser fields, and reading the eval script's exit line. */
import { describe, expect, it } from 'vitest';
import { EVAL_SCRIPT_TEST_TIMEOUT, instanceToRow, instanceToTask, parseInstances } from '../../scripts/lib/task/instances.js';
import { evalExitCode, evalImageName, hasEvalScript } from '../../scripts/lib/run/eval-script.js';
import { catchTaskError } from '../support/helpers.js';

const base = { instance_id: 'o__n-1', repo: 'o/n', base_commit: 'abc123', FAIL_TO_PASS: '[]', PASS_TO_PASS: '[]' };
const factory = { ...base, docker_image: 'o__n-1_swefactory_root', dockerfile: 'FROM x\n', eval_script: '#!/bin/bash\necho OMNIGRIL_EXIT_CODE=0\n', log_parser: 'pytest_v2' };

describe('transferred rows', () => {
  it('keeps docker_image, dockerfile, eval_script and log_parser, and round-trips through instanceToRow', () => {
    const [inst] = parseInstances(JSON.stringify(factory), 'f.jsonl');
    expect(inst).toMatchObject({ image: 'o__n-1_swefactory_root', dockerfile: 'FROM x\n', eval_script: factory.eval_script, log_parser: 'pytest_v2' });
    expect(parseInstances(JSON.stringify(instanceToRow(inst!)), 'g.jsonl')).toEqual([inst]);
  });

  it('gives the task its eval script, the row\'s parser over the spec\'s, and SWE-Factory\'s test limit unless the spec sets one', () => {
    const [inst] = parseInstances(JSON.stringify(factory), 'f.jsonl');
    const task = instanceToTask(inst!, { log_parser: 'pytest' });
    expect(hasEvalScript(task)).toBe(true);
    expect(task).toMatchObject({ eval_script: factory.eval_script, dockerfile: 'FROM x\n', log_parser: 'pytest_v2', image: 'o__n-1_swefactory_root' });
    expect(task.timeouts).toEqual({ test: EVAL_SCRIPT_TEST_TIMEOUT });
    expect(instanceToTask(inst!, { timeouts: { test: 42 } }).timeouts).toEqual({ test: 42 });
  });

  it('adds no keys to plain instances (their cache keys stay as they were)', () => {
    const [inst] = parseInstances(JSON.stringify(base), 'f.jsonl');
    const task = instanceToTask(inst!, null);
    expect('eval_script' in task || 'dockerfile' in task).toBe(false);
    expect(hasEvalScript(task)).toBe(false);
    expect(Object.keys(instanceToRow(inst!))).not.toContain('eval_script');
  });

  it('refuses an unknown log_parser, naming the field', () => {
    const err = catchTaskError(() => parseInstances(JSON.stringify({ ...base, log_parser: 'jest' }), 'f.jsonl'));
    expect(err.message).toMatch(/f\.jsonl:1: field "log_parser" must be one of pytest, .*got "jest"/);
  });

  it('names the image of a row without docker_image after the instance', () => {
    expect(evalImageName({ task_id: 'Owner__Repo-12', image: null })).toBe('swe-harness-factory/owner__repo-12:latest');
    expect(evalImageName({ task_id: 'x', image: 'given:tag' })).toBe('given:tag');
  });

  it('reads the last OMNIGRIL_EXIT_CODE line, echoed or traced by set -x, and nothing else', () => {
    expect(evalExitCode('+ echo OMNIGRIL_EXIT_CODE=1\nOMNIGRIL_EXIT_CODE=1\n+ git checkout abc t.py\n')).toBe(1);
    expect(evalExitCode('OMNIGRIL_EXIT_CODE=2\nOMNIGRIL_EXIT_CODE=0\n')).toBe(0);
    expect(evalExitCode('print("OMNIGRIL_EXIT_CODE=0") in a test\n')).toBeNull();
    expect(evalExitCode('no line\n')).toBeNull();
  });
});
