// ONNX TensorProto.DataType codes, by number: Debian's libonnx-dev (1.12)
// predates FP8 (17–20, ONNX 1.14), INT4/UINT4 (21–22, 1.16) and the later
// codes, so the generated enum cannot be used for them.
#pragma once

#include <cstdint>
#include <optional>

#include "weightdiff/dtype.hpp"

namespace weightdiff::formats {

// TensorProto field numbers holding values.
enum OnnxValueField : uint32_t {
  kFloatData = 4, kInt32Data = 5, kStringData = 6, kInt64Data = 7,
  kRawData = 9, kDoubleData = 10, kUint64Data = 11,
};

struct OnnxType {
  int64_t code = 0;
  const char* name = "";        // the format's name: "FLOAT16"
  std::optional<DType> dtype;   // empty: defined by ONNX, not decodable here
  uint32_t typed_field = 0;     // the typed field that may hold the values
  int64_t lo = 0, hi = 0;       // accepted range of a varint-stored value
  unsigned value_bytes = 0;     // bytes per stored value (one packed byte for 4-bit types)
};

// nullopt for a code ONNX does not define (a malformed file).
std::optional<OnnxType> onnx_type(int64_t code) noexcept;

}  // namespace weightdiff::formats
