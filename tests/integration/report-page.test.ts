/**
 * The report page in a real browser: Debian's chromium through playwright-core
 * (tests/support/browser.ts). Screenshots of each view go to
 * sandbox/report-screenshots/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../scripts/lib/report/report.js';
import { launchChromium } from '../support/browser.js';
import { writeManyRuns, writeMixedRuns } from '../support/report-fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = path.join(ROOT, 'sandbox', 'report-screenshots');

let tmp: string;
let context: BrowserContext;
let close: () => Promise<void>;
let mixedPage: string;
const errors: string[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-page-'));
  fs.mkdirSync(SHOTS, { recursive: true });
  const runs = path.join(tmp, 'mixed');
  writeMixedRuns(runs);
  mixedPage = path.join(runs, 'report.html');
  await writeReport([runs], mixedPage);
  ({ context, close } = await launchChromium());
});

afterAll(async () => {
  await close?.();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function open(file: string, hash = ''): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  // Nothing may be fetched: every request but the page itself fails the test.
  page.on('request', (r) => {
    if (r.url() !== pathToFileURL(file).href + hash && !r.url().startsWith('data:')) errors.push(`fetched ${r.url()}`);
  });
  await page.goto(pathToFileURL(file).href + hash);
  await page.waitForSelector('body[data-ready=true]');
  return page;
}

const rowCount = (page: Page) => page.locator('#rows tr.row').count();
const taskIds = (page: Page) => page.locator('#rows td.task_id a').allTextContents();
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

describe('the report page', () => {
  it('shows the overview and one row per run, broken ones with their reason', async () => {
    const page = await open(mixedPage);
    expect(await page.locator('[data-testid=run-count]').textContent()).toBe('7');
    expect(await rowCount(page)).toBe(7);
    const problems = await page.locator('#rows .problem').allTextContents();
    expect(problems).toHaveLength(3);
    expect(problems.some((p) => p.startsWith('broken result.json'))).toBe(true);
    expect(problems.some((p) => p.startsWith('no result.json'))).toBe(true);
    await shot(page, '1-overview-and-runs');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('filters by text and status, and sorts by a column', async () => {
    const page = await open(mixedPage);
    await page.fill('#q', 'statskit-');
    await expect.poll(() => taskIds(page)).toEqual(['statskit-passing', 'swe-harness__statskit-1']);
    await page.selectOption('#status', 'passed');
    await expect.poll(() => taskIds(page)).toEqual(['statskit-passing']);
    await page.fill('#q', '');
    await page.selectOption('#status', '');
    await expect.poll(() => rowCount(page)).toBe(7);
    await page.click('th[data-sort=task_id]');
    const asc = await taskIds(page);
    expect(asc).toEqual([...asc].sort((a, b) => a.localeCompare(b)));
    await page.click('th[data-sort=task_id]');
    expect(await taskIds(page)).toEqual([...asc].reverse());
    expect(await page.getAttribute('th[data-sort=task_id]', 'aria-sort')).toBe('descending');
    // Sorting by duration: the broken rows (no duration) first, ascending.
    await page.click('th[data-sort=duration_s]');
    expect((await taskIds(page)).slice(0, 3).sort()).toEqual(['broken-task', 'missing-task', 'not-a-result']);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a run: stages with coloured logs, its diff and its test table', async () => {
    const page = await open(mixedPage);
    await page.click('#rows a:text-is("swe-harness__statskit-1")');
    await page.waitForSelector('body[data-view=run]');
    expect(await page.locator('[data-testid=run-title]').textContent()).toBe('swe-harness__statskit-1');
    expect(await page.locator('.stages-table tbody tr:not(.logrow)').count()).toBe(5);
    // ANSI colours rendered, not shown as escape codes.
    await page.click('summary:has-text("tests_after.log")');
    expect(await page.locator('pre.log .ansi-red-fg').count()).toBeGreaterThan(0);
    expect(await page.locator('pre.log').first().textContent()).not.toContain('\x1b[');
    // The long log is collapsed to its end, the rest behind a button.
    expect(await page.locator('button.expand').first().textContent()).toMatch(/show all 46 lines/);
    await shot(page, '2-run-stages');

    await page.click('.tab[data-tab=diff]');
    await page.waitForSelector('#diff .d2h-file-wrapper');
    expect(await page.locator('#diff .d2h-ins').count()).toBeGreaterThan(0);
    expect(await page.locator('#diff .d2h-del').count()).toBeGreaterThan(0);
    await shot(page, '3-run-diff-unified');
    await page.check('input[name=fmt][value=side-by-side]');
    await page.waitForSelector('#diff .d2h-file-side-diff');
    await shot(page, '4-run-diff-side-by-side');

    await page.click('.tab[data-tab=tests]');
    const rows = page.locator('[data-testid=tests-table] tbody tr');
    expect(await rows.count()).toBe(5);
    const f2p = page.locator('[data-testid=tests-table] tr.k-F2P');
    expect(await f2p.count()).toBe(1);
    expect(await f2p.locator('td.tid').textContent()).toBe('tests/test_rolling.py::test_window_edge');
    expect(await page.locator('[data-testid=tests-table] tr.flipped').count()).toBe(2);
    expect(await page.locator('[data-testid=tests-table] tr.k-P2P').count()).toBe(2);
    await shot(page, '5-run-tests');
    await page.check('#only-interesting');
    expect(await rows.count()).toBe(2); // the FAIL_TO_PASS test and the PASS_TO_PASS one that broke (both flipped)
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows an agent run step by step', async () => {
    const page = await open(mixedPage);
    await page.click('#rows a:text-is("demo-statskit")');
    await page.click('.tab[data-tab=trajectory]');
    const steps = page.locator('[data-testid=step]');
    expect(await steps.count()).toBe(3);
    expect(await steps.nth(0).locator('code.tool').textContent()).toBe('read_file');
    expect(await steps.nth(1).locator('pre.args').textContent()).toContain('"path": "statskit/rolling.py"');
    // A long observation is cut to its end, expandable.
    await steps.nth(0).locator('button.expand').click();
    expect(await steps.nth(0).locator('pre.full').textContent()).toContain('1: code line 1');
    expect(await page.locator('[data-testid=stop-reason]').textContent()).toBe('tests_passed');
    await shot(page, '6-agent-trajectory');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows runs in the older layouts and broken ones', async () => {
    const page = await open(mixedPage);
    await page.click('#rows a:text-is("statskit-passing")');
    expect(await page.locator('.run-head').textContent()).toContain('older result.json layout');
    await page.click('.tab[data-tab=tests]');
    expect(await page.locator('[data-testid=tests-table] tbody tr').count()).toBe(2);
    await page.goto(pathToFileURL(mixedPage).href);
    await page.click('#rows a:text-is("swe-harness__frametools-1")');
    expect(await page.locator('.run-head').textContent()).toContain('resolved');
    await page.click('.tab[data-tab=tests]');
    expect(await page.locator('[data-testid=tests-table] tr.k-F2P').count()).toBe(1);
    await page.goto(pathToFileURL(mixedPage).href);
    await page.click('#rows a:text-is("broken-task")');
    expect(await page.locator('[data-testid=problem]').textContent()).toMatch(/^broken result.json/);
    await shot(page, '7-broken-run');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('stays quick with 2,000 runs: paginated, filtered and sorted in the browser', async () => {
    const runs = path.join(tmp, 'many');
    writeManyRuns(runs, 2000);
    const file = path.join(runs, 'report.html');
    await writeReport([runs], file);
    const t0 = Date.now();
    const page = await open(file);
    const loadMs = Date.now() - t0;
    expect(await page.locator('[data-testid=run-count]').textContent()).toBe('2,000');
    expect(await rowCount(page)).toBe(100); // one page
    expect(await page.locator('#shown').textContent()).toBe('showing 1–100 of 2000');
    const t1 = Date.now();
    await page.selectOption('#status', 'timeout');
    await expect.poll(() => page.locator('#shown').getAttribute('data-matches')).toBe('250');
    await page.fill('#q', 'synthetic-00');
    await expect.poll(() => page.locator('#shown').getAttribute('data-matches')).toBe('12');
    const filterMs = Date.now() - t1;
    await page.fill('#q', '');
    await page.selectOption('#status', '');
    await page.click('th[data-sort=duration_s]');
    await page.click('th[data-sort=duration_s]');
    const first = await page.locator('#rows td.duration_s').first().textContent();
    expect(first).toBe('1m01s'); // the longest: 60.9 s
    await page.click('#next');
    expect(await page.locator('#pageno').textContent()).toBe('page 2 / 20');
    await shot(page, '8-two-thousand-runs');
    // Generous bounds: a slow shared machine must not flake, a page that hangs must fail.
    expect(loadMs).toBeLessThan(20_000);
    expect(filterMs).toBeLessThan(10_000);
    expect(errors).toEqual([]);
    await page.close();
  });
});
