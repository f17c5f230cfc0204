import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectReport } from '../../scripts/lib/report/collect.js';
import { reportHtml } from '../../scripts/lib/report/page.js';
import { writeMixedRuns } from '../support/report-fixtures.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-collect-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('collectReport', () => {
  it('reads every layout, and names what is missing or broken', () => {
    const runs = path.join(dir, 'runs');
    writeMixedRuns(runs);
    const data = collectReport([runs], path.join(runs, 'report.html'));
    const by = Object.fromEntries(data.runs.map((r) => [r.task_id, r]));
    expect(data.runs).toHaveLength(7);
    expect(by['swe-harness__statskit-1']!.layout).toBe('compact');
    expect(by['swe-harness__statskit-1']!.tests.find((t) => t.id.endsWith('test_window_edge'))).toEqual({ id: 'tests/test_rolling.py::test_window_edge', before: 'FAILED', after: 'PASSED', kind: 'F2P', ok: true });
    expect(by['swe-harness__statskit-1']!.stages[2]!.log).toContain('\x1b[31m');
    expect(by['statskit-passing']!.layout).toBe('inline');
    expect(by['swe-harness__frametools-1']!.resolved).toBe(true);
    expect(by['demo-statskit']!.trajectory!.filter((e) => e.type === 'step')).toHaveLength(3);
    expect(by['broken-task']!.problem).toMatch(/^broken result.json/);
    expect(by['missing-task']!.problem).toMatch(/^no result.json/);
    expect(by['not-a-result']!.problem).toMatch(/not a run result \(no status\)/);
  });

  it('follows a summary to its runs, a gone run a row with the reason', () => {
    const runs = path.join(dir, 'runs');
    const dirs = writeMixedRuns(runs);
    const summary = path.join(dir, 'summary.json');
    fs.writeFileSync(summary, JSON.stringify({ total: 2, wall_s: 12.5, workers: 2, interrupted: false, tokens: null, tasks: [
      { task_id: 'swe-harness__statskit-1', status: 'failed', resolved: false, duration_s: 4.2, skipped: false, result_file: path.join(dirs.compact, 'result.json') },
      { task_id: 'gone', status: 'passed', resolved: true, duration_s: 1, skipped: false, result_file: path.join(dir, 'gone', 'result.json') },
    ] }));
    const data = collectReport([summary], path.join(dir, 'report.html'));
    expect(data.batches[0]!.wall_s).toBe(12.5);
    expect(data.runs.map((r) => [r.task_id, r.status])).toEqual([['swe-harness__statskit-1', 'failed'], ['gone', 'missing']]);
    expect(data.runs[0]!.href).toBe('runs/20260101-100000-aaaa-swe-harness__statskit-1');
  });

  it('refuses an input that is not there', () => {
    expect(() => collectReport([path.join(dir, 'nope')], path.join(dir, 'r.html'))).toThrow(/no such file/);
  });

  it('builds one self-contained page: no external script, style or fetch', async () => {
    const runs = path.join(dir, 'runs');
    writeMixedRuns(runs);
    const html = await reportHtml(collectReport([runs], path.join(runs, 'report.html')));
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|@import|https?:\/\/[^"'\s]*\.(js|css)\b/);
    expect(html).toContain('id="report-data"');
    // The data cannot close its script element early.
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });
});
