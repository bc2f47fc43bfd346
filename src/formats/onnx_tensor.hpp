// One ONNX TensorProto, read at the wire level, turned into a TensorRef.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "formats/protobuf_wire.hpp"
#include "io/mapped_file.hpp"
#include "weightdiff/tensor.hpp"

namespace weightdiff::formats {

// What every tensor of one model shares: the model file, where its external
// data may live, and the external files already opened.
struct OnnxModelFiles {
  std::shared_ptr<const MappedFile> model;
  std::string path;                        // the model path as given
  std::filesystem::path dir;               // its folder as given (empty: the current one)
  MappedFile::Roots roots;                 // where links may resolve (SPEC §7)
  std::map<std::string, std::shared_ptr<const MappedFile>> external;  // by relative path
};

// The TensorProto whose bytes are `span` of the model file. `name` replaces
// the proto's own name when not empty (Constant nodes are named by output).
TensorRef read_onnx_tensor(OnnxModelFiles& files, wire::Span span, const std::string& name = {});

// A SparseTensorProto: named and shaped, marked unsupported ("sparse FLOAT").
TensorRef read_onnx_sparse_tensor(OnnxModelFiles& files, wire::Span span,
                                  const std::string& name = {});

// The ONNX name of a data_type code ("FLOAT16"), or "" for an unknown code.
std::string onnx_type_name(int64_t code);

}  // namespace weightdiff::formats
