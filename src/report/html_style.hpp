// The HTML report's stylesheet and static skeleton (see html_report.cpp).
// System fonts only: the page must render the same offline.
#pragma once

namespace weightdiff::html {

inline constexpr char kStyle[] = R"css(
:root { --bg:#f6f7f9; --fg:#1d2330; --muted:#5d6575; --card:#fff; --line:#dde1e8;
  --accent:#2f5fb3; --sel:#fff1c2; --ident:#2e8b57; --close:#2a8ca8; --diff:#c0392b;
  --struct:#b7791f; --neg:#3b74c4; --pos:#e07b24; --zero:#8a93a3; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font:13px/1.45 system-ui,-apple-system,"Segoe UI","Liberation Sans",Arial,sans-serif; }
code, .mono, td.num, td.name, .kv dd { font-family: ui-monospace,"Liberation Mono",Menlo,monospace; }
header { display:flex; align-items:center; gap:16px; padding:12px 20px; background:#1d2330; color:#fff; }
header h1 { font-size:17px; margin:0; font-weight:600; }
#verdict { padding:3px 10px; border-radius:12px; font-weight:600; }
#verdict.same { background:var(--ident); } #verdict.differ { background:var(--diff); }
main { padding:14px 20px 40px; display:flex; flex-direction:column; gap:14px; }
section, aside { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:12px 14px; }
h2 { font-size:14px; margin:0 0 10px; } h3 { font-size:13px; margin:10px 0 6px; }
.muted { color:var(--muted); } .small { font-size:11px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(260px,1fr)); gap:12px; }
.card { border:1px solid var(--line); border-radius:6px; padding:8px 10px; min-width:0; }
.card h3 { margin:0 0 6px; }
.kv { display:grid; grid-template-columns:max-content minmax(0,1fr); gap:1px 10px; margin:0; }
.kv dt { color:var(--muted); } .kv dd { margin:0; overflow-wrap:anywhere; }
.chips { display:flex; flex-wrap:wrap; gap:6px; margin:4px 0 8px; }
.chip { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; color:#fff; white-space:nowrap; }
.chip.zero { opacity:.35; }
.st-identical { background:var(--ident); } .st-close { background:var(--close); }
.st-different { background:var(--diff); }
.st-only_in_a, .st-only_in_b, .st-shape_mismatch, .st-unsupported_dtype { background:var(--struct); }
a.link, button.link { color:var(--accent); cursor:pointer; background:none; border:0; padding:0;
  font:inherit; text-decoration:underline; overflow-wrap:anywhere; text-align:left; }
table { border-collapse:collapse; width:100%; }
th, td { padding:3px 6px; border-bottom:1px solid var(--line); text-align:left; vertical-align:top; }
th { background:#eef1f5; cursor:pointer; user-select:none; white-space:nowrap; }
th.sorted::after { content:" \25BE"; } th.sorted.asc::after { content:" \25B4"; }
td.num { text-align:right; white-space:nowrap; }
td.name { overflow-wrap:anywhere; min-width:16em; }
#tensors tbody tr { cursor:pointer; } #tensors tbody tr:hover { background:#f0f4fb; }
#tensors tbody tr.sel { background:var(--sel); }
.controls { display:flex; flex-wrap:wrap; align-items:center; gap:8px; margin-bottom:8px; }
input[type=search] { width:min(420px,100%); padding:4px 6px; border:1px solid var(--line); border-radius:4px; }
select, button { font:inherit; padding:3px 8px; border:1px solid var(--line); border-radius:4px; background:#fff; cursor:pointer; }
button:disabled { opacity:.4; cursor:default; }
.split { display:grid; grid-template-columns:minmax(0,3fr) minmax(340px,2fr); gap:14px; align-items:start; }
@media (max-width:1100px) { .split { grid-template-columns:1fr; } }
.table-wrap { max-height:80vh; overflow:auto; border:1px solid var(--line); border-radius:4px; }
.table-wrap th { position:sticky; top:0; z-index:1; }
#detail { position:sticky; top:8px; max-height:calc(100vh - 16px); overflow:auto; }
#detail .tname { font-family:ui-monospace,"Liberation Mono",monospace; font-size:13px; font-weight:600; overflow-wrap:anywhere; }
.worst { background:#fff6f4; border:1px solid #f2c9c0; border-radius:4px; padding:6px 8px; margin:8px 0; }
.chart { margin:6px 0 10px; } .chart svg { width:100%; height:auto; display:block; }
.chart text, #heatmap text { font-size:10px; fill:var(--muted); }
.bar:hover, .cell:hover { stroke:#000; stroke-width:1; }
.heat-wrap { display:flex; flex-wrap:wrap; gap:18px; align-items:flex-start; }
#heatmap { overflow:auto; max-height:75vh; max-width:100%; }
#heatmap rect.cell { cursor:pointer; }
.legend { display:flex; align-items:center; gap:6px; flex-wrap:wrap; font-size:11px; color:var(--muted); }
.legend .sw { display:inline-block; width:12px; height:12px; border:1px solid #bbb; vertical-align:middle; }
.legend .ramp { width:140px; height:12px; border:1px solid #bbb; }
ol.ranked { margin:0; padding-left:2.4em; max-height:60vh; overflow:auto; min-width:320px; }
ol.ranked li { margin:1px 0; }
ol.ranked .rbar { display:inline-block; height:9px; background:var(--diff); margin-right:6px; vertical-align:middle; min-width:1px; }
ol.ranked .rval { display:inline-block; width:6.5em; font-family:ui-monospace,"Liberation Mono",monospace; }
.scroll { max-height:40vh; overflow:auto; }
.meta-val { white-space:pre-wrap; overflow-wrap:anywhere; max-height:8em; overflow:auto; display:block; }
.absent { color:var(--muted); font-style:italic; }
)css";

// Containers the script fills; the <noscript> line is all a reader without
// JavaScript sees besides the raw data.
inline constexpr char kBody[] = R"html(<header><h1>weightdiff report</h1><span id="verdict"></span></header>
<noscript><p>This report is drawn by JavaScript from the data embedded in the file.</p></noscript>
<main>
<section id="overview"><h2>Overview</h2></section>
<section id="quant-section" hidden><h2>Error by quant type</h2></section>
<section id="graph-section" hidden><h2>Graph differences</h2></section>
<section id="structure"><h2>Structural differences</h2></section>
<section id="metadata"><h2>Metadata differences</h2></section>
<section id="heat-section"><h2>Layer &times; module</h2>
<div class="controls"><label>metric <select id="heat-metric"></select></label><span id="heat-legend" class="legend"></span></div>
<div class="heat-wrap"><div id="heatmap"></div><div id="ranked"></div></div></section>
<div class="split">
<section id="table-section"><h2>Tensors</h2>
<div class="controls"><input type="search" id="filter" placeholder="filter names (substring, or /regex/)" aria-label="filter tensor names">
<select id="status-filter" aria-label="status filter"></select>
<button id="prev">&lsaquo; prev</button><button id="next">next &rsaquo;</button><button id="show-all">show all</button>
<span id="count" class="muted"></span></div>
<div class="table-wrap"><table id="tensors"><thead></thead><tbody></tbody></table></div></section>
<aside id="detail"><h2>Tensor</h2><p class="muted">Click a row, a heatmap cell or a name.</p></aside>
</div>
</main>
)html";

}  // namespace weightdiff::html
