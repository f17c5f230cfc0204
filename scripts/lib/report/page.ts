/**
 * The report page: one self-contained HTML file. Its script (client/app.js,
 * with ansi_up for ANSI colours and diff2html for the patch) is bundled by
 * esbuild when the page is built, diff2html's stylesheet and the page's own
 * are inlined, and the data goes in as JSON: nothing is fetched when it opens.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { HarnessError, errorMessage } from '../core/errors.js';
import type { ReportData } from './collect.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

let bundled: { js: string; css: string } | null = null;

/** The page's script and diff2html's stylesheet, built once per process. */
async function assets(): Promise<{ js: string; css: string }> {
  if (bundled) return bundled;
  try {
    const esbuild = await import('esbuild');
    const out = await esbuild.build({
      entryPoints: [path.join(HERE, 'client', 'app.js')],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      minify: true,
      legalComments: 'none',
      write: false,
      logLevel: 'silent',
    });
    const css = fs.readFileSync(path.join(path.dirname(require.resolve('diff2html/package.json')), 'bundles', 'css', 'diff2html.min.css'), 'utf8');
    bundled = { js: out.outputFiles[0]!.text, css };
    return bundled;
  } catch (err) {
    throw new HarnessError('internal', `could not build the report page's script: ${errorMessage(err)}`);
  }
}

/** JSON that is safe inside <script>: no "</script>", no "<!--". */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The whole page for `data`. */
export async function reportHtml(data: ReportData): Promise<string> {
  const { js, css } = await assets();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="swe-harness scripts/report.ts">
<title>${esc(data.title)}</title>
<style>${css}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
<header class="top"><h1>swe-harness report</h1><span class="muted">${esc(data.generated_from.join(', '))}</span></header>
<main id="app"><noscript>This report needs JavaScript.</noscript></main>
<script id="report-data" type="application/json">${scriptJson(data)}</script>
<script>${js.replace(/<\/script/gi, '<\\/script')}</script>
</body>
</html>
`;
}

/** Write the page atomically; returns its path. */
export async function writeReportPage(file: string, data: ReportData): Promise<string> {
  const html = await reportHtml(data);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, html);
  fs.renameSync(tmp, file);
  return file;
}

const PAGE_CSS = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--info:#0969da}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header.top{display:flex;gap:1em;align-items:baseline;padding:.6em 1.2em;border-bottom:1px solid var(--line);background:var(--soft)}
header.top h1{font-size:1.15em;margin:0}
main{padding:1em 1.2em;max-width:1600px}
a{color:var(--info);text-decoration:none}a:hover{text-decoration:underline}
.muted{color:var(--muted)}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:.8em;margin-bottom:1.2em}
.card{border:1px solid var(--line);border-radius:8px;padding:.7em .9em;background:#fff}
.card.wide{grid-column:span 2}
.card h3{margin:0 0 .4em;font-size:.95em;color:var(--muted);font-weight:600}
.card h3 b{color:var(--fg);font-size:1.3em;margin-left:.3em}
.big{font-size:1.4em;font-weight:600}.big small{font-size:.6em;color:var(--muted)}
.bar,.tl{display:flex;height:12px;border-radius:4px;overflow:hidden;background:#eaeef2;margin:.3em 0}
.tl{height:10px;min-width:140px;margin:0}
.seg{display:inline-block;height:100%;min-width:2px}
i.seg{width:12px;height:10px;vertical-align:middle;margin-right:4px;border-radius:2px}
.seg.rest{background:#eaeef2}.seg.none{background:transparent}
.st-passed{background:#2da44e}.st-failed{background:#cf222e}.st-timeout{background:#bf8700}.st-error{background:#8250df}
.st-patch_rejected,.st-patch_failed{background:#e16f24}.st-interrupted{background:#6e7781}.st-broken,.st-missing{background:#24292f}
.stg-clone{background:#54aeff}.stg-install{background:#8c959f}.stg-tests_before{background:#d4a72c}.stg-apply_patch{background:#a475f9}.stg-apply_test_patch{background:#c297ff}.stg-tests_after{background:#4ac26b}
.seg.cached{background-image:repeating-linear-gradient(45deg,rgba(255,255,255,.75) 0 3px,transparent 3px 6px)}
.seg.bad{box-shadow:inset 0 -3px 0 #cf222e}
i.seg.cached{background-color:#8c959f}i.seg.bad{background:#eaeef2}
.badge{display:inline-block;padding:0 .55em;border-radius:1em;color:#fff;font-size:.85em;font-weight:600;line-height:1.6;white-space:nowrap}
.badge.st-ok{background:#2da44e}.badge.st-skipped,.badge.st-cached{background:#8c959f}
.chips{display:flex;flex-wrap:wrap;gap:.3em;margin-top:.4em}
.chip{border:1px solid var(--line);background:#fff;border-radius:1em;padding:.1em .5em;cursor:pointer;font:inherit}.chip:hover{background:var(--soft)}
table{border-collapse:collapse}
table.kv th{text-align:left;color:var(--muted);font-weight:500;padding:.1em .8em .1em 0;white-space:nowrap}table.kv td{padding:.1em 0}
.controls{display:flex;flex-wrap:wrap;gap:.6em;align-items:center;margin:.5em 0}
.controls input[type=search]{min-width:320px;padding:.35em .6em;border:1px solid var(--line);border-radius:6px;font:inherit}
.controls select,.controls button,.pager button{padding:.3em .6em;border:1px solid var(--line);border-radius:6px;background:#fff;font:inherit}
.pager{margin-left:auto}
.legend{display:flex;flex-wrap:wrap;gap:1em;font-size:.85em;color:var(--muted);margin:.3em 0 .6em}
table.runs{width:100%}
table.runs th{position:sticky;top:0;background:var(--soft);text-align:left;padding:.4em .6em;border-bottom:1px solid var(--line);cursor:pointer;user-select:none;white-space:nowrap}
table.runs td{padding:.3em .6em;border-bottom:1px solid #eaeef2;vertical-align:middle}
table.runs tr.row{cursor:pointer}table.runs tr.row:hover{background:#f3f8ff}
td.task_id{max-width:420px;overflow:hidden;text-overflow:ellipsis}td.image{color:var(--muted);font-size:.9em}td.stages{width:200px}
.problem{color:var(--bad);margin:.3em 0;white-space:pre-wrap}.warn{color:var(--warn)}
.yes{color:var(--ok);font-weight:700}.no{color:var(--bad);font-weight:700}
.crumbs{display:flex;gap:1.2em;margin-bottom:.6em}
.run-head h2{display:inline;margin:0 .4em 0 0;font-size:1.3em}
.run-head .meta{display:flex;flex-wrap:wrap;gap:.3em 1.2em;color:var(--fg);margin:.5em 0}
.run-head .problem{background:#ffebe9;border:1px solid #ffcecb;border-radius:6px;padding:.5em .8em}
.tabs{display:flex;gap:.2em;border-bottom:1px solid var(--line);margin:.8em 0}
.tab{border:1px solid transparent;border-bottom:none;background:none;padding:.45em .9em;cursor:pointer;font:inherit;border-radius:6px 6px 0 0;color:var(--muted)}
.tab.on{border-color:var(--line);background:#fff;color:var(--fg);font-weight:600;margin-bottom:-1px}
table.stages-table{width:100%}table.stages-table td,table.stages-table th{padding:.3em .6em;text-align:left;border-bottom:1px solid #eaeef2}
table.stages-table td.w{width:40%}tr.bad-row td{background:#fff8f7}tr.logrow td{padding-top:0}
summary{cursor:pointer;color:var(--muted);margin:.2em 0}
pre.log{background:#0d1117;color:#e6edf3;padding:.6em .8em;border-radius:6px;overflow:auto;max-height:520px;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;margin:.3em 0}
pre.said{background:#f3f8ff;border:1px solid #d8e6ff;padding:.5em .8em;border-radius:6px;white-space:pre-wrap;word-break:break-word;font:13px/1.45 system-ui,sans-serif;margin:.3em 0}
pre.log.wrap,pre.args{white-space:pre-wrap;word-break:break-word}
pre.args{background:var(--soft);padding:.4em .6em;border-radius:6px;font:12px/1.4 ui-monospace,monospace;margin:.3em 0;max-height:300px;overflow:auto}
button.expand{font-size:.8em;border:1px solid var(--line);border-radius:4px;background:#fff;cursor:pointer}
.tag{display:inline-block;font-size:.75em;padding:0 .4em;border-radius:4px;background:#eaeef2;color:var(--muted);font-weight:600}
.tag.F2P{background:#fff1c2;color:#7d4e00}.tag.P2P{background:#ddf4ff;color:#0550ae}
table.tests{width:100%;font-size:.92em}table.tests td,table.tests th{padding:.2em .6em;border-bottom:1px solid #eaeef2;text-align:left}
td.tid{font-family:ui-monospace,monospace;font-size:.95em;word-break:break-all}
tr.k-F2P td{background:#fffbea}tr.flipped td.tid{font-weight:600}.flip{color:var(--info);font-weight:700}
.ts{font-family:ui-monospace,monospace;font-size:.85em;padding:0 .35em;border-radius:3px}
.ts-PASSED,.ts-XFAIL{background:#dafbe1;color:#116329}.ts-FAILED,.ts-ERROR{background:#ffebe9;color:#a40e26}.ts-SKIPPED,.ts-XPASS{background:#eaeef2;color:#57606a}
.step{border:1px solid var(--line);border-radius:8px;padding:.5em .8em;margin:.6em 0}
.step h4{margin:.1em 0 .4em}.step.start,.step.end{background:var(--soft)}
.msg b,.obs b{font-size:.8em;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.call{border-left:3px solid #54aeff;padding-left:.6em;margin:.5em 0}.call.bad{border-left-color:var(--bad)}
code.tool{font-weight:700;color:#8250df}
ul.files{columns:2;font-family:ui-monospace,monospace;font-size:.9em}
svg.hist{width:100%;height:120px}svg.hist rect{fill:#54aeff}svg.hist text{font-size:10px;fill:#656d76}
.d2h-wrapper{font-size:12px}
.ansi-black-fg{color:#484f58}.ansi-red-fg{color:#ff7b72}.ansi-green-fg{color:#3fb950}.ansi-yellow-fg{color:#d29922}.ansi-blue-fg{color:#58a6ff}.ansi-magenta-fg{color:#bc8cff}.ansi-cyan-fg{color:#39c5cf}.ansi-white-fg{color:#b1bac4}
.ansi-bright-black-fg{color:#6e7681}.ansi-bright-red-fg{color:#ffa198}.ansi-bright-green-fg{color:#56d364}.ansi-bright-yellow-fg{color:#e3b341}.ansi-bright-blue-fg{color:#79c0ff}.ansi-bright-magenta-fg{color:#d2a8ff}.ansi-bright-cyan-fg{color:#56d4dd}.ansi-bright-white-fg{color:#f0f6fc}
.ansi-red-bg{background:#8e1519}.ansi-green-bg{background:#0f5323}.ansi-yellow-bg{background:#6c4a00}.ansi-blue-bg{background:#0c2d6b}
`;
