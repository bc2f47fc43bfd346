// The HTML report's script, part 1: helpers and the data model (kScriptData),
// and the page's sections (kScriptPage). Part 2, the charts, is in
// html_charts.hpp. html_report.cpp joins them in one strict-mode closure.
//
// Text from model files (names, paths, metadata) is only ever put into the
// page as textContent, or through esc() where rows are built as HTML for
// speed: a hostile tensor name must stay text.
#pragma once

namespace weightdiff::html {

inline constexpr char kScriptData[] = R"js(
const SVGNS = 'http://www.w3.org/2000/svg';
const D = JSON.parse(document.getElementById('wd-data').textContent);
const HEAD = D.header, SUM = HEAD.summary;
const [LO, HI] = HEAD.options.hist_range;
const COMPARED = new Set(['identical', 'close', 'different']);
// matched and dtype_mismatch come from --structure-only, which reads no values.
const STATUSES = ['identical', 'close', 'different', 'only_in_a', 'only_in_b',
                  'shape_mismatch', 'unsupported_dtype', 'matched', 'dtype_mismatch'];
const STRUCTURAL = new Set(['only_in_a', 'only_in_b', 'shape_mismatch', 'unsupported_dtype', 'dtype_mismatch']);

// SPEC §5 writes non-finite numbers as strings and undefined ones as null.
function num(v) {
  if (typeof v === 'number') return v;
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return null;
}
function fmt(v, digits) {
  v = num(v);
  if (v === null) return '\u2013';
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return '0';
  const p = digits || 3, a = Math.abs(v);
  if (a >= 1e-3 && a < 1e6) return String(Number(v.toPrecision(p)));
  return v.toExponential(p - 1).replace('e+', 'e');
}
function one_minus(v) { return num(v) === null ? null : 1 - num(v); }
function fmt_full(v) { v = num(v); return v === null ? 'null' : String(v); }
function fmt_int(v) { return v === null || v === undefined ? '\u2013' : Number(v).toLocaleString('en-US'); }
function fmt_bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0, x = Number(n);
  while (x >= 1024 && i < units.length - 1) { x /= 1024; ++i; }
  return (i ? x.toFixed(1) : String(x)) + ' ' + units[i];
}
function shape_str(s) { return Array.isArray(s) ? '[' + s.join(', ') + ']' : '\u2013'; }
function esc(s) {
  return String(s).replace(/[&<>"']/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}
const SUP = {'-': '\u207b', '0': '\u2070', '1': '\u00b9', '2': '\u00b2', '3': '\u00b3', '4': '\u2074',
             '5': '\u2075', '6': '\u2076', '7': '\u2077', '8': '\u2078', '9': '\u2079'};
function pow2(e) { return '2' + String(e).split('').map(c => SUP[c]).join(''); }

// h('div', {class: 'x', text: 'y', onclick: f}, child...): text stays text.
function h(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const kid of kids) if (kid !== null && kid !== undefined)
    e.append(typeof kid === 'string' ? document.createTextNode(kid) : kid);
  return e;
}
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function kv(pairs) {
  const dl = h('dl', {class: 'kv'});
  for (const [k, v, title] of pairs) {
    dl.append(h('dt', {text: k}));
    const dd = h('dd', {}, v);
    if (title) dd.title = title;
    dl.append(dd);
  }
  return dl;
}
function chip(status, count) {
  const label = count === undefined ? status : status + ' ' + fmt_int(count);
  return h('span', {class: 'chip st-' + status + (count === 0 ? ' zero' : ''), text: label});
}

// A layer index is the first all-digit component of a dotted name with
// something before and after it: model.layers.12.self_attn.q_proj.weight is
// group "model.layers", layer 12, module "self_attn.q_proj.weight". Later
// all-digit components (experts.7) become '*' so a module is a pattern.
function parse_layer(name) {
  const parts = name.split('.');
  for (let k = 1; k < parts.length - 1; ++k) {
    if (!/^[0-9]+$/.test(parts[k])) continue;
    return {group: parts.slice(0, k).join('.'), layer: Number(parts[k]),
            module: parts.slice(k + 1).map(p => /^[0-9]+$/.test(p) ? '*' : p).join('.')};
  }
  return null;
}

const COLS = D.columns;
const TENSORS = D.rows.map((row, i) => {
  const t = {i};
  COLS.forEach((c, j) => { t[c] = row[j]; });
  t.compared = COMPARED.has(t.status);
  t.layer = parse_layer(t.name);
  return t;
});
// The metrics the heatmap, the ranked list and the table can show; higher is worse.
const METRICS = {
  rel_l2: {label: 'rel_l2', get: t => t.compared ? num(t.rel_l2) : null},
  one_minus_cos: {label: '1\u2212cos', get: t => t.compared ? 1 - num(t.cosine) : null},
  max_abs: {label: 'max_abs', get: t => t.compared ? num(t.max_abs) : null},
};
)js";

inline constexpr char kScriptPage[] = R"js(
function differs() {  // exit-code logic of SPEC §6
  const structural = SUM.only_in_a + SUM.only_in_b + SUM.shape_mismatch + (SUM.dtype_mismatch || 0);
  if (HEAD.options.fail_if.length) return structural > 0 || SUM.failed.length > 0;
  return structural > 0 || SUM.different > 0;
}

function model_card(side, m) {
  return h('div', {class: 'card'}, h('h3', {text: 'Model ' + side + (side === 'A' ? ' (reference)' : ' (candidate)')}),
    kv([['path', m.path], ['format', m.format], ['tensors', fmt_int(m.tensors)],
        ['size', fmt_bytes(m.bytes), fmt_int(m.bytes) + ' bytes'],
        ['metadata', fmt_int(Object.keys(m.metadata).length) + ' keys']]));
}

function render_overview() {
  const v = document.getElementById('verdict');
  v.textContent = differs() ? 'differences found' : 'no difference beyond tolerance';
  v.className = differs() ? 'differ' : 'same';
  document.title = 'weightdiff: ' + HEAD.a.path + ' vs ' + HEAD.b.path;
  const o = HEAD.options, be = HEAD.backend;
  const run = kv([['backend', be.name + (be.devices.length ? ' (' + be.devices.join(', ') + ')' : '')],
    ['threads', String(be.threads)], ['time', fmt(SUM.seconds) + ' s'],
    ['read', fmt_bytes(SUM.bytes_read)], ['weightdiff', HEAD.version],
    ['tolerance', 'atol ' + (o.atol === null ? 'per dtype' : fmt_full(o.atol)) + ', rtol ' +
                  (o.rtol === null ? 'per dtype' : fmt_full(o.rtol))],
    ['histograms', pow2(LO) + ' \u2026 ' + pow2(HI)],
    ...[['map', o.map], ['include', o.include], ['exclude', o.exclude], ['fail-if', o.fail_if]]
      .filter(([, l]) => l.length).map(([k, l]) => [k, l.join('  ')])]);
  const chips = h('div', {class: 'chips'}, ...STATUSES.filter(s => s in SUM).map(s => chip(s, SUM[s])));
  const worst = SUM.max_abs_tensor === null ? h('span', {class: 'muted', text: '\u2013'}) :
    h('button', {class: 'link', text: SUM.max_abs_tensor, onclick: () => select_by_name(SUM.max_abs_tensor, true)});
  const result = h('div', {class: 'card'}, h('h3', {text: 'Result'}), chips,
    kv([['compared', fmt_int(SUM.compared) + ' pairs, ' + fmt_int(SUM.elements) + ' elements'],
        ['mismatched', fmt_int(SUM.mismatched) + ' elements'],
        // The global values pool the floating-point tensors only (null: none compared).
        ['global over', fmt_int(SUM.float_tensors) + ' float tensors, ' + fmt_int(SUM.float_elements) + ' elements'],
        ['global cosine', fmt(SUM.cosine, 10), fmt_full(SUM.cosine)],
        ['global 1\u2212cos', fmt(one_minus(SUM.cosine)), fmt_full(one_minus(SUM.cosine))],
        ['global rel_l2', fmt(SUM.rel_l2, 4), fmt_full(SUM.rel_l2)],
        ['max_abs', fmt(SUM.max_abs, 4), fmt_full(SUM.max_abs)], ['in', worst],
        ...(SUM.int_tensors ? [['int/bool tensors', fmt_int(SUM.int_tensors_changed) + ' of ' + fmt_int(SUM.int_tensors) + ' changed']] : []),
        ...(SUM.dtype_changed ? [['dtype changed', fmt_int(SUM.dtype_changed) + ' pairs']] : []),
        ...(SUM.nonfinite_tensors ? [['NaN/Inf', '+' + fmt_int(SUM.nonfinite_introduced) + ' introduced, \u2212' +
                                      fmt_int(SUM.nonfinite_removed) + ' removed, in ' + fmt_int(SUM.nonfinite_tensors) + ' tensors']] : []),
        ...('bytes_differ' in SUM ? [['exact', fmt_int(SUM.bytes_differ) + ' pairs differ in bytes or dtype']] : []),
        ['failed gates', SUM.failed.length ? SUM.failed.join(', ') : 'none']]));
  document.getElementById('overview').append(h('div', {class: 'cards'},
    model_card('A', HEAD.a), model_card('B', HEAD.b),
    h('div', {class: 'card'}, h('h3', {text: 'Run'}), run), result));
}

// The error grouped by (A, B) quant type, worst SNR first; only when a side is quantized.
function render_quant_types() {
  const groups = HEAD.quant_types;
  if (!groups || !groups.length) return;
  const sec = document.getElementById('quant-section');
  sec.hidden = false;
  const cols = ['quant type', 'tensors', 'elements', 'rel_l2', 'SNR dB', 'SNR median', 'SNR min',
                'max_abs median', 'max_abs max', 'worst tensor'];
  const rows = groups.map(g => h('tr', {},
    h('td', {class: 'mono', text: g.quant_a === g.quant_b ? g.quant_a : g.quant_a + ' \u2192 ' + g.quant_b}),
    h('td', {class: 'num', text: fmt_int(g.tensors)}), h('td', {class: 'num', text: fmt_int(g.elements)}),
    h('td', {class: 'num', text: fmt(g.rel_l2), title: fmt_full(g.rel_l2)}),
    h('td', {class: 'num', text: fmt(g.snr_db), title: fmt_full(g.snr_db)}),
    h('td', {class: 'num', text: fmt(g.snr_db_median)}), h('td', {class: 'num', text: fmt(g.snr_db_min)}),
    h('td', {class: 'num', text: fmt(g.max_abs_median)}), h('td', {class: 'num', text: fmt(g.max_abs_max)}),
    h('td', {class: 'name'}, h('button', {class: 'link', text: g.worst, onclick: () => select_by_name(g.worst, true)}))));
  sec.append(h('p', {class: 'muted', text: 'Pooled rel_l2 and SNR over each group\u2019s finite pairs; ' +
                                          'median and extremes over its tensors.'}),
    h('div', {class: 'scroll'}, h('table', {id: 'quant-table'},
      h('thead', {}, h('tr', {}, ...cols.map(c => h('th', {text: c})))), h('tbody', {}, ...rows))));
}

// Two ONNX models: op counts that differ, nodes added/removed/changed, inputs and outputs.
function render_graph() {
  const g = HEAD.graph;
  if (!g) return;
  const sec = document.getElementById('graph-section');
  sec.hidden = false;
  if (g.too_large) { sec.append(h('p', {class: 'muted', text: 'Too large to compare node by node.'})); }
  else sec.append(h('p', {class: g.differs ? '' : 'muted',
    text: 'A ' + fmt_int(g.nodes_a) + ' nodes, B ' + fmt_int(g.nodes_b) + ' nodes: ' +
          (g.differs ? fmt_int(g.added) + ' added, ' + fmt_int(g.removed) + ' removed, ' + fmt_int(g.changed) + ' changed'
                     : 'no difference') + '.'}));
  const ops = g.op_counts.filter(c => c.a !== c.b);
  if (ops.length)
    sec.append(h('table', {id: 'graph-ops'}, h('thead', {}, h('tr', {}, h('th', {text: 'op'}), h('th', {text: 'A'}), h('th', {text: 'B'}))),
      h('tbody', {}, ...ops.map(c => h('tr', {}, h('td', {class: 'mono', text: c.op}),
        h('td', {class: 'num', text: fmt_int(c.a)}), h('td', {class: 'num', text: fmt_int(c.b)}))))));
  const rows = [...(g.ir_version.a !== g.ir_version.b ? [['ir_version', '', g.ir_version.a + ' \u2192 ' + g.ir_version.b]] : []),
                ...g.opsets.filter(o => o.a !== o.b).map(o => ['opset', o.domain, (o.a === null ? '(absent)' : o.a) + ' \u2192 ' + (o.b === null ? '(absent)' : o.b)]),
                ...g.nodes_added.map(n => ['added', n, '']), ...g.nodes_removed.map(n => ['removed', n, '']),
                ...g.nodes_changed.map(c => ['changed', c.node, c.changes.join(', ')]),
                ...g.inputs.map(v => ['input', v.name, v.a + ' \u2192 ' + v.b]),
                ...g.outputs.map(v => ['output', v.name, v.a + ' \u2192 ' + v.b])];
  if (rows.length)
    sec.append(h('div', {class: 'scroll'}, h('table', {id: 'graph-table'}, h('tbody', {},
      ...rows.map(([what, name, detail]) => h('tr', {}, h('td', {text: what}), h('td', {class: 'name', text: name}),
                                               h('td', {class: 'mono', text: detail})))))));
}

function render_structure() {
  const sec = document.getElementById('structure');
  const odd = TENSORS.filter(t => STRUCTURAL.has(t.status));
  if (HEAD.options.structure_only)
    sec.append(h('p', {class: 'muted', text: 'Structure only: names, dtypes, shapes and metadata were compared, no values.'}));
  if (!odd.length) { sec.append(h('p', {class: 'muted', text: 'None: every tensor has a partner of the same shape.'})); return; }
  const rows = odd.map(t => {
    let what = '';
    if (t.status === 'shape_mismatch') what = shape_str(t.shape_a) + ' vs ' + shape_str(t.shape_b);
    else if (t.status === 'unsupported_dtype' || t.status === 'dtype_mismatch') what = (t.dtype_a || '\u2013') + ' / ' + (t.dtype_b || '\u2013');
    else if (t.status === 'only_in_b' && t.name_b !== t.name) what = 'B name: ' + t.name_b;
    else what = (t.dtype_a || t.dtype_b) + ' ' + shape_str(t.shape_a || t.shape_b);
    return h('tr', {}, h('td', {}, chip(t.status)),
      h('td', {class: 'name'}, h('button', {class: 'link', text: t.name, onclick: () => select(t.i, true)})),
      h('td', {class: 'mono', text: what}));
  });
  sec.append(h('p', {class: 'muted', text: odd.length + ' tensor(s) not compared'}),
    h('div', {class: 'scroll'}, h('table', {id: 'structure-table'}, h('tbody', {}, ...rows))));
}

function render_metadata() {
  const sec = document.getElementById('metadata');
  const a = HEAD.a.metadata, b = HEAD.b.metadata;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  // The library's list where the report has one (the same as --json's), else from both maps.
  const diff = HEAD.metadata_diffs ? HEAD.metadata_diffs.map(d => d.key) : keys.filter(k => a[k] !== b[k]);
  const value = (m, side, k) => {
    if (!HEAD.metadata_diffs) return k in m ? m[k] : null;
    const d = HEAD.metadata_diffs.find(x => x.key === k);
    return d[side] === undefined ? null : d[side];
  };
  const cell = (m, side, k) => {
    const v = value(m, side, k);
    return v !== null ? h('td', {}, h('code', {class: 'meta-val', text: v}))
                      : h('td', {}, h('span', {class: 'absent', text: 'absent'}));
  };
  if (!diff.length) {
    sec.append(h('p', {class: 'muted', text: keys.length ? 'None: all ' + keys.length + ' key(s) are equal.'
                                                         : 'Neither model has metadata.'}));
  } else {
    sec.append(h('table', {id: 'metadata-table'},
      h('thead', {}, h('tr', {}, h('th', {text: 'key'}), h('th', {text: 'A'}), h('th', {text: 'B'}))),
      h('tbody', {}, ...diff.map(k => h('tr', {}, h('td', {class: 'name', text: k}), cell(a, 'a', k), cell(b, 'b', k))))));
  }
  const same = Math.max(0, keys.length - diff.length);
  if (same) sec.append(h('p', {class: 'muted small', text: same + ' other key(s) are equal on both sides.'}));
}

// ---- the tensor table: sorted, filtered, paged; rows built as one HTML string.
const TABLE_COLS = [
  {key: 'name', label: 'name', cls: 'name', get: t => t.name, text: true},
  {key: 'status', label: 'status', get: t => STATUSES.indexOf(t.status), text: true},
  {key: 'dtype', label: 'dtype', get: t => (t.dtype_a || '') + '/' + (t.dtype_b || ''), text: true},
  {key: 'shape', label: 'shape', get: t => num(t.numel) || 0},
  {key: 'max_abs', label: 'max_abs', num: true, get: t => num(t.max_abs)},
  {key: 'mean_abs', label: 'mean_abs', num: true, get: t => num(t.mean_abs)},
  {key: 'rel_l2', label: 'rel_l2', num: true, get: METRICS.rel_l2.get},
  {key: 'one_minus_cos', label: '1\u2212cos', num: true, get: METRICS.one_minus_cos.get},
  {key: 'snr_db', label: 'snr_db', num: true, get: t => num(t.snr_db), asc: true},
  {key: 'mismatched', label: 'mismatched', num: true, get: t => num(t.mismatched)},
];
const PAGE = 200;
const view = {sort: 'rel_l2', asc: false, filter: '', status: 'all', page: 0, all: false, rows: [], selected: -1};

function sort_key(col, t) {  // undefined metrics last, NaN first: NaN is the worst
  const v = col.get(t);
  if (v === null || v === undefined) return view.asc ? Infinity : -Infinity;
  if (typeof v === 'number' && Number.isNaN(v)) return view.asc ? -Infinity : Infinity;
  return v;
}
function apply_view() {
  let re = null, needle = view.filter.toLowerCase();
  const m = /^\/(.*)\/$/.exec(view.filter);
  if (m) { try { re = new RegExp(m[1]); } catch (e) { re = null; } }
  const st = view.status;
  const rows = TENSORS.filter(t => {
    if (st === 'not_identical' && t.status === 'identical') return false;
    if (st === 'failed' && !(t.failed && t.failed.length)) return false;
    if (STATUSES.includes(st) && t.status !== st) return false;
    if (re) return re.test(t.name) || re.test(t.name_b || '');
    return !needle || t.name.toLowerCase().includes(needle) || (t.name_b || '').toLowerCase().includes(needle);
  });
  const col = TABLE_COLS.find(c => c.key === view.sort);
  const keys = new Map(rows.map(t => [t, sort_key(col, t)]));
  const dir = view.asc ? 1 : -1;
  rows.sort((x, y) => {
    const a = keys.get(x), b = keys.get(y);
    if (a < b) return -dir;
    if (a > b) return dir;
    return x.i - y.i;  // then by name, the JSON's order
  });
  view.rows = rows;
  render_rows();
}
function cell_html(col, t) {
  let v;
  if (col.key === 'name') v = esc(t.name) + (t.name_b && t.name_b !== t.name ? ' <span class="muted">(B: ' + esc(t.name_b) + ')</span>' : '');
  else if (col.key === 'status') v = '<span class="chip st-' + esc(t.status) + '">' + esc(t.status) + '</span>' + (t.failed && t.failed.length ? ' \u2691' : '');
  else if (col.key === 'dtype') v = esc(t.dtype_a === t.dtype_b ? t.dtype_a : (t.dtype_a || '\u2013') + '\u2192' + (t.dtype_b || '\u2013'));
  else if (col.key === 'shape') v = esc(shape_str(t.shape_a || t.shape_b));
  else v = esc(fmt(col.get(t)));
  return '<td' + (col.num ? ' class="num"' : col.cls ? ' class="' + col.cls + '"' : '') + '>' + v + '</td>';
}
function render_rows() {
  const n = view.rows.length, pages = Math.max(1, Math.ceil(n / PAGE));
  view.page = Math.min(view.page, pages - 1);
  const from = view.all ? 0 : view.page * PAGE, to = view.all ? n : Math.min(n, from + PAGE);
  const parts = [];
  for (let r = from; r < to; ++r) {
    const t = view.rows[r];
    parts.push('<tr data-i="' + t.i + '"' + (t.i === view.selected ? ' class="sel"' : '') + '>' +
               TABLE_COLS.map(c => cell_html(c, t)).join('') + '</tr>');
  }
  document.querySelector('#tensors tbody').innerHTML = parts.join('');
  document.getElementById('count').textContent = n === 0 ? 'no tensor matches' :
    'showing ' + fmt_int(from + 1) + '\u2013' + fmt_int(to) + ' of ' + fmt_int(n) +
    (n !== TENSORS.length ? ' (of ' + fmt_int(TENSORS.length) + ')' : '');
  document.getElementById('prev').disabled = view.all || view.page === 0;
  document.getElementById('next').disabled = view.all || view.page >= pages - 1;
  document.getElementById('show-all').textContent = view.all ? 'pages' : 'show all';
  document.querySelectorAll('#tensors th').forEach(th => {
    th.classList.toggle('sorted', th.dataset.key === view.sort);
    th.classList.toggle('asc', th.dataset.key === view.sort && view.asc);
  });
}
function init_table() {
  const tr = h('tr');
  for (const c of TABLE_COLS) {
    tr.append(h('th', {'data-key': c.key, text: c.label, title: 'sort by ' + c.label, onclick: () => {
      if (view.sort === c.key) view.asc = !view.asc;
      else { view.sort = c.key; view.asc = !!(c.text || c.asc); }
      apply_view();
    }}));
  }
  document.querySelector('#tensors thead').append(tr);
  const sf = document.getElementById('status-filter');
  const present = STATUSES.filter(s => SUM[s] > 0);
  for (const [v, label] of [['all', 'all statuses'], ['not_identical', 'not identical'], ['failed', 'failed gates'],
                            ...present.map(s => [s, s])])
    sf.append(h('option', {value: v, text: label}));
  sf.addEventListener('change', () => { view.status = sf.value; view.page = 0; apply_view(); });
  let timer = 0;
  const f = document.getElementById('filter');
  f.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { view.filter = f.value; view.page = 0; apply_view(); }, TENSORS.length > 2000 ? 150 : 0);
  });
  document.getElementById('prev').addEventListener('click', () => { view.page--; render_rows(); });
  document.getElementById('next').addEventListener('click', () => { view.page++; render_rows(); });
  document.getElementById('show-all').addEventListener('click', () => { view.all = !view.all; render_rows(); });
  document.querySelector('#tensors tbody').addEventListener('click', e => {
    const row = e.target.closest('tr[data-i]');
    if (row) select(Number(row.dataset.i), false);
  });
  apply_view();
}

// ---- selection and the per-tensor detail panel.
function select_by_name(name, scroll) {
  const t = TENSORS.find(x => x.name === name);
  if (t) select(t.i, scroll);
}
function select(i, scroll) {
  view.selected = i;
  document.querySelectorAll('#tensors tbody tr.sel').forEach(r => r.classList.remove('sel'));
  const row = document.querySelector('#tensors tbody tr[data-i="' + i + '"]');
  if (row) row.classList.add('sel');
  render_detail(TENSORS[i]);
  if (scroll) document.getElementById('detail').scrollIntoView({block: 'nearest'});
}
const DETAIL_SKIP = new Set(['name', 'name_b', 'matched_as', 'transposed', 'rope_heads', 'quant_a', 'quant_b', 'status', 'dtype_a', 'dtype_b', 'shape_a', 'shape_b', 'failed',
                             'hist_abs_diff', 'hist_a', 'hist_b', 'max_abs_index', 'a_at_max_abs', 'b_at_max_abs']);
function render_detail(t) {
  const d = document.getElementById('detail');
  d.replaceChildren(h('h2', {text: 'Tensor'}), h('div', {class: 'tname', id: 'detail-name', text: t.name}));
  if (t.name_b && t.name_b !== t.name) d.append(h('div', {class: 'muted mono', text: 'B: ' + t.name_b}));
  if (t.matched_as) d.append(h('div', {class: 'muted mono', text: 'matched as: ' + t.matched_as}));
  d.append(h('div', {class: 'chips'}, chip(t.status), ...(t.failed || []).map(f => h('span', {class: 'chip st-different', text: '\u2691 ' + f}))));
  d.append(kv([['dtype', (t.dtype_a || '\u2013') + ' / ' + (t.dtype_b || '\u2013') +
                         (t.quant_a ? ' (A dequantized: ' + t.quant_a + ')' : '') +
                         (t.quant_b ? ' (B dequantized: ' + t.quant_b + ')' : '')],
               ['shape', shape_str(t.shape_a) + (t.status === 'shape_mismatch' ? ' vs ' + shape_str(t.shape_b) : '') +
                         (t.transposed ? ' (B ' + shape_str(t.shape_b) + ' compared transposed)' : '') +
                         (t.rope_heads ? ' (llama.cpp Q/K rows unpermuted, ' + t.rope_heads + ' heads)' : '')]]));
  if (!t.compared) {
    d.append(h('p', {class: 'muted', text: 'Not compared (' + t.status + '): no statistics.'}));
    return;
  }
  if (t.max_abs !== null) {
    const a = num(t.a_at_max_abs), b = num(t.b_at_max_abs);
    d.append(h('div', {class: 'worst', id: 'worst'}, h('strong', {text: 'Worst element '}),
      kv([['index', shape_str(t.max_abs_index)], ['a', fmt_full(a)], ['b', fmt_full(b)],
          ['d = b \u2212 a', fmt_full(b - a)], ['|d|', fmt_full(t.max_abs)]])));
  } else {
    d.append(h('p', {class: 'muted', text: 'No finite pair of elements: no worst element.'}));
  }
  d.append(h('h3', {text: '|d| histogram (finite pairs)'}), hist_abs_chart(t.hist_abs_diff));
  d.append(h('h3', {text: 'A values'}), hist_value_chart(t.hist_a, 'a'));
  d.append(h('h3', {text: 'B values'}), hist_value_chart(t.hist_b, 'b'));
  const pairs = [];
  for (const c of COLS) {
    if (DETAIL_SKIP.has(c)) continue;
    pairs.push([c, fmt(t[c], 6), fmt_full(t[c])]);
    if (c === 'cosine') pairs.push(['1\u2212cos', fmt(1 - num(t.cosine), 6), fmt_full(1 - num(t.cosine))]);
  }
  d.append(h('h3', {text: 'All fields'}), kv(pairs));
}

function worst_tensor() {
  let best = null, bv = -Infinity;
  for (const t of TENSORS) {
    if (!t.compared) continue;
    let v = METRICS.rel_l2.get(t);
    if (Number.isNaN(v)) v = Infinity;
    if (best === null || v > bv) { best = t; bv = v; }
  }
  return best || TENSORS[0];
}

render_overview();
render_quant_types();
render_graph();
render_structure();
render_metadata();
init_heatmap();
init_table();
if (TENSORS.length) select(worst_tensor().i, false);
document.body.dataset.ready = '1';
)js";

}  // namespace weightdiff::html
