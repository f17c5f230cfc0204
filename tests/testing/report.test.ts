import { describe, expect, it } from 'vitest';
import type { Grading } from '../../scripts/lib/testing/grading.js';
import { instanceReport, runReport, type SwebenchInstanceReport } from '../../scripts/lib/testing/report.js';

const GRADING: Grading = {
  resolved: false,
  fail_to_pass: { success: ['test_a'], failure: ['test_b'] },
  pass_to_pass: { success: ['test_c'], failure: [] },
};

describe('instanceReport (SWE-bench report.json)', () => {
  it('writes a graded run with all four test buckets, keyed by the instance id', () => {
    expect(instanceReport('django__django-11099', { patch: 'diff', tests_ran: true, grading: GRADING })).toEqual({
      'django__django-11099': {
        patch_is_None: false,
        patch_exists: true,
        patch_successfully_applied: true,
        resolved: false,
        tests_status: {
          FAIL_TO_PASS: { success: ['test_a'], failure: ['test_b'] },
          PASS_TO_PASS: { success: ['test_c'], failure: [] },
          FAIL_TO_FAIL: { success: [], failure: [] },
          PASS_TO_FAIL: { success: [], failure: [] },
        },
      },
    });
  });

  it('keeps the keys in SWE-bench\'s order', () => {
    const r = instanceReport('x__y-1', { patch: 'diff', tests_ran: true, grading: { ...GRADING, resolved: true } })['x__y-1']!;
    expect(Object.keys(r)).toEqual(['patch_is_None', 'patch_exists', 'patch_successfully_applied', 'resolved', 'tests_status']);
    expect(Object.keys(r.tests_status!)).toEqual(['FAIL_TO_PASS', 'PASS_TO_PASS', 'FAIL_TO_FAIL', 'PASS_TO_FAIL']);
    expect(r.resolved).toBe(true);
  });

  it.each<[string, { patch: string | null; tests_ran: boolean; grading: Grading | null }, SwebenchInstanceReport]>([
    ['a null patch', { patch: null, tests_ran: false, grading: null }, { patch_is_None: true, patch_exists: false, patch_successfully_applied: false, resolved: false }],
    ['a patch that did not apply', { patch: 'diff', tests_ran: false, grading: null }, { patch_is_None: false, patch_exists: true, patch_successfully_applied: false, resolved: false }],
    ['a run that timed out, even with a grading', { patch: 'diff', tests_ran: false, grading: GRADING }, { patch_is_None: false, patch_exists: true, patch_successfully_applied: false, resolved: false }],
  ])('stops early for %s, without tests_status', (_name, outcome, expected) => {
    expect(instanceReport('a__b-1', outcome)).toEqual({ 'a__b-1': expected });
  });

  it('refuses a run that ran its tests without a grading', () => {
    expect(() => instanceReport('a__b-1', { patch: 'd', tests_ran: true, grading: null })).toThrow('a__b-1 ran its tests but has no grading');
  });
});

describe('runReport (SWE-bench run report)', () => {
  const resolved = instanceReport('r__r-1', { patch: 'd', tests_ran: true, grading: { ...GRADING, resolved: true } })['r__r-1']!;
  const unresolved = instanceReport('u__u-1', { patch: 'd', tests_ran: true, grading: GRADING })['u__u-1']!;
  const report = runReport({
    dataset: ['r__r-1', 'u__u-1', 'e__e-1', 'n__n-1', 'x__x-1', 'm__m-1', 'z__z-1'],
    predictions: { 'u__u-1': 'd', 'r__r-1': 'd', 'e__e-1': '', 'n__n-1': null, 'x__x-1': 'd', 'z__z-1': 'd', 'other__o-1': 'd' },
    reports: { 'r__r-1': resolved, 'u__u-1': unresolved, 'z__z-1': null },
  });

  it('fills SWE-bench\'s keys, in its order, with schema_version 2', () => {
    expect(report).toEqual({
      total_instances: 7,
      submitted_instances: 7,
      completed_instances: 2,
      resolved_instances: 1,
      unresolved_instances: 1,
      empty_patch_instances: 2,
      error_instances: 2,
      completed_ids: ['r__r-1', 'u__u-1'],
      incomplete_ids: ['m__m-1'],
      empty_patch_ids: ['e__e-1', 'n__n-1'],
      submitted_ids: ['e__e-1', 'n__n-1', 'other__o-1', 'r__r-1', 'u__u-1', 'x__x-1', 'z__z-1'],
      resolved_ids: ['r__r-1'],
      unresolved_ids: ['u__u-1'],
      error_ids: ['x__x-1', 'z__z-1'],
      schema_version: 2,
    });
    expect(Object.keys(report)).toEqual([
      'total_instances', 'submitted_instances', 'completed_instances', 'resolved_instances', 'unresolved_instances',
      'empty_patch_instances', 'error_instances', 'completed_ids', 'incomplete_ids', 'empty_patch_ids', 'submitted_ids',
      'resolved_ids', 'unresolved_ids', 'error_ids', 'schema_version',
    ]);
  });

  it.each([
    ['an empty prediction as an empty patch, not an error', 'e__e-1', 'empty_patch_ids'],
    ['a null prediction as an empty patch', 'n__n-1', 'empty_patch_ids'],
    ['a dataset instance without a prediction as incomplete', 'm__m-1', 'incomplete_ids'],
    ['a run without a report as an error', 'x__x-1', 'error_ids'],
    ['a null report as an error', 'z__z-1', 'error_ids'],
  ] as const)('counts %s', (_name, id, bucket) => {
    expect(report[bucket]).toContain(id);
  });
});
