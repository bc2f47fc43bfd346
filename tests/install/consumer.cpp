// Diffs two tensors held in memory through the installed public API.
#include <cstdio>
#include <vector>

#include "weightdiff/diff.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/version.hpp"

int main() {
  std::vector<float> a(4096), b(4096);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<float>(i % 61) * 0.25f - 7.0f;
    b[i] = i == 1234 ? a[i] + 0.5f : a[i];
  }
  const auto ma = weightdiff::model_from_buffers(
      "a", {{"w", weightdiff::DType::f32, {64, 64}, a.data(), a.size() * sizeof(float)}});
  const auto mb = weightdiff::model_from_buffers(
      "b", {{"w", weightdiff::DType::f32, {64, 64}, b.data(), b.size() * sizeof(float)}});
  weightdiff::DiffOptions opt;
  opt.backend = weightdiff::BackendKind::cpu;
  const weightdiff::DiffResult r = weightdiff::diff_models(ma, mb, opt);
  const weightdiff::PairStats& s = *r.tensors.at(0).stats;
  std::printf("compared %llu, max_abs %g at %llu, mismatched %llu\n",
              static_cast<unsigned long long>(r.summary.compared), s.max_abs,
              static_cast<unsigned long long>(s.max_abs_index),
              static_cast<unsigned long long>(s.mismatched));
  std::printf("backends: %s\n", weightdiff::compiled_backends().c_str());  // check_install compares
  const bool ok = r.summary.compared == 1 && s.max_abs == 0.5 && s.max_abs_index == 1234 &&
                  s.mismatched == 1 && r.tensors[0].status == weightdiff::Status::different;
  return ok ? 0 : 1;
}
