#include "formats/protobuf_wire.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "weightdiff/error.hpp"

namespace weightdiff::formats::wire {
namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

CodedInputStream make_stream(const std::byte* base, Span span, const std::string& display) {
  if (span.end < span.begin || span.size() > kMaxMessageBytes)
    throw Error(Errc::malformed, "protobuf message over 2 GiB", display);
  return CodedInputStream(reinterpret_cast<const uint8_t*>(base + span.begin),
                          static_cast<int>(span.size()));
}

[[noreturn]] void bad(uint64_t at, const std::string& display, const char* what) {
  throw Error(Errc::malformed,
              std::string("not a valid protobuf message: ") + what + " at byte " + std::to_string(at),
              display);
}

}  // namespace

struct FieldReader::Impl {
  Impl(const std::byte* base, Span span, const std::string& display)
      : in(make_stream(base, span, display)), origin(span.begin), size(span.size()), display(display) {}
  CodedInputStream in;
  uint64_t origin, size;
  const std::string& display;
  uint64_t pos() const { return origin + static_cast<uint64_t>(in.CurrentPosition()); }
};

FieldReader::FieldReader(const std::byte* base, Span span, const std::string& display)
    : impl_(std::make_unique<Impl>(base, span, display)) {}
FieldReader::~FieldReader() = default;

bool FieldReader::next(Field& f) {
  auto& in = impl_->in;
  for (;;) {
    const uint64_t start = impl_->pos();
    if (start == impl_->origin + impl_->size) return false;
    const uint32_t tag = in.ReadTagNoLastTag();
    if (tag == 0 || WireFormatLite::GetTagFieldNumber(tag) == 0) bad(start, impl_->display, "bad field tag");
    f = Field{};
    f.number = static_cast<uint32_t>(WireFormatLite::GetTagFieldNumber(tag));
    const auto type = WireFormatLite::GetTagWireType(tag);
    f.whole.begin = start;
    switch (type) {
      case WireFormatLite::WIRETYPE_VARINT:
        if (!in.ReadVarint64(&f.value)) bad(start, impl_->display, "truncated varint");
        break;
      case WireFormatLite::WIRETYPE_FIXED64: {
        f.payload.begin = impl_->pos();
        if (!in.ReadLittleEndian64(&f.value)) bad(start, impl_->display, "truncated fixed64");
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED32: {
        f.payload.begin = impl_->pos();
        uint32_t v = 0;
        if (!in.ReadLittleEndian32(&v)) bad(start, impl_->display, "truncated fixed32");
        f.value = v;
        break;
      }
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint64_t len = 0;  // 64 bits: ReadVarint32 would drop the high bits of a hostile length
        if (!in.ReadVarint64(&len)) bad(start, impl_->display, "truncated length");
        f.payload.begin = impl_->pos();
        if (len > impl_->origin + impl_->size - f.payload.begin || !in.Skip(static_cast<int>(len)))
          bad(start, impl_->display, "length past the end of its message");
        break;
      }
      case WireFormatLite::WIRETYPE_START_GROUP:
        // Deprecated groups: skipped whole (protobuf bounds their nesting).
        if (!WireFormatLite::SkipField(&in, tag)) bad(start, impl_->display, "bad group");
        continue;
      default:
        bad(start, impl_->display, "bad wire type");
    }
    f.type = static_cast<uint8_t>(type);
    f.whole.end = impl_->pos();
    if (type == WireFormatLite::WIRETYPE_VARINT) f.payload = {f.whole.end, f.whole.end};
    else f.payload.end = f.whole.end;
    return true;
  }
}

struct PackedVarints::Impl {
  Impl(const std::byte* base, Span span, const std::string& display)
      : in(make_stream(base, span, display)), origin(span.begin), size(span.size()), display(display) {}
  CodedInputStream in;
  uint64_t origin, size;
  const std::string& display;
};

PackedVarints::PackedVarints(const std::byte* base, Span payload, const std::string& display)
    : impl_(std::make_unique<Impl>(base, payload, display)) {}
PackedVarints::~PackedVarints() = default;

bool PackedVarints::next(uint64_t& value) {
  auto& in = impl_->in;
  const uint64_t at = impl_->origin + static_cast<uint64_t>(in.CurrentPosition());
  if (at == impl_->origin + impl_->size) return false;
  if (!in.ReadVarint64(&value)) bad(at, impl_->display, "truncated packed varint");
  return true;
}

}  // namespace weightdiff::formats::wire
