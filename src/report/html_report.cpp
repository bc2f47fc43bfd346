// The HTML report (issue 5): one self-contained file that needs no network.
// The data is embedded once as JSON (html_data.cpp) and the page is drawn
// from it by inline JavaScript and SVG (html_script.hpp, html_charts.hpp):
// a table of 10k+ tensors is one JSON row each instead of megabytes of
// markup, and the page can sort, filter and chart without a server.
#include "report/html_charts.hpp"
#include "report/html_data.hpp"
#include "report/html_script.hpp"
#include "report/html_style.hpp"
#include "weightdiff/report.hpp"
#include "weightdiff/version.hpp"

namespace weightdiff {

// Nothing may be fetched, even if a hostile name got past the escaping:
// inline code and styles and data: URLs only.
static constexpr char kContentPolicy[] =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'";

void write_html(std::ostream& out, const ReportContext& ctx) {
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta http-equiv=\"Content-Security-Policy\" content=\"" << kContentPolicy << "\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<meta name=\"generator\" content=\"weightdiff " << html::escape_html(kVersion) << "\">\n"
      // An empty icon: otherwise a browser may ask for /favicon.ico.
      << "<link rel=\"icon\" href=\"data:,\">\n"
      << "<title>weightdiff: " << html::escape_html(ctx.a->path) << " vs "
      << html::escape_html(ctx.b->path) << "</title>\n"
      << "<style>" << html::kStyle << "</style>\n</head>\n<body>\n"
      << html::kBody << "<script type=\"application/json\" id=\"wd-data\">";
  html::write_report_data(out, ctx);
  out << "</script>\n<script>\n'use strict';\n(() => {" << html::kScriptData << html::kScriptCharts
      << html::kScriptPage << "})();\n</script>\n</body>\n</html>\n";
}

}  // namespace weightdiff
