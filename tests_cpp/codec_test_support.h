// Test-only helpers for the codec tests: hex <-> bytes, so expected encodings can be written as
// they are derived by hand.
//
// Thread safety: pure functions.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

namespace convergent::test {

// "0a 0d 01" (spaces ignored) -> the bytes 0x0a 0x0d 0x01. Aborts the test on a bad digit.
inline std::string Unhex(std::string_view hex) {
  std::string out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ') continue;
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    EXPECT_GE(v, 0) << "bad hex digit '" << c << "' in " << hex;
    if (v < 0) return out;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<char>(high * 16 + v));
      high = -1;
    }
  }
  EXPECT_LT(high, 0) << "odd number of hex digits in " << hex;
  return out;
}

// The bytes as lowercase hex, no spaces.
inline std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace convergent::test
