// Value's representation: encodings of up to 23 bytes inline, longer ones on the heap. Whatever
// the representation, copies and moves keep the bytes, and equality, order and hashing depend on
// the bytes alone.
#include "convergent/value.h"

#include <absl/hash/hash.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace convergent {
namespace {

// Byte strings around the inline limit (23), and one far beyond it.
std::vector<std::string> Samples() {
  std::vector<std::string> out;
  for (size_t n : {0, 1, 22, 23, 24, 25, 1000}) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + (i * 7 + n) % 26));
    out.push_back(s);
  }
  out.push_back(std::string("\0\xff\0", 3));  // NULs and high bytes are bytes like any other
  return out;
}

TEST(ValueTest, DefaultIsNil) { EXPECT_EQ(Value().bytes(), "\xc0"); }

TEST(ValueTest, CopiesAndMovesKeepTheBytes) {
  for (const std::string& s : Samples()) {
    SCOPED_TRACE(s.size());
    const Value v = Value::FromCanonical(s);
    EXPECT_EQ(v.bytes(), s);
    Value copy = v;
    EXPECT_EQ(copy.bytes(), s);
    Value moved = std::move(copy);
    EXPECT_EQ(moved.bytes(), s);
    EXPECT_EQ(copy.bytes(), "\xc0");  // NOLINT(bugprone-use-after-move): moved-from is nil
    Value assigned = Value::FromCanonical(std::string(100, 'x'));  // heap, released on assign
    assigned = v;
    EXPECT_EQ(assigned.bytes(), s);
    Value move_assigned = Value::FromCanonical("\x01");
    move_assigned = std::move(assigned);
    EXPECT_EQ(move_assigned.bytes(), s);
    Value& self = move_assigned;
    move_assigned = self;  // self-assignment keeps the value
    EXPECT_EQ(move_assigned.bytes(), s);
  }
}

TEST(ValueTest, EqualityOrderAndHashFollowTheBytes) {
  const std::vector<std::string> samples = Samples();
  for (const std::string& a : samples) {
    for (const std::string& b : samples) {
      const Value va = Value::FromCanonical(a), vb = Value::FromCanonical(b);
      EXPECT_EQ(va == vb, a == b);
      EXPECT_EQ(va < vb, a < b);
      if (a == b) {
        EXPECT_EQ(absl::Hash<Value>()(va), absl::Hash<Value>()(vb));
        EXPECT_EQ(std::hash<Value>()(va), std::hash<Value>()(vb));
      }
    }
  }
  // A prefix orders first, also across the inline limit.
  EXPECT_LT(Value::FromCanonical(std::string(23, 'a')), Value::FromCanonical(std::string(24, 'a')));
}

}  // namespace
}  // namespace convergent
