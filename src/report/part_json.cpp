#include "report/part_json.hpp"

namespace weightdiff::report {
namespace {

Json stamps(const Model& m) {
  Json out = Json::array();
  for (const auto& s : model_input_stamps(m))
    out.push_back(Json{{"path", s.path}, {"size", s.size}, {"mtime_ns", s.mtime_ns}});
  return out;
}

void moments(JsonText& w, const Moments& m) {
  w.begin_array().number(m.n).number(m.mean).number(m.m2).end_array();
}

}  // namespace

Json part_header(const ReportContext& ctx) {
  const PartIndex& p = *ctx.result->part;
  return Json{{"version", kPartVersion},
              {"k", p.shard.k},
              {"n", p.shard.n},
              {"entries", p.entries},
              {"inputs", {{"a", stamps(*ctx.a)}, {"b", stamps(*ctx.b)}}},
              {"notices", ctx.result->notices}};
}

void raw_stats(JsonText& w, const TensorDiff& t) {
  const PairStats& s = *t.stats;
  w.begin_object();
  w.key("floating").boolean(t.floating);
  w.key("numel").number(s.numel).key("n_finite").number(s.n_finite);
  w.key("equal").number(s.equal).key("mismatched").number(s.mismatched);
  w.key("nan_a").number(s.nan_a).key("nan_b").number(s.nan_b);
  w.key("inf_a").number(s.inf_a).key("inf_b").number(s.inf_b);
  w.key("sum_abs").number(s.sum_abs).key("sum_sq_diff").number(s.sum_sq_diff);
  w.key("dot").number(s.dot).key("sum_sq_a").number(s.sum_sq_a).key("sum_sq_b").number(s.sum_sq_b);
  moments(w.key("mom_a"), s.mom_a);
  moments(w.key("mom_b"), s.mom_b);
  w.key("min_a").number(s.min_a).key("max_a").number(s.max_a);
  w.key("min_b").number(s.min_b).key("max_b").number(s.max_b);
  w.key("max_abs").number(s.max_abs).key("max_abs_index").number(s.max_abs_index);
  w.key("a_at_max_abs").number(s.a_at_max_abs).key("b_at_max_abs").number(s.b_at_max_abs);
  w.key("max_rel").number(s.max_rel);
  w.end_object();
}

}  // namespace weightdiff::report
