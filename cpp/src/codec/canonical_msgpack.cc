#include "codec/canonical_msgpack.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <msgpack/pack.hpp>
#include <msgpack/parse.hpp>
#include <msgpack/unpack.hpp>  // msgpack::parse needs its detail::value<T>
#include <optional>
#include <vector>

namespace convergent::internal {
namespace {

// A float64 as 0xcb + big-endian IEEE bits, every NaN as the one quiet NaN 0x7ff8000000000000.
// msgpack::packer::pack_double is not used: it writes integral doubles as integers, which would
// make 1.0 the same value as 1.
void AppendFloat64(double d, std::string* out) {
  uint64_t bits = 0x7ff8000000000000ull;
  if (!std::isnan(d)) std::memcpy(&bits, &d, sizeof bits);
  char buf[9];
  buf[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  out->append(buf, sizeof buf);
}

// A msgpack-c parse visitor (the interface of msgpack::null_visitor) that writes the canonical
// form of what it visits to a string. Every header is re-packed in its smallest form by
// msgpack::packer; a map's entries are sorted by their canonical key bytes when the map ends
// (its nested maps were already sorted when they ended). Nothing is allocated from a count read
// in the input: containers grow only as their elements are actually parsed.
class Canonicalizer {
 public:
  explicit Canonicalizer(std::string* out) : out_(out), sink_(out), packer_(sink_) {}

  const char* error() const { return error_; }

  bool visit_nil() {
    packer_.pack_nil();
    return true;
  }
  bool visit_boolean(bool b) {
    if (b) {
      packer_.pack_true();
    } else {
      packer_.pack_false();
    }
    return true;
  }
  bool visit_positive_integer(uint64_t v) {
    packer_.pack_uint64(v);
    return true;
  }
  // Called for every int8..int64 form, also when it holds a non-negative number: pack_int64
  // writes those in the unsigned forms.
  bool visit_negative_integer(int64_t v) {
    packer_.pack_int64(v);
    return true;
  }
  bool visit_float32(float f) {
    AppendFloat64(f, out_);
    return true;
  }
  bool visit_float64(double d) {
    AppendFloat64(d, out_);
    return true;
  }
  bool visit_str(const char* p, uint32_t n) {
    if (!IsValidUtf8(std::string_view(p, n))) return Fail("a str that is not valid UTF-8");
    packer_.pack_str(n);
    if (n != 0) packer_.pack_str_body(p, n);
    return true;
  }
  bool visit_bin(const char* p, uint32_t n) {
    packer_.pack_bin(n);
    if (n != 0) packer_.pack_bin_body(p, n);
    return true;
  }
  // p points at the type byte, followed by size - 1 bytes of data.
  bool visit_ext(const char* p, uint32_t size) {
    if (size == 0) return Fail("an ext without a type");
    const uint32_t n = size - 1;
    packer_.pack_ext(n, static_cast<int8_t>(p[0]));
    if (n != 0) packer_.pack_ext_body(p + 1, n);
    return true;
  }

  bool start_array(uint32_t n) {
    if (!Enter()) return false;
    packer_.pack_array(n);
    return true;
  }
  bool start_array_item() { return true; }
  bool end_array_item() { return true; }
  bool end_array() {
    --depth_;
    return true;
  }

  bool start_map(uint32_t n) {
    if (!Enter()) return false;
    packer_.pack_map(n);
    maps_.push_back(entries_.size());
    return true;
  }
  bool start_map_key() {
    entries_.push_back(Entry{out_->size(), 0});
    return true;
  }
  bool end_map_key() { return true; }
  bool start_map_value() {
    entries_.back().value = out_->size();
    return true;
  }
  bool end_map_value() { return true; }
  bool end_map() {
    --depth_;
    const size_t first = maps_.back();
    maps_.pop_back();
    const bool ok = SortEntries(first);
    entries_.resize(first);
    return ok;
  }

  void parse_error(size_t /*parsed_offset*/, size_t /*error_offset*/) {
    error_ = "malformed msgpack";
  }
  void insufficient_bytes(size_t /*parsed_offset*/, size_t /*error_offset*/) {
    error_ = "truncated msgpack";
  }
  bool referenced() const { return false; }
  void set_referenced(bool /*referenced*/) {}

 private:
  struct Entry {  // offsets into *out_
    size_t key;
    size_t value;
  };
  struct Span {  // one map entry: key bytes [key, value), whole entry [key, end)
    size_t key;
    size_t value;
    size_t end;
  };

  bool Fail(const char* why) {
    error_ = why;
    return false;
  }
  bool Enter() {
    if (depth_ == kMaxMsgpackDepth) return Fail("nesting deeper than 64 arrays/maps");
    ++depth_;
    return true;
  }
  std::string_view KeyOf(const Span& s) const {
    return std::string_view(out_->data() + s.key, s.value - s.key);
  }

  // Sorts the entries of the map that ends now (entries_[first..]) by their key bytes.
  bool SortEntries(size_t first) {
    const size_t count = entries_.size() - first;
    if (count < 2) return true;
    spans_.clear();
    spans_.reserve(count);
    for (size_t i = first; i < entries_.size(); ++i) {
      const size_t end = i + 1 < entries_.size() ? entries_[i + 1].key : out_->size();
      spans_.push_back(Span{entries_[i].key, entries_[i].value, end});
    }
    auto less = [this](const Span& a, const Span& b) { return KeyOf(a) < KeyOf(b); };
    auto not_less = [this](const Span& a, const Span& b) { return KeyOf(a) >= KeyOf(b); };
    if (std::adjacent_find(spans_.begin(), spans_.end(), not_less) == spans_.end()) {
      return true;  // already strictly ascending: nothing to move
    }
    std::sort(spans_.begin(), spans_.end(), less);
    auto same = [this](const Span& a, const Span& b) { return KeyOf(a) == KeyOf(b); };
    if (std::adjacent_find(spans_.begin(), spans_.end(), same) != spans_.end()) {
      return Fail("a duplicate map key");
    }
    const size_t region = entries_[first].key;
    scratch_.assign(out_->data() + region, out_->size() - region);
    size_t at = region;
    for (const Span& s : spans_) {
      std::memcpy(out_->data() + at, scratch_.data() + (s.key - region), s.end - s.key);
      at += s.end - s.key;
    }
    return true;
  }

  std::string* out_;
  StringSink sink_;
  msgpack::packer<StringSink> packer_;
  const char* error_ = nullptr;
  int depth_ = 0;
  std::vector<size_t> maps_;    // per open map: its first index in entries_
  std::vector<Entry> entries_;  // the entries of all open maps, innermost last
  std::vector<Span> spans_;     // scratch for SortEntries
  std::string scratch_;         // scratch for SortEntries
};

}  // namespace

Status AppendCanonicalMsgpack(std::string_view bytes, std::string* out) {
  if (bytes.empty()) return Status::Corruption("msgpack: empty input");
  const size_t start = out->size();
  Canonicalizer visitor(out);
  size_t offset = 0;
  bool parsed = false;
  try {
    parsed = msgpack::parse(bytes.data(), bytes.size(), offset, visitor);
  } catch (const std::exception& e) {  // msgpack-c throws on some malformed sizes
    out->resize(start);
    return Status::Corruption(std::string("msgpack: ") + e.what());
  }
  if (!parsed) {
    out->resize(start);
    return Status::Corruption(std::string("msgpack: ") +
                              (visitor.error() != nullptr ? visitor.error() : "malformed msgpack"));
  }
  if (offset != bytes.size()) {
    out->resize(start);
    return Status::Corruption("msgpack: trailing bytes after the value");
  }
  return Status::Ok();
}

namespace {

// The answer of IsCanonicalMsgpack for a string (the most common set element and map key),
// read from its header without a parse; nullopt for anything else. A str's canonical header is
// the smallest of fixstr, str8, str16, str32 that holds its length.
std::optional<bool> IsCanonicalStr(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t header = 0, length = 0, smallest = 0;
  if ((p[0] & 0xe0) == 0xa0) {  // fixstr
    header = 1, length = p[0] & 0x1f, smallest = 0;
  } else if (p[0] == 0xd9 && bytes.size() >= 2) {
    header = 2, length = p[1], smallest = 32;
  } else if (p[0] == 0xda && bytes.size() >= 3) {
    header = 3, length = (size_t{p[1]} << 8) | p[2], smallest = 256;
  } else {
    return std::nullopt;  // str32 and the other types: the full check
  }
  return bytes.size() - header == length && length >= smallest && IsValidUtf8(bytes.substr(header));
}

}  // namespace

bool IsCanonicalMsgpack(std::string_view bytes, std::string* scratch) {
  if (std::optional<bool> str = IsCanonicalStr(bytes)) return *str;
  scratch->clear();
  return AppendCanonicalMsgpack(bytes, scratch).ok() && *scratch == bytes;
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  while (p != end) {
    while (end - p >= 8) {  // ASCII fast path, 8 bytes at a time
      uint64_t word;
      std::memcpy(&word, p, sizeof word);
      if ((word & 0x8080808080808080ull) != 0) break;
      p += 8;
    }
    if (p == end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int more;  // continuation bytes
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      more = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte, an overlong 2-byte lead (c0, c1), or f5..ff
    }
    if (end - p <= more) return false;
    for (int i = 1; i <= more; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return false;
    if (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) return false;
    p += more + 1;
  }
  return true;
}

}  // namespace convergent::internal
