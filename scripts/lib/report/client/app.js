// The report page's script, bundled with ansi_up and diff2html into the page by
// scripts/lib/report/page.ts (esbuild). Plain DOM, no framework: the data is the
// JSON in <script id="report-data">; the hash picks the view (#run=<index>).
import { AnsiUp } from 'ansi_up';
import { html as diffHtml } from 'diff2html';

const data = JSON.parse(document.getElementById('report-data').textContent);
const runs = data.runs;
runs.forEach((r, i) => (r.index = i));
const ansi = new AnsiUp();
ansi.use_classes = true;

const PAGE_SIZE = 100;
const STAGES = ['clone', 'install', 'tests_before', 'apply_patch', 'apply_test_patch', 'tests_after'];
// Stage statuses that are no failure: done, skipped on purpose, or served from a cache (an image, a snapshot).
const FINE = new Set(['ok', 'skipped', 'cached']);
const isCached = (s) => Boolean(s.from) || s.status === 'skipped' || s.status === 'cached';
const state = { q: '', status: '', sort: 'index', dir: 1, page: 0, diffFormat: 'line-by-line' };

// ---- helpers ----
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const fmtS = (s) => (s === null || s === undefined ? '—' : s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(s < 10 ? 2 : 1)}s`);
const fmtBytes = (b) => (b === null || b === undefined ? '—' : b < 1024 ? `${b} B` : b < 1048576 ? `${(b / 1024).toFixed(1)} KB` : `${(b / 1048576).toFixed(1)} MB`);
const fmtN = (n) => (n === null || n === undefined ? '—' : n.toLocaleString('en-US'));
const badge = (status) => `<span class="badge st-${esc(status)}">${esc(status)}</span>`;
const ansiHtml = (s) => ansi.ansi_to_html(s ?? '');
function percentile(xs, p) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const resolvedOf = (r) => (r.resolved !== null ? r.resolved : r.problem ? null : r.status === 'passed');
const lines = (s) => (s ? s.replace(/\n$/, '').split('\n').length : 0);
const fileHref = (r, name) => (r.href ? `${r.href.split('/').map(encodeURIComponent).join('/')}/${name.split('/').map(encodeURIComponent).join('/')}` : null);

/** A log, ANSI colours rendered; long ones collapsed to their last lines with the rest behind a toggle. */
function logBlock(text, opts = {}) {
  if (!text) return '<p class="muted">(empty)</p>';
  const n = lines(text);
  const keep = opts.keep ?? 25;
  if (n <= keep) return `<pre class="log">${ansiHtml(text)}</pre>`;
  const all = text.replace(/\n$/, '').split('\n');
  const last = all.slice(-keep).join('\n');
  return `<div class="collapsible"><button class="expand" type="button">show all ${n} lines</button><pre class="log short">${ansiHtml(last)}</pre><pre class="log full" hidden>${ansiHtml(text)}</pre></div>`;
}

function timeline(r) {
  const total = r.stages.reduce((a, s) => a + (s.duration_s || 0), 0);
  if (!r.stages.length) return '<div class="tl empty"></div>';
  const segs = r.stages.map((s) => {
    const w = total > 0 ? Math.max(2, (100 * (s.duration_s || 0)) / total) : 100 / r.stages.length;
    const cls = [`stg-${s.name}`, isCached(s) ? 'cached' : '', FINE.has(s.status) ? '' : 'bad'].join(' ');
    const title = `${s.name}: ${s.status}${s.from ? ` (from ${s.from})` : ''} ${fmtS(s.duration_s)}${s.exit_code !== null && s.exit_code !== undefined ? ` exit ${s.exit_code}` : ''}`;
    return `<span class="seg ${cls}" style="flex-grow:${w.toFixed(2)}" title="${esc(title)}"></span>`;
  });
  return `<div class="tl">${segs.join('')}</div>`;
}

// ---- overview ----
function overview() {
  const counts = {};
  for (const r of runs) counts[r.status] = (counts[r.status] || 0) + 1;
  const graded = runs.filter((r) => !r.problem);
  const resolved = graded.filter((r) => resolvedOf(r)).length;
  const rate = runs.length ? resolved / runs.length : 0;
  const ds = graded.map((r) => r.duration_s).filter((d) => typeof d === 'number');
  const wall = data.batches.reduce((a, b) => a + (b.wall_s || 0), 0);
  const usage = runs.reduce((a, r) => (r.usage ? { p: a.p + r.usage.prompt_tokens, c: a.c + r.usage.completion_tokens, t: a.t + r.usage.total_tokens, n: a.n + 1, turns: a.turns + (r.turns || 0) } : a), { p: 0, c: 0, t: 0, n: 0, turns: 0 });
  const order = ['passed', 'failed', 'patch_rejected', 'patch_failed', 'timeout', 'error', 'interrupted', 'broken', 'missing'];
  const statuses = Object.keys(counts).sort((a, b) => (order.indexOf(a) + 100 * (order.indexOf(a) < 0)) - (order.indexOf(b) + 100 * (order.indexOf(b) < 0)));
  const bar = statuses.map((s) => `<span class="seg st-${esc(s)}" style="flex-grow:${counts[s]}" title="${esc(s)}: ${counts[s]}"></span>`).join('');
  const chips = statuses.map((s) => `<button type="button" class="chip" data-status="${esc(s)}">${badge(s)} <b>${counts[s]}</b></button>`).join(' ');
  return `
  <section class="cards" id="overview">
    <div class="card wide"><h3>Runs <b data-testid="run-count">${fmtN(runs.length)}</b></h3>
      <div class="bar status-bar">${bar}</div><div class="chips">${chips}</div></div>
    <div class="card"><h3>Resolved</h3><div class="big" data-testid="resolved">${resolved} / ${runs.length} <small>(${(rate * 100).toFixed(1)}%)</small></div>
      <div class="bar"><span class="seg st-passed" style="flex-grow:${resolved}"></span><span class="seg rest" style="flex-grow:${runs.length - resolved}"></span></div></div>
    <div class="card"><h3>Duration</h3><table class="kv">
      <tr><th>p50</th><td>${fmtS(percentile(ds, 50))}</td></tr><tr><th>p95</th><td>${fmtS(percentile(ds, 95))}</td></tr>
      <tr><th>max</th><td>${fmtS(ds.length ? Math.max(...ds) : null)}</td></tr><tr><th>wall</th><td>${data.batches.length ? fmtS(wall) : '—'}${data.batches.some((b) => b.interrupted) ? ' (interrupted)' : ''}</td></tr></table></div>
    ${usage.n ? `<div class="card"><h3>Agent</h3><table class="kv"><tr><th>runs</th><td>${usage.n}</td></tr><tr><th>turns</th><td>${fmtN(usage.turns)}</td></tr>
      <tr><th>prompt tokens</th><td>${fmtN(usage.p)}</td></tr><tr><th>completion</th><td>${fmtN(usage.c)}</td></tr><tr><th>total</th><td>${fmtN(usage.t)}</td></tr></table></div>` : ''}
    <div class="card wide"><h3>Run durations</h3>${histogram(ds)}</div>
  </section>`;
}

function histogram(ds) {
  if (!ds.length) return '<p class="muted">no durations</p>';
  const max = Math.max(...ds);
  const bins = 24;
  const w = max / bins || 1;
  const h = new Array(bins).fill(0);
  for (const d of ds) h[Math.min(bins - 1, Math.floor(d / w))]++;
  const top = Math.max(...h);
  const bw = 600 / bins;
  const rects = h.map((c, i) => `<rect x="${(i * bw + 1).toFixed(1)}" y="${(90 - (80 * c) / top).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${((80 * c) / top).toFixed(1)}"><title>${fmtS(i * w)}–${fmtS((i + 1) * w)}: ${c}</title></rect>`).join('');
  return `<svg class="hist" viewBox="0 0 600 110" preserveAspectRatio="none">${rects}<text x="0" y="106">0s</text><text x="600" y="106" text-anchor="end">${fmtS(max)}</text></svg>`;
}

// ---- table ----
const COLUMNS = [
  { key: 'index', label: '#', val: (r) => r.index },
  { key: 'task_id', label: 'task', val: (r) => r.task_id },
  { key: 'status', label: 'status', val: (r) => r.status },
  { key: 'resolved', label: 'resolved', val: (r) => (resolvedOf(r) === null ? -1 : resolvedOf(r) ? 1 : 0) },
  { key: 'duration_s', label: 'duration', val: (r) => r.duration_s ?? -1 },
  { key: 'stages', label: 'stages', val: (r) => r.stages.length },
  { key: 'image', label: 'image', val: (r) => r.image ?? '' },
  { key: 'patch', label: 'patch', val: (r) => (r.patch ? r.patch.bytes : -1) },
  { key: 'turns', label: 'turns', val: (r) => r.turns ?? -1 },
];
const hasAgent = runs.some((r) => r.turns !== null);
const columns = COLUMNS.filter((c) => c.key !== 'turns' || hasAgent);
runs.forEach((r) => (r.haystack = [r.task_id, r.id, r.status, r.image, r.error, r.repo, r.model].filter(Boolean).join(' ').toLowerCase()));

function filtered() {
  const q = state.q.trim().toLowerCase();
  let xs = runs.filter((r) => (!state.status || r.status === state.status) && (!q || q.split(/\s+/).every((w) => r.haystack.includes(w))));
  const col = columns.find((c) => c.key === state.sort) ?? columns[0];
  xs = xs.slice().sort((a, b) => {
    const x = col.val(a);
    const y = col.val(b);
    return (typeof x === 'string' ? x.localeCompare(y) : x - y) * state.dir || a.index - b.index;
  });
  return xs;
}

function tableShell() {
  const statuses = [...new Set(runs.map((r) => r.status))].sort();
  return `
  <section id="runs">
    <div class="controls">
      <input id="q" type="search" placeholder="filter: task id, status, image, error…" value="${esc(state.q)}" autocomplete="off">
      <select id="status"><option value="">all statuses</option>${statuses.map((s) => `<option ${s === state.status ? 'selected' : ''}>${esc(s)}</option>`).join('')}</select>
      <span id="shown" class="muted"></span>
      <span class="pager"><button type="button" id="prev">‹ prev</button> <span id="pageno"></span> <button type="button" id="next">next ›</button></span>
    </div>
    <div class="legend">${STAGES.map((s) => `<span><i class="seg stg-${s}"></i>${s}</span>`).join('')}<span><i class="seg cached"></i>cached (image, snapshot) or skipped</span><span><i class="seg bad"></i>not ok</span></div>
    <table class="runs"><thead><tr>${columns.map((c) => `<th data-sort="${c.key}" class="${c.key}">${c.label}<span class="arrow"></span></th>`).join('')}</tr></thead><tbody id="rows"></tbody></table>
  </section>`;
}

function rowHtml(r) {
  const res = resolvedOf(r);
  const cells = {
    index: `<td class="index">${r.index + 1}</td>`,
    task_id: `<td class="task_id"><a href="#run=${r.index}">${esc(r.task_id)}</a>${r.problem ? `<div class="problem">${esc(r.problem)}</div>` : ''}</td>`,
    status: `<td class="status">${badge(r.status)}</td>`,
    resolved: `<td class="resolved">${res === null ? '—' : res ? '<span class="yes">✔</span>' : '<span class="no">✘</span>'}</td>`,
    duration_s: `<td class="duration_s num">${fmtS(r.duration_s)}</td>`,
    stages: `<td class="stages">${timeline(r)}</td>`,
    image: `<td class="image">${esc(r.image ?? '—')}</td>`,
    patch: `<td class="patch num">${r.patch ? `${fmtBytes(r.patch.bytes)}, ${r.patch.files.length} file${r.patch.files.length === 1 ? '' : 's'}` : '—'}</td>`,
    turns: `<td class="turns num">${r.turns ?? '—'}</td>`,
  };
  return `<tr data-index="${r.index}" class="row st-row-${esc(r.status)}">${columns.map((c) => cells[c.key]).join('')}</tr>`;
}

function renderRows() {
  const xs = filtered();
  const pages = Math.max(1, Math.ceil(xs.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  const slice = xs.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
  document.getElementById('rows').innerHTML = slice.map(rowHtml).join('') || `<tr><td colspan="${columns.length}" class="muted">no run matches</td></tr>`;
  const from = xs.length ? state.page * PAGE_SIZE + 1 : 0;
  document.getElementById('shown').textContent = `showing ${from}–${state.page * PAGE_SIZE + slice.length} of ${xs.length}${xs.length !== runs.length ? ` (filtered from ${runs.length})` : ''}`;
  document.getElementById('shown').dataset.matches = String(xs.length);
  document.getElementById('pageno').textContent = `page ${state.page + 1} / ${pages}`;
  document.getElementById('prev').disabled = state.page === 0;
  document.getElementById('next').disabled = state.page >= pages - 1;
  for (const th of document.querySelectorAll('th[data-sort]')) {
    const on = th.dataset.sort === state.sort;
    th.setAttribute('aria-sort', on ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
    th.querySelector('.arrow').textContent = on ? (state.dir > 0 ? ' ▲' : ' ▼') : '';
  }
}

function listView(root) {
  root.innerHTML = overview() + tableShell();
  let timer = null;
  document.getElementById('q').addEventListener('input', (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.q = e.target.value;
      state.page = 0;
      renderRows();
    }, 60);
  });
  document.getElementById('status').addEventListener('change', (e) => {
    state.status = e.target.value;
    state.page = 0;
    renderRows();
  });
  for (const chip of document.querySelectorAll('.chip')) {
    chip.addEventListener('click', () => {
      state.status = state.status === chip.dataset.status ? '' : chip.dataset.status;
      document.getElementById('status').value = state.status;
      state.page = 0;
      renderRows();
    });
  }
  document.getElementById('prev').addEventListener('click', () => {
    state.page--;
    renderRows();
  });
  document.getElementById('next').addEventListener('click', () => {
    state.page++;
    renderRows();
  });
  document.querySelector('thead').addEventListener('click', (e) => {
    const th = e.target.closest('th[data-sort]');
    if (!th) return;
    state.dir = state.sort === th.dataset.sort ? -state.dir : 1;
    state.sort = th.dataset.sort;
    renderRows();
  });
  document.getElementById('rows').addEventListener('click', (e) => {
    if (e.target.closest('a')) return;
    const tr = e.target.closest('tr[data-index]');
    if (tr) location.hash = `run=${tr.dataset.index}`;
  });
  renderRows();
}

// ---- one run ----
function countsLine(t) {
  if (!t) return '—';
  const c = t.counts || {};
  const parts = ['passed', 'failed', 'errors', 'skipped', 'xfailed', 'xpassed'].filter((k) => c[k]).map((k) => `${c[k]} ${k}`);
  return `${badge(t.status)} ${parts.join(', ') || `${t.collected} collected`}${t.exit_code !== null && t.exit_code !== undefined ? ` · exit ${t.exit_code}` : ''}${t.note ? ` · <i>${esc(t.note)}</i>` : ''}`;
}

function stagesSection(r) {
  if (!r.stages.length) return '<p class="muted">no stage ran</p>';
  const total = r.stages.reduce((a, s) => a + (s.duration_s || 0), 0);
  return `<table class="stages-table"><thead><tr><th>stage</th><th>status</th><th>duration</th><th>exit</th><th></th></tr></thead><tbody>${r.stages
    .map((s) => `<tr class="${FINE.has(s.status) ? '' : 'bad-row'}"><td><i class="seg stg-${esc(s.name)}"></i> ${esc(s.name)}${s.from ? ` <span class="tag">from ${esc(s.from)}</span>` : ''}</td><td>${badge(s.status)}</td>
      <td class="num">${fmtS(s.duration_s)}</td><td class="num">${s.exit_code ?? '—'}</td><td class="w"><div class="tl"><span class="seg stg-${esc(s.name)}" style="flex-grow:${total ? s.duration_s : 1}"></span><span class="seg none" style="flex-grow:${Math.max(0, total - (s.duration_s || 0))}"></span></div></td></tr>
      ${s.log !== null ? `<tr class="logrow"><td colspan="5"><details ${FINE.has(s.status) ? '' : 'open'}><summary>${esc(s.log_file)} — ${lines(s.log)} line${lines(s.log) === 1 ? '' : 's'}${s.log_cut ? ' (its end)' : ''}</summary>${logBlock(s.log)}</details></td></tr>` : ''}`)
    .join('')}</tbody></table>`;
}

function testsSection(r) {
  if (!r.before && !r.after) return '<p class="muted">no test run</p>';
  const flipped = r.tests.filter((t) => t.before !== null && t.after !== null && t.before !== t.after);
  const f2p = r.tests.filter((t) => t.kind === 'F2P');
  const p2p = r.tests.filter((t) => t.kind === 'P2P');
  const summary = `<table class="kv"><tr><th>before</th><td>${countsLine(r.before)}</td></tr><tr><th>after</th><td>${countsLine(r.after)}</td></tr>
    ${f2p.length || p2p.length ? `<tr><th>FAIL_TO_PASS</th><td>${f2p.filter((t) => t.ok).length} / ${f2p.length} pass</td></tr><tr><th>PASS_TO_PASS</th><td>${p2p.filter((t) => t.ok).length} / ${p2p.length} still pass</td></tr>` : ''}
    <tr><th>flipped</th><td>${flipped.length}</td></tr></table>`;
  const filters = `<div class="controls"><label><input type="checkbox" id="only-interesting"> only FAIL_TO_PASS, PASS_TO_PASS failures and flipped</label> <input type="search" id="test-q" placeholder="filter tests…"></div>`;
  return `${summary}${filters}<table class="tests" data-testid="tests-table"><thead><tr><th>test</th><th>kind</th><th>before</th><th>after</th><th>graded</th></tr></thead><tbody id="test-rows"></tbody></table>
    <p id="tests-more" class="muted"></p>${r.tests_cut ? `<p class="muted">${r.tests_cut} more tests in tests.json</p>` : ''}
    ${r.tails.before ? `<details><summary>tests before: output tail</summary>${logBlock(r.tails.before)}</details>` : ''}
    ${r.tails.after ? `<details><summary>tests after: output tail</summary>${logBlock(r.tails.after)}</details>` : ''}`;
}

function renderTests(r, limit) {
  const only = document.getElementById('only-interesting')?.checked;
  const q = (document.getElementById('test-q')?.value || '').toLowerCase();
  const xs = r.tests.filter((t) => (!only || t.kind === 'F2P' || (t.kind === 'P2P' && t.ok === false) || (t.before !== null && t.after !== null && t.before !== t.after)) && (!q || t.id.toLowerCase().includes(q)));
  const st = (s) => (s ? `<span class="ts ts-${esc(s)}">${esc(s)}</span>` : '<span class="muted">—</span>');
  document.getElementById('test-rows').innerHTML = xs
    .slice(0, limit)
    .map((t) => {
      const flip = t.before !== null && t.after !== null && t.before !== t.after;
      return `<tr class="${t.kind ? `k-${t.kind}` : ''} ${flip ? 'flipped' : ''}"><td class="tid">${esc(t.id)}</td><td>${t.kind ? `<span class="tag ${t.kind}">${t.kind === 'F2P' ? 'FAIL_TO_PASS' : 'PASS_TO_PASS'}</span>` : ''}</td>
      <td>${st(t.before)}</td><td>${flip ? '<span class="flip">→</span> ' : ''}${st(t.after)}</td><td>${t.ok === null ? '' : t.ok ? '<span class="yes">✔</span>' : '<span class="no">✘</span>'}</td></tr>`;
    })
    .join('');
  const more = document.getElementById('tests-more');
  more.innerHTML = xs.length > limit ? `${xs.length - limit} more — <button type="button" id="tests-all">show all</button>` : '';
  document.getElementById('tests-all')?.addEventListener('click', () => renderTests(r, Infinity));
}

function diffSection(r) {
  if (r.diff === null) return '<p class="muted">no patch.diff</p>';
  if (!r.diff.trim()) return '<p class="muted">empty patch</p>';
  return `<div class="controls"><label><input type="radio" name="fmt" value="line-by-line" ${state.diffFormat === 'line-by-line' ? 'checked' : ''}> unified</label>
    <label><input type="radio" name="fmt" value="side-by-side" ${state.diffFormat === 'side-by-side' ? 'checked' : ''}> side by side</label>${r.diff_cut ? ' <span class="muted">(the page holds the first 256 KB; see patch.diff)</span>' : ''}</div><div id="diff"></div>`;
}

function renderDiff(r) {
  const el = document.getElementById('diff');
  if (!el) return;
  try {
    el.innerHTML = diffHtml(r.diff, { outputFormat: state.diffFormat, drawFileList: true, matching: 'lines', colorScheme: 'light' });
  } catch (err) {
    el.innerHTML = `<p class="problem">could not render the diff (${esc(err.message)}); as text:</p><pre class="log">${esc(r.diff)}</pre>`;
  }
}

function msgText(m) {
  if (!m) return '';
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) return m.content.map((p) => p.text ?? '').join('\n');
  return '';
}

function argsText(a) {
  if (typeof a === 'string') {
    try {
      return JSON.stringify(JSON.parse(a), null, 2);
    } catch {
      return a;
    }
  }
  return JSON.stringify(a ?? {}, null, 2);
}

function trajectorySection(r) {
  const t = r.trajectory;
  if (!t || !t.length) return '<p class="muted">no trajectory.jsonl</p>';
  const out = [];
  for (const e of t) {
    if (e.type === 'start') {
      out.push(`<div class="step start"><h4>start</h4><table class="kv"><tr><th>model</th><td>${esc(e.model)}</td></tr><tr><th>server</th><td>${esc(e.base_url ?? '—')}</td></tr>
        <tr><th>tool calls</th><td>${esc(e.tool_calls)}</td></tr><tr><th>limits</th><td><code>${esc(JSON.stringify(e.limits ?? {}))}</code></td></tr></table></div>`);
    } else if (e.type === 'step') {
      const u = e.usage || {};
      const head = `<h4>turn ${esc(e.turn)} <span class="muted">at ${fmtS(e.t)} · model ${fmtS(e.model_s)} · ${fmtN(u.prompt_tokens)} prompt + ${fmtN(u.completion_tokens)} completion tokens${e.finish_reason ? ` · ${esc(e.finish_reason)}` : ''}${e.retries?.length ? ` · ${e.retries.length} retries` : ''}</span></h4>`;
      const sent = Array.isArray(e.sent) ? `<details><summary>prompt (${e.sent.length} messages)</summary>${e.sent.map((m) => `<div class="msg ${esc(m.role)}"><b>${esc(m.role)}</b><pre class="log">${esc(msgText(m))}</pre></div>`).join('')}</details>` : '';
      const said = msgText(e.received);
      const msg = said ? `<div class="msg assistant"><b>model</b><pre class="said">${esc(said)}</pre></div>` : '';
      const calls = (e.calls || []).map((c) => `<div class="call ${c.ok === false ? 'bad' : ''}"><div class="call-head"><code class="tool">${esc(c.name)}</code> ${c.ok === false ? '<span class="no">not ok</span>' : ''} <span class="muted">${fmtS(c.duration_s)}</span></div>
        <pre class="args">${esc(argsText(c.arguments))}</pre><div class="obs"><b>observation</b>${logBlock(String(c.output ?? ''), { keep: 12 })}</div></div>`).join('');
      const extra = [e.warning ? `<p class="warn">warning sent: ${esc(e.warning)}</p>` : '', e.stopped ? `<p class="problem">stopped: ${esc(e.stopped)}</p>` : '', e.error ? `<p class="problem">error: ${esc(e.error.stop_reason)} — ${esc(e.error.message)}</p>` : ''].join('');
      out.push(`<div class="step" data-testid="step">${head}${sent}${msg}${calls}${extra}</div>`);
    } else if (e.type === 'end') {
      out.push(`<div class="step end"><h4>end <span class="muted">at ${fmtS(e.t)}</span></h4><p>${badge(e.status)} stop reason <b data-testid="stop-reason">${esc(e.stop_reason)}</b> · ${esc(e.turns)} turns · ${fmtN(e.usage?.total_tokens)} tokens${e.error ? ` · <span class="problem">${esc(e.error)}</span>` : ''}</p></div>`);
    } else if (e.type === 'unreadable') {
      out.push(`<div class="step"><p class="problem">${esc(e.error)}</p></div>`);
    } else {
      out.push(`<div class="step other"><h4>${esc(e.type)} <span class="muted">at ${fmtS(e.t)}</span></h4><code>${esc(JSON.stringify(e))}</code></div>`);
    }
  }
  return out.join('');
}

function filesSection(r) {
  if (!r.files.length) return '<p class="muted">no files</p>';
  return `<ul class="files">${r.files.map((f) => `<li><a href="${esc(fileHref(r, f.name))}">${esc(f.name)}</a> <span class="muted">${fmtBytes(f.bytes)}</span></li>`).join('')}</ul>`;
}

function runView(root, r) {
  const res = resolvedOf(r);
  const agent = r.trajectory !== null;
  const tabs = [
    ['summary', 'stages'],
    ['tests', `tests${r.tests.length ? ` (${r.tests.length})` : ''}`],
    ['diff', `patch${r.patch ? ` (${fmtBytes(r.patch.bytes)})` : ''}`],
    ...(agent ? [['trajectory', `trajectory (${r.trajectory.filter((e) => e.type === 'step').length} steps)`]] : []),
    ['files', `files (${r.files.length})`],
  ];
  root.innerHTML = `
  <nav class="crumbs"><a href="#" id="back">← all runs</a> ${r.index > 0 ? `<a href="#run=${r.index - 1}">‹ previous</a>` : ''} ${r.index < runs.length - 1 ? `<a href="#run=${r.index + 1}">next ›</a>` : ''}</nav>
  <header class="run-head"><h2 data-testid="run-title">${esc(r.task_id)}</h2> ${badge(r.status)} ${res === null ? '' : res ? '<span class="yes big">resolved</span>' : '<span class="no big">not resolved</span>'}
    <div class="meta"><span>${fmtS(r.duration_s)}</span><span>exit ${r.exit_code ?? '—'}</span>${r.repo ? `<span>${esc(r.repo)} @ ${esc((r.head || r.ref || '').slice(0, 12))}</span>` : ''}${r.image ? `<span>image ${esc(r.image)}</span>` : ''}
    ${r.patch ? `<span>patch ${esc(r.patch.source)}, ${r.patch.files.length} files${r.patch.applied_with ? `, applied with ${esc(r.patch.applied_with)}` : ''}</span>` : ''}${r.model ? `<span>model ${esc(r.model)} · ${r.turns} turns · ${fmtN(r.usage?.total_tokens)} tokens · stop ${esc(r.stop_reason)}</span>` : ''}
    ${r.layout ? `<span class="muted">${r.layout === 'compact' ? 'compact result.json' : 'older result.json layout'}</span>` : ''}<span class="muted">${esc(r.id)}</span></div>
    ${r.problem ? `<p class="problem" data-testid="problem">${esc(r.problem)}</p>` : r.error ? `<p class="problem" data-testid="error">${r.timeout_stage ? `timeout in ${esc(r.timeout_stage)}: ` : ''}${esc(r.error)}</p>` : ''}
  </header>
  <div class="tabs">${tabs.map(([k, l]) => `<button type="button" class="tab" data-tab="${k}">${esc(l)}</button>`).join('')}</div>
  <section class="pane" data-pane="summary">${stagesSection(r)}${r.tail ? `<h3>tail</h3>${logBlock(r.tail)}` : ''}</section>
  <section class="pane" data-pane="tests" hidden>${testsSection(r)}</section>
  <section class="pane" data-pane="diff" hidden>${diffSection(r)}</section>
  ${agent ? `<section class="pane" data-pane="trajectory" hidden>${trajectorySection(r)}</section>` : ''}
  <section class="pane" data-pane="files" hidden>${filesSection(r)}</section>`;
  const show = (k) => {
    for (const b of root.querySelectorAll('.tab')) b.classList.toggle('on', b.dataset.tab === k);
    for (const p of root.querySelectorAll('.pane')) p.hidden = p.dataset.pane !== k;
    if (k === 'diff' && !document.querySelector('#diff > *')) renderDiff(r);
    state.tab = k;
  };
  for (const b of root.querySelectorAll('.tab')) b.addEventListener('click', () => show(b.dataset.tab));
  for (const input of root.querySelectorAll('input[name=fmt]')) {
    input.addEventListener('change', () => {
      state.diffFormat = input.value;
      renderDiff(r);
    });
  }
  if (r.tests.length || r.before || r.after) {
    renderTests(r, 300);
    document.getElementById('only-interesting')?.addEventListener('change', () => renderTests(r, 300));
    document.getElementById('test-q')?.addEventListener('input', () => renderTests(r, 300));
  }
  show(tabs.some(([k]) => k === state.tab) ? state.tab : 'summary');
}

// Expand/collapse long logs anywhere on the page.
document.addEventListener('click', (e) => {
  const b = e.target.closest('button.expand');
  if (!b) return;
  const box = b.parentElement;
  const full = box.querySelector('.full');
  const open = full.hidden;
  full.hidden = !open;
  box.querySelector('.short').hidden = open;
  b.textContent = open ? 'show the end only' : `show all ${lines(full.textContent)} lines`;
});

function route() {
  const root = document.getElementById('app');
  const m = /^#run=(\d+)$/.exec(location.hash);
  const r = m ? runs[Number(m[1])] : null;
  if (r) {
    runView(root, r);
    window.scrollTo(0, 0);
  } else {
    state.tab = undefined;
    listView(root);
  }
  document.body.dataset.view = r ? 'run' : 'list';
}
window.addEventListener('hashchange', route);
route();
document.body.dataset.ready = 'true';
