/**
 * The report page in one call: collect what the inputs name and write the
 * self-contained page (scripts/report.ts; run-many at the end of a batch).
 */
import path from 'node:path';
import { collectReport, type ReportData } from './collect.js';
import { writeReportPage } from './page.js';

export const REPORT_PAGE = 'report.html';

/** Where the page goes by default: next to the summary, in the runs dir, or in the run dir given. */
export function defaultReportFile(inputs: string[]): string {
  const first = path.resolve(inputs[0] ?? '.');
  return path.join(first.endsWith('.json') ? path.dirname(first) : first, REPORT_PAGE);
}

/** Write the page for `inputs` to `outFile`; returns the data it shows. */
export async function writeReport(inputs: string[], outFile: string): Promise<ReportData> {
  const data = collectReport(inputs, outFile);
  await writeReportPage(outFile, data);
  return data;
}
