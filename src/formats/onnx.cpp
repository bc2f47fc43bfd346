// ONNX ModelProto → catalog. The graph is walked at the wire level (see
// protobuf_wire.hpp); the generated onnx_proto classes parse everything but
// the tensor values.
#include "formats/onnx.hpp"

#include <onnx/onnx_pb.h>  // defines ONNX_API, then includes onnx-ml.pb.h

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <unordered_map>
#include <vector>

#include "formats/limits.hpp"
#include "formats/onnx_names.hpp"
#include "formats/onnx_tensor.hpp"
#include "formats/onnx_types.hpp"
#include "formats/protobuf_wire.hpp"
#include "io/paths.hpp"
#include "weightdiff/error.hpp"

namespace fs = std::filesystem;

namespace weightdiff::formats {
namespace {

// If/Loop/Scan bodies nest graphs; a hostile file could nest them without end.
constexpr int kMaxGraphDepth = 64;
// Main-graph nodes kept for naming (about 130 bytes each): real graphs hold
// far fewer; a hostile one with more gets no derived names, not 10x its
// size in memory.
constexpr size_t kMaxNamingNodes = 1'000'000;
// The graph summary (issue 15's graph comparison): a graph input's or
// output's message at most 1 MiB, and the summary's memory at most 512 MiB;
// beyond that the graph is reported as too large to compare.
constexpr uint64_t kMaxValueInfoBytes = uint64_t{1} << 20;
constexpr uint64_t kMaxSummaryBytes = uint64_t{512} << 20;
// Messages at least this big have their pages dropped once read.
constexpr uint64_t kReleaseAfter = uint64_t{1} << 20;

// Field numbers (onnx.proto).
enum : uint32_t {
  kModelGraph = 7, kModelTrainingInfo = 20, kModelFunctions = 25,
  kGraphNode = 1, kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12, kGraphSparseInitializer = 15,
  kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5, kNodeDomain = 7,
  kAttrName = 1, kAttrFloat = 2, kAttrInt = 3, kAttrTensor = 5, kAttrGraph = 6,
  kAttrFloats = 7, kAttrInts = 8, kAttrStrings = 9, kAttrTensors = 10, kAttrGraphs = 11,
  kAttrSparseTensor = 22, kAttrSparseTensors = 23,
};

// FNV-1a: a node attribute's identity for the graph comparison.
uint64_t hash_bytes(const std::byte* p, uint64_t n, uint64_t h) {
  for (uint64_t i = 0; i < n; ++i) h = (h ^ static_cast<uint8_t>(p[i])) * 1099511628211ull;
  return h;
}

// A graph input's or output's type as reports show it: "f32[1,seq,384]".
std::string value_type(const onnx::TypeProto& t) {
  if (t.has_sequence_type()) return "sequence";
  if (t.has_map_type()) return "map";
  if (!t.has_tensor_type()) return "";
  const auto& tt = t.tensor_type();
  std::string out;
  if (const auto type = onnx_type(tt.elem_type())) out = type->dtype ? std::string(dtype_name(*type->dtype)) : type->name;
  else out = "type" + std::to_string(tt.elem_type());
  if (!tt.has_shape()) return out;
  out += '[';
  for (int i = 0; i < tt.shape().dim_size(); ++i) {
    const auto& d = tt.shape().dim(i);
    if (i) out += ',';
    if (d.has_dim_value()) out += std::to_string(d.dim_value());
    else if (d.has_dim_param() && !d.dim_param().empty()) out += d.dim_param();
    else out += '?';
  }
  out += ']';
  return out;
}

std::string field_string(const std::byte* base, const wire::Field& f) {
  return std::string(reinterpret_cast<const char*>(base + f.payload.begin), f.payload.size());
}
// Valid while the model file stays pinned (all of open_onnx).
std::string_view field_view(const std::byte* base, const wire::Field& f) {
  return {reinterpret_cast<const char*>(base + f.payload.begin), f.payload.size()};
}

// Walks a graph and its subgraphs, collecting every tensor with the scope
// it was found in ("" for the main graph, "if_3.then_branch/" below).
//
// Scopes are kept as a tree of pieces (a node's label, then each of its
// graph attributes), not as one string per tensor or per graph: an If node
// with a 1 MB name and 2,000 initializers in its branches would otherwise
// hold 2,000 copies of that name (2 GB from a 1 MB file). Each piece is
// bytes of the file, so the tree is a small multiple of the file's size.
class GraphWalker {
 public:
  GraphWalker(OnnxModelFiles& files, std::vector<TensorRef>& out, GraphSummary& summary)
      : files_(files), out_(out), summary_(summary) {
    scopes_.push_back({0, {}, 0});  // the main graph
  }

  void graph(wire::Span span, int depth, size_t scope) {
    if (depth > kMaxGraphDepth)
      throw Error(Errc::malformed, "subgraphs nested more than " + std::to_string(kMaxGraphDepth) + " deep",
                  files_.path);
    wire::FieldReader reader(base(), span, files_.path);
    wire::Field f;
    size_t node_index = 0;
    while (reader.next(f)) {
      if (depth == 0 && (f.number == kGraphInput || f.number == kGraphOutput)) {
        expect_message(f, "GraphProto");
        value_info(f, f.number == kGraphInput ? summary_.inputs : summary_.outputs);
        continue;
      }
      if (f.number != kGraphNode && f.number != kGraphInitializer && f.number != kGraphSparseInitializer)
        continue;
      expect_message(f, "GraphProto");
      if (f.number == kGraphNode) node(f.payload, depth, scope, node_index++);
      else if (f.number == kGraphInitializer) add(read_onnx_tensor(files_, f.payload), scope);
      else add(read_onnx_sparse_tensor(files_, f.payload), scope);
      // Reading a tensor's few header bytes can map a whole large folio of
      // the page cache (2 MiB on recent kernels): drop it again, or a model
      // with thousands of big initializers would be resident after parsing.
      if (f.payload.size() >= kReleaseAfter) files_.model->release_touched(f.whole.begin, f.whole.size());
    }
  }

  // Renames what the scopes must tell apart: a name defined in more than
  // one place keeps it in the main graph and gets its scope prefixed in
  // subgraphs (sibling If branches may each hold a `w`). Duplicates left in
  // the main graph are a conflict (open_model).
  // A qualified name over the name limit is refused before it is built.
  void qualify_duplicates() {
    std::unordered_map<std::string, size_t> uses;
    for (const auto& t : out_) ++uses[t.name];
    for (size_t i = 0; i < out_.size(); ++i) {
      const size_t scope = scope_of_[i];
      if (scope == 0 || uses[out_[i].name] <= 1) continue;
      const uint64_t length = scopes_[scope].length + out_[i].name.size();
      if (length > kMaxTensorName)
        throw Error(Errc::malformed,
                    "tensor name of " + std::to_string(length) + " bytes, longer than 16 KiB", files_.path,
                    scope_text(scope, 64) + "...");
      out_[i].name = scope_text(scope, kMaxTensorName) + out_[i].name;
    }
  }

  // Exporter-generated initializer names get the parameter name their
  // consumers in the main graph imply (onnx_names.hpp), for matching.
  void derive_names() {
    if (main_nodes_.empty() || naming_overflow_) return;
    std::vector<OnnxNamedTensor> named;
    named.reserve(out_.size());
    for (const auto& t : out_) named.push_back({t.name, t.shape.size(), t.numel});
    std::vector<bool> transposed;
    const auto derived = derive_onnx_names(named, main_nodes_, &transposed);
    for (size_t i = 0; i < out_.size(); ++i)
      if (derived[i].size() <= kMaxTensorName) {
        out_[i].matched_as = derived[i];
        out_[i].stored_transposed = transposed[i];
      }
    main_nodes_.clear();
  }

 private:
  struct Scope {
    size_t parent;
    std::string piece;  // what this scope appends to its parent's text
    uint64_t length;    // of the whole text, root to here
  };

  size_t add_scope(size_t parent, std::string piece) {
    const uint64_t length = scopes_[parent].length + piece.size();  // both bounded by the file size
    scopes_.push_back({parent, std::move(piece), length});
    return scopes_.size() - 1;
  }

  // The first `max` bytes of a scope's text.
  std::string scope_text(size_t scope, size_t max) const {
    std::vector<size_t> chain;  // at most 2 * kMaxGraphDepth + 1 long
    for (size_t s = scope; s != 0; s = scopes_[s].parent) chain.push_back(s);
    std::string text;
    for (auto it = chain.rbegin(); it != chain.rend() && text.size() < max; ++it)
      text.append(scopes_[*it].piece, 0, max - text.size());
    return text;
  }

  void add(TensorRef t, size_t scope) {
    if (out_.size() >= kMaxTensors)
      throw Error(Errc::unsupported,
                  "holds more than " + std::to_string(kMaxTensors) + " tensors; at most that many per model are supported",
                  files_.path);
    out_.push_back(std::move(t));
    scope_of_.push_back(scope);
  }

  const std::byte* base() const { return files_.model->data(); }

  // A main-graph input or output, for the graph comparison.
  void value_info(const wire::Field& f, std::vector<GraphValue>& out) {
    if (f.payload.size() > kMaxValueInfoBytes)
      throw Error(Errc::malformed, "a graph input or output of " + std::to_string(f.payload.size()) +
                                       " bytes (at most 1 MiB)", files_.path);
    if (!charge_summary(sizeof(GraphValue))) return;
    onnx::ValueInfoProto v;
    if (!v.ParseFromArray(base() + f.payload.begin, static_cast<int>(f.payload.size())))
      throw Error(Errc::malformed, "a graph input or output is not a ValueInfoProto", files_.path);
    if (v.name().size() > kMaxTensorName)
      throw Error(Errc::malformed, "a graph input or output name longer than 16 KiB", files_.path);
    GraphValue value{v.name(), v.has_type() ? value_type(v.type()) : std::string()};
    if (charge_summary(value.name.size() + value.type.size())) out.push_back(std::move(value));
  }

  // Counts bytes against the summary's budget; false (and the summary
  // dropped, truncated) once over it: per node the strings cost far more
  // in memory than their bytes in the file (an empty input: 2 bytes there).
  bool charge_summary(uint64_t bytes) {
    if (summary_.truncated) return false;
    summary_bytes_ += bytes;
    if (summary_bytes_ <= kMaxSummaryBytes) return true;
    drop_summary();
    return false;
  }

  // A graph too large to summarise: no node comparison, reported as such.
  void drop_summary() {
    summary_.truncated = true;
    std::vector<GraphNode>().swap(summary_.nodes);
  }

  void expect_message(const wire::Field& f, const char* in) const {
    if (f.type != wire::kLength)
      throw Error(Errc::malformed, std::string("bad wire type for ") + in + " field " +
                                       std::to_string(f.number),
                  files_.path);
  }

  // Subgraphs of every node; the tensor of a Constant node, named by its output.
  void node(wire::Span span, int depth, size_t scope, size_t index) {
    std::string op_type, domain, output, name;
    bool has_output = false;
    std::vector<wire::Span> attributes;
    OnnxNodeUse use;  // main graph only: naming reads it
    GraphNode summary;  // main graph only: the graph comparison reads it
    const bool summarize = depth == 0 && !summary_.truncated;
    std::string_view op_view;
    wire::FieldReader reader(base(), span, files_.path);
    wire::Field f;
    while (reader.next(f)) {
      if (f.number != kNodeOutput && f.number != kNodeOpType && f.number != kNodeDomain &&
          f.number != kNodeAttribute && f.number != kNodeName && f.number != kNodeInput)
        continue;
      expect_message(f, "NodeProto");
      if (summarize && (f.number == kNodeInput || f.number == kNodeOutput) &&
          charge_summary(sizeof(std::string) + f.payload.size()))
        (f.number == kNodeInput ? summary.inputs : summary.outputs).push_back(field_string(base(), f));
      if (f.number == kNodeInput) {
        if (use.n_inputs < use.inputs.size()) use.inputs[use.n_inputs++] = field_view(base(), f);
      } else if (f.number == kNodeOutput && !has_output) {
        output = field_string(base(), f);
        use.output = field_view(base(), f);
        has_output = true;
      } else if (f.number == kNodeOpType) op_type = field_string(base(), f), op_view = field_view(base(), f);
      else if (f.number == kNodeDomain) domain = field_string(base(), f);
      else if (f.number == kNodeName) name = field_string(base(), f), use.name = field_view(base(), f);
      else if (f.number == kNodeAttribute) attributes.push_back(f.payload);
    }
    const bool standard = domain.empty() || domain == "ai.onnx";
    const bool constant = op_type == "Constant" && standard;
    if (summarize) add_summary_node(std::move(summary), name, standard ? op_type : domain + "." + op_type, attributes);
    if (depth == 0 && use.n_inputs > 0 && !naming_overflow_) {
      naming_overflow_ = main_nodes_.size() == kMaxNamingNodes;
      // onnxruntime's own ops too (SimplifiedLayerNormalization)
      if (standard || domain == "com.microsoft") use.op_type = op_view;
      if (!naming_overflow_) main_nodes_.push_back(use);
      else std::vector<OnnxNodeUse>().swap(main_nodes_);
    }
    // Subgraph scope: the node's name, or its op type and place in the graph.
    // (Built with append: GCC 12's -Wrestrict misfires on chained operator+.)
    std::string label;
    if (name.empty()) label.append(op_type).append("#").append(std::to_string(index));
    else label = std::move(name);
    label.append(".");
    std::optional<size_t> node_scope;  // made for the node's first subgraph
    for (const auto& a : attributes)
      attribute(a, depth, scope, label, node_scope, constant && !output.empty() ? &output : nullptr);
  }

  void add_summary_node(GraphNode node, const std::string& name, std::string op, const std::vector<wire::Span>& attrs) {
    if (summary_.nodes.size() == kMaxNamingNodes) {  // as naming: a hostile graph gets no comparison
      drop_summary();
      return;
    }
    if (summary_.truncated || !charge_summary(sizeof(GraphNode) + name.size() + op.size())) return;
    node.name = name;
    node.op_type = std::move(op);
    for (const auto& a : attrs) {
      // The attribute's fields hashed in order, a tensor's (a Constant's
      // value: weights, compared as a tensor) by its size only, so that
      // opening a model reads no tensor data for it.
      std::string attr_name;
      uint64_t h = 14695981039346656037ull;
      wire::FieldReader reader(base(), a, files_.path);
      wire::Field f;
      while (reader.next(f)) {
        if (f.number == kAttrName && f.type == wire::kLength) attr_name = field_string(base(), f);
        const bool tensor = f.number == kAttrTensor || f.number == kAttrTensors || f.number == kAttrSparseTensor ||
                            f.number == kAttrSparseTensors;
        const uint64_t head[3] = {f.number, f.type, tensor ? f.payload.size() : f.value};
        h = hash_bytes(reinterpret_cast<const std::byte*>(head), sizeof head, h);
        if (!tensor && f.type == wire::kLength) h = hash_bytes(base() + f.payload.begin, f.payload.size(), h);
      }
      if (!charge_summary(sizeof(std::pair<std::string, uint64_t>) + attr_name.size())) return;
      node.attributes.emplace_back(std::move(attr_name), h);
    }
    std::sort(node.attributes.begin(), node.attributes.end());
    summary_.nodes.push_back(std::move(node));
  }

  void attribute(wire::Span span, int depth, size_t scope, const std::string& label,
                 std::optional<size_t>& node_scope, const std::string* constant_output) {
    std::string name;
    std::vector<wire::Field> fields;  // the value-bearing ones, in order
    std::vector<wire::Span> graphs;   // walked once the attribute's name is known
    wire::FieldReader reader(base(), span, files_.path);
    wire::Field f;
    while (reader.next(f)) {
      if (f.number == kAttrName) {
        expect_message(f, "AttributeProto");
        name = field_string(base(), f);
      } else if (f.number == kAttrGraph || f.number == kAttrGraphs) {
        expect_message(f, "AttributeProto");
        graphs.push_back(f.payload);
      } else if (constant_output != nullptr &&
                 (f.number == kAttrTensor || f.number == kAttrSparseTensor || f.number == kAttrFloat ||
                  f.number == kAttrInt || f.number == kAttrFloats || f.number == kAttrInts ||
                  f.number == kAttrStrings)) {
        fields.push_back(f);
      }
    }
    if (!graphs.empty() && !node_scope) node_scope = add_scope(scope, label);
    for (size_t k = 0; k < graphs.size(); ++k) {
      std::string sub = name;
      if (graphs.size() > 1) sub.append(".").append(std::to_string(k));
      graph(graphs[k], depth + 1, add_scope(*node_scope, sub.append("/")));
    }
    if (constant_output != nullptr) constant(name, span, fields, *constant_output, scope);
  }

  // Constant's one value attribute: value, sparse_value, value_float(s),
  // value_int(s); strings are listed as unsupported.
  void constant(const std::string& attr, wire::Span span, const std::vector<wire::Field>& fields,
                const std::string& output, size_t scope) {
    const auto last = [&](uint32_t number) -> const wire::Field* {
      const wire::Field* found = nullptr;
      for (const auto& f : fields)
        if (f.number == number) found = &f;
      return found;
    };
    if (attr == "value") {
      const auto* t = last(kAttrTensor);
      if (t == nullptr) throw Error(Errc::malformed, "Constant 'value' without a tensor", files_.path, output);
      expect_message(*t, "AttributeProto");
      add(read_onnx_tensor(files_, t->payload, output), scope);
    } else if (attr == "sparse_value") {
      const auto* t = last(kAttrSparseTensor);
      if (t == nullptr) throw Error(Errc::malformed, "Constant 'sparse_value' without a tensor", files_.path, output);
      expect_message(*t, "AttributeProto");
      add(read_onnx_sparse_tensor(files_, t->payload, output), scope);
    } else if (attr == "value_float" || attr == "value_int") {
      const bool is_float = attr == "value_float";
      const auto* v = last(is_float ? kAttrFloat : kAttrInt);
      if (v == nullptr || v->type != (is_float ? wire::kFixed32 : wire::kVarint))
        throw Error(Errc::malformed, "Constant '" + attr + "' without its value", files_.path, output);
      add(scalar_or_list(output, is_float, span, is_float ? kAttrFloat : kAttrInt, true), scope);
    } else if (attr == "value_floats" || attr == "value_ints") {
      const bool is_float = attr == "value_floats";
      add(scalar_or_list(output, is_float, span, is_float ? kAttrFloats : kAttrInts, false), scope);
    } else if (attr == "value_string" || attr == "value_strings") {
      TensorRef ref;
      ref.name = output;
      ref.unsupported_dtype = "STRING";
      if (attr == "value_strings") {
        uint64_t n = 0;
        for (const auto& f : fields) n += f.number == kAttrStrings;
        ref.shape = {n};
        ref.numel = n;
      }
      add(std::move(ref), scope);
    }
  }

  // value_float / value_int (a scalar) and value_floats / value_ints (1-D):
  // f32 values in one packed run stay in place; the rest is decoded.
  TensorRef scalar_or_list(const std::string& name, bool is_float, wire::Span attr_span,
                           uint32_t number, bool scalar) {
    TensorRef ref;
    ref.name = name;
    ref.dtype = is_float ? DType::f32 : DType::i64;
    std::vector<std::byte> bytes;
    std::vector<wire::Span> runs;  // packed f32 runs, or single values' bytes
    const auto append = [&](const void* p, size_t n) {
      const auto* b = static_cast<const std::byte*>(p);
      bytes.insert(bytes.end(), b, b + n);
    };
    wire::FieldReader reader(base(), attr_span, files_.path);
    wire::Field f;
    while (reader.next(f)) {
      if (f.number != number) continue;
      if (scalar) bytes.clear();  // a repeated scalar field: the last one wins
      if (is_float) {
        if (f.type == wire::kLength && f.payload.size() % 4 != 0)
          throw Error(Errc::malformed, "packed floats length is not a multiple of 4", files_.path, name);
        if (f.type != wire::kLength && f.type != wire::kFixed32)
          throw Error(Errc::malformed, "bad wire type for a float attribute", files_.path, name);
        runs.push_back(f.payload);
        if (scalar) runs.erase(runs.begin(), runs.end() - 1);
      } else if (f.type == wire::kVarint) {
        append(&f.value, 8);
      } else if (f.type == wire::kLength) {
        wire::PackedVarints values(base(), f.payload, files_.path);
        uint64_t v = 0;
        while (values.next(v)) append(&v, 8);
      } else {
        throw Error(Errc::malformed, "bad wire type for an int attribute", files_.path, name);
      }
    }
    if (is_float && runs.size() == 1) {  // in place
      ref.storage = files_.model;
      ref.offset = runs.front().begin;
      ref.nbytes = runs.front().size();
    } else {
      for (const auto& r : runs) append(base() + r.begin, r.size());
      ref.nbytes = bytes.size();
      ref.storage = ref.nbytes ? MappedFile::from_bytes(std::move(bytes), files_.path) : nullptr;
    }
    ref.numel = ref.nbytes / (is_float ? 4 : 8);
    if (!scalar) ref.shape = {ref.numel};
    return ref;
  }

  OnnxModelFiles& files_;
  std::vector<TensorRef>& out_;
  std::vector<Scope> scopes_;     // [0] is the main graph
  std::vector<size_t> scope_of_;  // parallel to out_
  std::vector<OnnxNodeUse> main_nodes_;
  bool naming_overflow_ = false;
  GraphSummary& summary_;
  uint64_t summary_bytes_ = 0;
};

void add_metadata(const onnx::ModelProto& m, std::map<std::string, std::string>& meta) {
  meta["onnx.ir_version"] = std::to_string(m.ir_version());
  if (m.has_producer_name()) meta["onnx.producer_name"] = m.producer_name();
  if (m.has_producer_version()) meta["onnx.producer_version"] = m.producer_version();
  if (m.has_domain()) meta["onnx.domain"] = m.domain();
  if (m.has_model_version()) meta["onnx.model_version"] = std::to_string(m.model_version());
  for (const auto& op : m.opset_import())
    meta["onnx.opset." + (op.domain().empty() ? std::string("ai.onnx") : op.domain())] =
        std::to_string(op.version());
  for (const auto& p : m.metadata_props()) meta[p.key()] = p.value();
}

}  // namespace

bool looks_like_onnx(const MappedFile& file, const std::string& path) noexcept {
  constexpr uint8_t kIrVersionTag = 0x08;  // field 1, varint
  return path.ends_with(".onnx") ||
         (file.size() > 0 && static_cast<uint8_t>(file.data()[0]) == kIrVersionTag);
}

Model open_onnx(std::shared_ptr<const MappedFile> file, const std::string& path) {
  if (file->size() == 0) throw Error(Errc::malformed, "not an ONNX ModelProto: empty file", path);
  if (file->size() > wire::kMaxMessageBytes)
    throw Error(Errc::malformed,
                "not an ONNX ModelProto: over 2 GiB, which protobuf cannot hold "
                "(large models keep their weights in external data)",
                path);
  OnnxModelFiles files;
  files.model = file;
  files.path = path;
  files.dir = fs::path(path).parent_path();  // may be empty: names stay as the user would write them
  files.roots = std::make_shared<const std::vector<fs::path>>(
      io::allowed_roots(files.dir.empty() ? fs::path(".") : files.dir, path));
  const StoragePin parsing(file.get());  // the graph is walked in place

  // Top level: the graph is walked; the small fields go to onnx::ModelProto.
  std::optional<wire::Span> graph;
  std::string header_bytes;
  {
    wire::FieldReader reader(file->data(), {0, file->size()}, path);
    wire::Field f;
    while (reader.next(f)) {
      if (f.number == kModelGraph) {
        if (f.type != wire::kLength) throw Error(Errc::malformed, "not an ONNX ModelProto: bad graph field", path);
        if (graph) throw Error(Errc::malformed, "ModelProto holds two graphs", path);
        graph = f.payload;
      } else if (f.number != kModelTrainingInfo && f.number != kModelFunctions) {
        header_bytes.append(reinterpret_cast<const char*>(file->data() + f.whole.begin), f.whole.size());
      }
    }
  }
  onnx::ModelProto proto;
  if (!proto.ParseFromString(header_bytes) || !proto.has_ir_version())
    throw Error(Errc::malformed, "not an ONNX ModelProto (no ir_version)", path);

  Model m;
  m.path = path;
  m.format = "onnx";
  add_metadata(proto, m.metadata);
  auto summary = std::make_shared<GraphSummary>();
  summary->ir_version = proto.ir_version();
  for (const auto& op : proto.opset_import())
    summary->opsets.emplace_back(op.domain().empty() ? std::string("ai.onnx") : op.domain(), op.version());
  std::sort(summary->opsets.begin(), summary->opsets.end());
  if (graph) {
    GraphWalker walker(files, m.tensors, *summary);
    walker.graph(*graph, 0, 0);
    walker.qualify_duplicates();
    walker.derive_names();
  }
  m.graph = std::move(summary);
  file->release_touched(0, file->size());  // whatever parsing left mapped
  return m;
}

}  // namespace weightdiff::formats
