// The HTML report's script, part 2: the layer x module heatmap (or a ranked
// list when names carry no layer index) and the histogram charts, all drawn
// as inline SVG. Uses the helpers of html_script.hpp's kScriptData.
#pragma once

namespace weightdiff::html {

inline constexpr char kScriptCharts[] = R"js(
// YlOrRd: light for small differences, dark red for large ones.
const RAMP = ['#ffffcc', '#ffeda0', '#fed976', '#feb24c', '#fd8d3c', '#fc4e2a', '#e31a1c', '#b10026'];
const COLOR_ZERO = '#d9eedf', COLOR_BAD = '#2b1030', COLOR_NA = '#c9ced6';
function ramp(t) {
  const x = Math.max(0, Math.min(1, t)) * (RAMP.length - 1), k = Math.min(RAMP.length - 2, Math.floor(x));
  const p = c => [1, 3, 5].map(o => parseInt(c.substr(o, 2), 16));
  const a = p(RAMP[k]), b = p(RAMP[k + 1]), f = x - k;
  return 'rgb(' + a.map((v, j) => Math.round(v + (b[j] - v) * f)).join(',') + ')';
}
// Colors on a log scale over the positive finite values; 0 and nan/inf apart.
function color_scale(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const l0 = Math.log10(lo), span = Math.max(Math.log10(hi) - l0, 1e-9);
  const color = v => v === null ? COLOR_NA : v === 0 ? COLOR_ZERO : !Number.isFinite(v) ? COLOR_BAD
                                 : ramp(hi === lo ? 1 : (Math.log10(v) - l0) / span);
  return {color, lo, hi};
}
function worst_of(ts, get) {  // the worst compared tensor of a cell and its value (NaN counts as worst)
  let best = null, bv = null;
  for (const t of ts) {
    const v = get(t);
    if (v === null) continue;
    const key = Number.isNaN(v) ? Infinity : v;
    if (best === null || key > (Number.isNaN(bv) ? Infinity : bv)) { best = t; bv = v; }
  }
  return {t: best || ts[0], v: bv};
}

function init_heatmap() {
  const sel = document.getElementById('heat-metric');
  for (const [k, m] of Object.entries(METRICS)) sel.append(h('option', {value: k, text: m.label}));
  sel.addEventListener('change', () => draw_heatmap(sel.value));
  draw_heatmap(sel.value);
}

function draw_heatmap(metric) {
  const get = METRICS[metric].get, label = METRICS[metric].label;
  const box = document.getElementById('heatmap'), side = document.getElementById('ranked');
  const layered = TENSORS.filter(t => t.layer), rest = TENSORS.filter(t => !t.layer);
  const scale = color_scale(TENSORS.map(get));
  draw_legend(scale, label);
  box.replaceChildren();
  side.replaceChildren();
  if (!layered.length) {
    side.append(h('h3', {text: 'Tensors ranked by ' + label + ' (names carry no layer index)'}), ranked_list(rest, get, scale));
    return;
  }
  // Rows: (group, layer); columns: module patterns; a cell shows its worst tensor.
  const groups = [...new Set(layered.map(t => t.layer.group))].sort();
  const row_key = t => t.layer.group + '\u0000' + t.layer.layer;
  const rows = [...new Map(layered.map(t => [row_key(t), t.layer])).values()]
    .sort((a, b) => a.group < b.group ? -1 : a.group > b.group ? 1 : a.layer - b.layer);
  const modules = [...new Set(layered.map(t => t.layer.module))].sort();
  const cells = new Map();
  for (const t of layered) {
    const k = row_key(t) + '\u0000' + t.layer.module;
    if (!cells.has(k)) cells.set(k, []);
    cells.get(k).push(t);
  }
  const row_label = r => groups.length > 1 ? r.group + '.' + r.layer : String(r.layer);
  const cw = Math.max(14, Math.min(48, Math.floor(900 / modules.length)));
  const ch = Math.max(4, Math.min(22, Math.floor(640 / rows.length)));
  const corner = groups.length > 1 ? 'layer' : groups[0];  // names the row axis
  const lw = 12 + 6.5 * Math.min(40, Math.max(...rows.map(r => row_label(r).length), corner.length));
  // Column labels run up and right at 45 degrees: room above and to the right.
  const lab = 4.6 * Math.min(40, Math.max(...modules.map(m => m.length)));
  const th = 16 + lab, W = lw + cw * modules.length + lab + 10, H = th + ch * rows.length + 10;
  const s = svg('svg', {id: 'heatmap-svg', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img',
                        'aria-label': 'layer by module heatmap of ' + label});
  modules.forEach((m, j) => {
    const x = lw + j * cw + cw / 2;
    const text = svg('text', {x, y: th - 4, transform: 'rotate(-45 ' + x + ' ' + (th - 4) + ')'},
                     m.length > 40 ? '\u2026' + m.slice(-39) : m);
    text.append(svg('title', {}, m));
    s.append(text);
  });
  const every = Math.ceil(11 / ch);
  s.append(svg('text', {x: lw - 4, y: th - 4, 'text-anchor': 'end', 'font-weight': 'bold'},
               corner.length > 40 ? '\u2026' + corner.slice(-39) : corner));
  rows.forEach((r, i) => {
    const y = th + i * ch;
    if (i % every === 0) s.append(svg('text', {x: lw - 4, y: y + Math.min(ch, 11) - 1, 'text-anchor': 'end'}, row_label(r)));
    modules.forEach((m, j) => {
      const ts = cells.get(r.group + '\u0000' + r.layer + '\u0000' + m);
      if (!ts) return;
      const w = worst_of(ts, get);
      const rect = svg('rect', {class: 'cell', x: lw + j * cw, y, width: cw - 1, height: ch - 1,
                                fill: scale.color(w.v), 'data-i': w.t.i});
      rect.append(svg('title', {}, ts.map(t => t.name + '  ' + (t.compared ? label + ' ' + fmt(get(t)) : t.status)).join('\n')));
      s.append(rect);
    });
  });
  s.addEventListener('click', e => {
    const c = e.target.closest('rect.cell');
    if (c) select(Number(c.getAttribute('data-i')), true);
  });
  box.append(s);
  if (rest.length)
    side.append(h('h3', {text: 'Outside the layers, by ' + label}), ranked_list(rest, get, scale));
}

function draw_legend(scale, label) {
  const lg = document.getElementById('heat-legend');
  const stops = RAMP.map((c, k) => c + ' ' + Math.round(100 * k / (RAMP.length - 1)) + '%').join(',');
  const ramp_box = h('span', {class: 'ramp'});
  ramp_box.style.background = 'linear-gradient(to right,' + stops + ')';
  const sw = c => { const e = h('span', {class: 'sw'}); e.style.background = c; return e; };
  const t = text => h('span', {text});  // separate flex items, so the gap applies
  lg.replaceChildren(t(label + ' (log scale)'), t(Number.isFinite(scale.lo) ? fmt(scale.lo) : ''), ramp_box,
                     t(Number.isFinite(scale.hi) ? fmt(scale.hi) : ''), sw(COLOR_ZERO), t('0'), sw(COLOR_BAD),
                     t('nan/inf'), sw(COLOR_NA), t('not compared'));
}

const RANK_LIMIT = 200;
function ranked_list(ts, get, scale) {
  const key = t => { const v = get(t); return v === null ? -Infinity : Number.isNaN(v) ? Infinity : v; };
  const sorted = ts.slice().sort((x, y) => key(y) - key(x) || x.i - y.i);
  const ol = h('ol', {class: 'ranked', id: 'ranked-list'});
  let top = 0;
  for (const t of sorted) { const v = get(t); if (v > 0 && Number.isFinite(v)) top = Math.max(top, v); }
  const lmin = Number.isFinite(scale.lo) ? Math.log10(scale.lo) - 1 : 0, lspan = top > 0 ? Math.log10(top) - lmin : 1;
  const fill = (n) => {
    ol.replaceChildren();
    for (const t of sorted.slice(0, n)) {
      const v = get(t);
      const bar = h('span', {class: 'rbar'});
      const frac = v === null || v === 0 ? 0 : !Number.isFinite(v) ? 1 : (Math.log10(v) - lmin) / lspan;
      bar.style.width = Math.round(4 + 120 * Math.max(0, Math.min(1, frac))) + 'px';
      bar.style.background = scale.color(v);
      ol.append(h('li', {}, bar, h('span', {class: 'rval', text: v === null ? t.status : fmt(v)}),
        h('button', {class: 'link', text: t.name, onclick: () => select(t.i, true)})));
    }
  };
  fill(RANK_LIMIT);
  const wrap = h('div', {}, ol);
  if (sorted.length > RANK_LIMIT) {
    const more = h('button', {text: 'show all ' + sorted.length, onclick: () => { fill(sorted.length); more.remove(); }});
    wrap.append(more);
  }
  return wrap;
}

// ---- histograms (SPEC §4): bars on a log count axis, each with a tooltip.
function bar_chart(id, bars, caption) {
  const W = 560, Hh = 170, pl = 44, pr = 8, pt = 10, pb = 46;
  const max = Math.max(1, ...bars.map(b => b.n));
  const bw = (W - pl - pr) / Math.max(bars.length, 1), lmax = Math.log10(1 + max);
  const s = svg('svg', {id, class: 'hist', viewBox: '0 0 ' + W + ' ' + Hh, role: 'img', 'aria-label': caption});
  s.append(svg('line', {x1: pl, y1: Hh - pb, x2: W - pr, y2: Hh - pb, stroke: '#999'}));
  s.append(svg('line', {x1: pl, y1: pt, x2: pl, y2: Hh - pb, stroke: '#999'}));
  s.append(svg('text', {x: pl - 4, y: pt + 8, 'text-anchor': 'end'}, fmt_int(max)));
  s.append(svg('text', {x: pl - 4, y: Hh - pb, 'text-anchor': 'end'}, '0'));
  s.append(svg('text', {x: 4, y: (pt + Hh - pb) / 2, transform: 'rotate(-90 10 ' + (pt + Hh - pb) / 2 + ')'}, 'count (log)'));
  const every = Math.ceil(bars.length / 14);
  bars.forEach((b, k) => {
    const x = pl + k * bw, hgt = b.n > 0 ? Math.max(1.5, (Hh - pt - pb) * Math.log10(1 + b.n) / lmax) : 0;
    const r = svg('rect', {class: 'bar', x: x + 0.5, y: Hh - pb - hgt, width: Math.max(bw - 1, 0.5), height: hgt, fill: b.color});
    r.append(svg('title', {}, b.tip + ': ' + fmt_int(b.n)));
    s.append(r);
    if (b.label && (k % every === 0 || b.always)) {
      const lx = x + bw / 2, ly = Hh - pb + 10;
      s.append(svg('text', {x: lx, y: ly, 'text-anchor': 'end', transform: 'rotate(-50 ' + lx + ' ' + ly + ')'}, b.label));
    }
  });
  return h('div', {class: 'chart'}, s);
}
function bin_range(s, len) {  // the nonzero bins, widened by one on each side within [0, HI-LO)
  if (!len) return [0, 0];
  return [Math.max(0, s - 1), Math.min(HI - LO, s + len + 1)];
}
function hist_abs_chart(hd) {
  const bars = [{n: hd.z, label: '0', tip: '|d| = 0', color: '#8a93a3', always: true}];
  if (hd.u) bars.push({n: hd.u, label: '<' + pow2(LO), tip: '0 < |d| < ' + pow2(LO), color: '#8a93a3', always: true});
  const [b0, b1] = bin_range(hd.s, hd.c.length);
  for (let j = b0; j < b1; ++j) {
    const n = j >= hd.s && j < hd.s + hd.c.length ? hd.c[j - hd.s] : 0;
    bars.push({n, label: pow2(LO + j), tip: '|d| in [' + pow2(LO + j) + ', ' + pow2(LO + j + 1) + ')', color: '#c0392b'});
  }
  if (hd.o) bars.push({n: hd.o, label: '\u2265' + pow2(HI), tip: '|d| \u2265 ' + pow2(HI), color: COLOR_BAD, always: true});
  return bar_chart('chart-abs', bars, 'histogram of |b - a|');
}
function hist_value_chart(hv, side) {
  const [b0, b1] = bin_range(hv.s, hv.p.length);
  const at = (arr, j) => j >= hv.s && j < hv.s + arr.length ? arr[j - hv.s] : 0;
  const bars = [];
  for (let j = b1 - 1; j >= b0; --j)
    bars.push({n: at(hv.n, j), label: '\u2212' + pow2(LO + j), tip: 'x in (\u2212' + pow2(LO + j + 1) + ', \u2212' + pow2(LO + j) + ']', color: '#3b74c4'});
  if (hv.u) bars.push({n: hv.u, label: '\u00b1<' + pow2(LO), tip: '0 < |x| < ' + pow2(LO), color: '#8a93a3', always: true});
  bars.push({n: hv.z, label: '0', tip: 'x = 0', color: '#8a93a3', always: true});
  for (let j = b0; j < b1; ++j)
    bars.push({n: at(hv.p, j), label: pow2(LO + j), tip: 'x in [' + pow2(LO + j) + ', ' + pow2(LO + j + 1) + ')', color: '#e07b24'});
  if (hv.o) bars.push({n: hv.o, label: '|x|\u2265' + pow2(HI), tip: '|x| \u2265 ' + pow2(HI), color: COLOR_BAD, always: true});
  return bar_chart('chart-' + side, bars, 'histogram of the values of ' + side.toUpperCase());
}
)js";

}  // namespace weightdiff::html
