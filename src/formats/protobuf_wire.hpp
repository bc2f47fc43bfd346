// Wire-level reading of protobuf messages that lie in a mapped file.
//
// ONNX keeps tensor bytes inside the protobuf (raw_data, packed typed
// fields). Parsing a ModelProto with the generated classes would copy every
// one of them into a std::string; walking the wire format instead yields
// where each field's bytes are, so tensors are referenced in place and only
// the small fields are handed to the generated onnx_proto classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace weightdiff::formats::wire {

enum WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };

// [begin, end) byte offsets into a buffer.
struct Span {
  uint64_t begin = 0, end = 0;
  uint64_t size() const noexcept { return end - begin; }
};

struct Field {
  uint32_t number = 0;
  uint8_t type = kVarint;
  uint64_t value = 0;  // kVarint: the value; kFixed32/kFixed64: the bits
  Span payload;        // kLength: the bytes; fixed: the value's bytes; varint: empty
  Span whole;          // tag included: for copying the field unchanged
};

// The fields of one message, in file order. Deprecated groups are skipped.
// Buffers are at most 2 GiB (protobuf's own limit on a message).
class FieldReader {
 public:
  // `display` names the file in errors.
  FieldReader(const std::byte* base, Span span, const std::string& display);
  ~FieldReader();
  FieldReader(const FieldReader&) = delete;
  FieldReader& operator=(const FieldReader&) = delete;
  // The next field; false at the end of the span. Throws Error(malformed)
  // when the bytes are not a well-formed message.
  bool next(Field& f);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The values of a packed repeated varint field (its kLength payload).
class PackedVarints {
 public:
  PackedVarints(const std::byte* base, Span payload, const std::string& display);
  ~PackedVarints();
  PackedVarints(const PackedVarints&) = delete;
  PackedVarints& operator=(const PackedVarints&) = delete;
  // The next value; false at the end. Throws Error(malformed).
  bool next(uint64_t& value);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The largest buffer the readers accept.
inline constexpr uint64_t kMaxMessageBytes = (uint64_t{1} << 31) - 1;

}  // namespace weightdiff::formats::wire
