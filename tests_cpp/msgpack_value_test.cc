// User values: ValueFromMsgpack validates untrusted msgpack and rewrites it into the canonical
// form (smallest integer/header forms, float64 only, map keys sorted, valid UTF-8, depth <= 64,
// exactly one object); the C++ value constructors produce that same form.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "codec/canonical_msgpack.h"
#include "codec_test_support.h"
#include "convergent/codec.h"

namespace convergent {
namespace {

using test::Hex;
using test::Unhex;

// The canonical form of the msgpack written in hex, as hex, or "error: <message>". A canonical
// form must be a fixed point: canonicalising it again must give it back unchanged.
std::string Canon(std::string_view hex) {
  Result<Value> v = ValueFromMsgpack(Unhex(hex));
  if (!v.ok()) {
    EXPECT_EQ(v.status().code(), StatusCode::kCorruption);
    return "error: " + v.status().message();
  }
  Result<Value> again = ValueFromMsgpack(v.value().bytes());
  EXPECT_TRUE(again.ok() && again.value() == v.value()) << "not a fixed point: " << hex;
  return Hex(v.value().bytes());
}

TEST(MsgpackValueTest, IntegersTakeTheirSmallestForm) {
  EXPECT_EQ(Canon("01"), "01");
  EXPECT_EQ(Canon("cc01"), "01");
  EXPECT_EQ(Canon("cd0001"), "01");
  EXPECT_EQ(Canon("ce00000001"), "01");
  EXPECT_EQ(Canon("cf0000000000000001"), "01");
  EXPECT_EQ(Canon("cc7f"), "7f");
  EXPECT_EQ(Canon("cc80"), "cc80");
  EXPECT_EQ(Canon("cd00ff"), "ccff");
  EXPECT_EQ(Canon("ce0000ffff"), "cdffff");
  EXPECT_EQ(Canon("cf00000000ffffffff"), "ceffffffff");
  EXPECT_EQ(Canon("cfffffffffffffffff"), "cfffffffffffffffff");
}

TEST(MsgpackValueTest, NonNegativeSignedIntegersBecomeUnsigned) {
  EXPECT_EQ(Canon("d001"), "01");
  EXPECT_EQ(Canon("d10080"), "cc80");
  EXPECT_EQ(Canon("d200010000"), "ce00010000");
  EXPECT_EQ(Canon("d37fffffffffffffff"), "cf7fffffffffffffff");
  EXPECT_EQ(Canon("d30000000000000000"), "00");
}

TEST(MsgpackValueTest, NegativeIntegersTakeTheirSmallestForm) {
  EXPECT_EQ(Canon("d0ff"), "ff");  // -1
  EXPECT_EQ(Canon("d1ffff"), "ff");
  EXPECT_EQ(Canon("d3ffffffffffffffff"), "ff");
  EXPECT_EQ(Canon("d0e0"), "e0");                                // -32: the last negative fixint
  EXPECT_EQ(Canon("d1ffdf"), "d0df");                            // -33
  EXPECT_EQ(Canon("d1ff80"), "d080");                            // -128
  EXPECT_EQ(Canon("d2ffffff7f"), "d1ff7f");                      // -129
  EXPECT_EQ(Canon("d3ffffffffffff7fff"), "d2ffff7fff");          // -32769
  EXPECT_EQ(Canon("d3ffffffff7fffffff"), "d3ffffffff7fffffff");  // -2^31 - 1
  EXPECT_EQ(Canon("d38000000000000000"), "d38000000000000000");  // INT64_MIN
}

TEST(MsgpackValueTest, FloatsAreFloat64AndStayFloats) {
  EXPECT_EQ(Canon("ca3f800000"), "cb3ff0000000000000");  // 1.0f
  EXPECT_EQ(Canon("ca80000000"), "cb8000000000000000");  // -0.0f keeps its sign
  EXPECT_EQ(Canon("ca3dcccccd"), "cb3fb99999a0000000");  // 0.1f widened exactly
  // 1.0 stays a float (1 and 1.0 are different values), 2^64 stays a float.
  EXPECT_EQ(Canon("cb3ff0000000000000"), "cb3ff0000000000000");
  EXPECT_EQ(Canon("cb43f0000000000000"), "cb43f0000000000000");
}

TEST(MsgpackValueTest, EveryNaNIsTheOneQuietNaN) {
  EXPECT_EQ(Canon("ca7fc00000"), "cb7ff8000000000000");
  EXPECT_EQ(Canon("caffc00001"), "cb7ff8000000000000");
  EXPECT_EQ(Canon("cbfff8000000000001"), "cb7ff8000000000000");
  EXPECT_EQ(Canon("cb7ff0000000000001"), "cb7ff8000000000000");  // signalling
  EXPECT_EQ(Canon("cb7ff0000000000000"), "cb7ff0000000000000");  // +inf is not a NaN
}

TEST(MsgpackValueTest, StrBinExtHeadersTakeTheirSmallestForm) {
  EXPECT_EQ(Canon("d90161"), "a161");
  EXPECT_EQ(Canon("da000161"), "a161");
  EXPECT_EQ(Canon("db0000000161"), "a161");
  EXPECT_EQ(Canon("d900"), "a0");
  const std::string s32(32, 'x');
  EXPECT_EQ(Canon("da0020" + Hex(s32)), "d920" + Hex(s32));
  EXPECT_EQ(Canon("c50001ff"), "c401ff");
  EXPECT_EQ(Canon("c600000000"), "c400");
  EXPECT_EQ(Canon("c70105aa"), "d405aa");        // ext8 of 1 byte -> fixext1
  EXPECT_EQ(Canon("c8000205aabb"), "d505aabb");  // ext16 of 2 bytes -> fixext2
  EXPECT_EQ(Canon("c9000000100501020304050607080910111213141516"),
            "d80501020304050607080910111213141516");  // ext32 of 16 bytes -> fixext16
  EXPECT_EQ(Canon("c70305aabbcc"), "c70305aabbcc");   // 3 bytes: no fixext
  EXPECT_EQ(Canon("c70005"), "c70005");
  EXPECT_EQ(Canon("d4ff01"), "d4ff01");  // negative ext types are kept
}

TEST(MsgpackValueTest, ArrayAndMapHeadersTakeTheirSmallestForm) {
  EXPECT_EQ(Canon("dc000101"), "9101");
  EXPECT_EQ(Canon("dd0000000101"), "9101");
  EXPECT_EQ(Canon("dc0000"), "90");
  EXPECT_EQ(Canon("de0000"), "80");
  EXPECT_EQ(Canon("df000000010102"), "810102");
}

TEST(MsgpackValueTest, MapsAreSortedByCanonicalKeyBytes) {
  EXPECT_EQ(Canon("82 a162 01 a161 02"), "82a16102a16201");  // {"b":1,"a":2} -> {"a":2,"b":1}
  // Keys compare by their canonical bytes: 1 (01) < 2 (written cd0002, canonical 02) < "a".
  EXPECT_EQ(Canon("83 a161 00 cd0002 00 01 00"), "8301000200a16100");
  // Nested maps are sorted too, whether values or keys; an array keeps its order.
  EXPECT_EQ(Canon("82 a17a 82a16201a16102 a179 00"), "82a17900a17a82a16102a16201");
  EXPECT_EQ(Canon("92 82a16201a16102 01"), "9282a16102a1620101");
  EXPECT_EQ(Canon("81 82a16201a16102 c0"), "8182a16102a16201c0");
  // Byte order, not string order: "b" (a1 62) sorts before "aa" (a2 61 61), whose header is
  // greater.
  EXPECT_EQ(Canon("82 a26161 00 a162 00"), "82a16200a2616100");
}

TEST(MsgpackValueTest, DuplicateMapKeysAreRejected) {
  EXPECT_EQ(Canon("82 a161 01 a161 02"), "error: msgpack: a duplicate map key");
  // Keys equal once canonical: 1 written as uint8 and as fixint; two maps in different orders.
  EXPECT_EQ(Canon("82 01 00 cc01 00"), "error: msgpack: a duplicate map key");
  EXPECT_EQ(Canon("82 82a16101a16202 00 82a16202a16101 01"), "error: msgpack: a duplicate map key");
  // A duplicate inside a nested map.
  EXPECT_EQ(Canon("91 82 00 00 00 00"), "error: msgpack: a duplicate map key");
}

TEST(MsgpackValueTest, StrMustBeValidUtf8) {
  EXPECT_EQ(Canon("a2c3a9"), "a2c3a9");          // U+00E9
  EXPECT_EQ(Canon("a3e282ac"), "a3e282ac");      // U+20AC
  EXPECT_EQ(Canon("a4f09f9880"), "a4f09f9880");  // U+1F600
  EXPECT_EQ(Canon("a4f48fbfbf"), "a4f48fbfbf");  // U+10FFFF, the last code point
  EXPECT_EQ(Canon("a3efbfbf"), "a3efbfbf");      // U+FFFF
  const std::string bad = "error: msgpack: a str that is not valid UTF-8";
  EXPECT_EQ(Canon("a1ff"), bad);
  EXPECT_EQ(Canon("a180"), bad);        // a lone continuation byte
  EXPECT_EQ(Canon("a2c080"), bad);      // overlong NUL
  EXPECT_EQ(Canon("a2c1bf"), bad);      // overlong 2-byte
  EXPECT_EQ(Canon("a3e08080"), bad);    // overlong 3-byte
  EXPECT_EQ(Canon("a4f0808080"), bad);  // overlong 4-byte
  EXPECT_EQ(Canon("a3eda080"), bad);    // a surrogate (U+D800)
  EXPECT_EQ(Canon("a3edbfbf"), bad);    // a surrogate (U+DFFF)
  EXPECT_EQ(Canon("a4f4908080"), bad);  // beyond U+10FFFF
  EXPECT_EQ(Canon("a1c3"), bad);        // truncated sequences
  EXPECT_EQ(Canon("a2e282"), bad);
  EXPECT_EQ(Canon("a3f09f98"), bad);
  EXPECT_EQ(Canon("a2c361"), bad);  // a non-continuation after a lead byte
  // Past the 8-byte ASCII fast path, and at its edges.
  for (size_t at = 0; at < 20; ++at) {
    std::string s(20, 'a');
    s[at] = '\xff';
    EXPECT_EQ(Canon("b4" + Hex(s)), bad) << "bad byte at " << at;
    s[at] = 'b';
    EXPECT_EQ(Canon("b4" + Hex(s)), "b4" + Hex(s));
  }
  // bin is not checked.
  EXPECT_EQ(Canon("c401ff"), "c401ff");
}

TEST(MsgpackValueTest, NestingDepthIsAtMost64) {
  auto nested = [](const std::string& open, int depth, const std::string& innermost) {
    std::string hex;
    for (int i = 0; i < depth - 1; ++i) hex += open;
    return hex + innermost;
  };
  const std::string arrays64 = nested("91", 64, "90");
  EXPECT_EQ(Canon(arrays64), arrays64);
  EXPECT_EQ(Canon(nested("91", 65, "90")), "error: msgpack: nesting deeper than 64 arrays/maps");
  // Scalars add no depth: 64 arrays around an integer are fine.
  EXPECT_EQ(Canon(nested("91", 64, "9101")), nested("91", 64, "9101"));
  const std::string maps64 = nested("8100", 64, "80");  // {0: {0: ... {}}}
  EXPECT_EQ(Canon(maps64), maps64);
  EXPECT_EQ(Canon(nested("8100", 65, "80")), "error: msgpack: nesting deeper than 64 arrays/maps");
  // Depth counts the path, not the total: many siblings at depth 64 are fine.
  EXPECT_EQ(Canon(nested("91", 63, "93909090")), nested("91", 63, "93909090"));
  // Depth is counted per path: [<63 nested arrays>, []] is 64 deep on the left and 2 on the
  // right; one more level on the left is rejected.
  EXPECT_EQ(Canon("92" + nested("91", 63, "90") + "90"), "92" + nested("91", 63, "90") + "90");
  EXPECT_EQ(Canon("92" + nested("91", 64, "90") + "90"),
            "error: msgpack: nesting deeper than 64 arrays/maps");
}

TEST(MsgpackValueTest, ExactlyOneCompleteObject) {
  EXPECT_EQ(Canon(""), "error: msgpack: empty input");
  EXPECT_EQ(Canon("0102"), "error: msgpack: trailing bytes after the value");
  EXPECT_EQ(Canon("90 90"), "error: msgpack: trailing bytes after the value");
  EXPECT_EQ(Canon("9201"), "error: msgpack: truncated msgpack");
  EXPECT_EQ(Canon("a561"), "error: msgpack: truncated msgpack");
  EXPECT_EQ(Canon("cd01"), "error: msgpack: truncated msgpack");
  EXPECT_EQ(Canon("8101"), "error: msgpack: truncated msgpack");
  EXPECT_EQ(Canon("c1"), "error: msgpack: malformed msgpack");  // the never-used byte
  EXPECT_EQ(Canon("91c1"), "error: msgpack: malformed msgpack");
}

TEST(MsgpackValueTest, HugeDeclaredSizesAreNotTrusted) {
  // Counts of 2^32 - 1 with nothing behind them: rejected as truncated, nothing allocated for
  // them (the sanitizer build would report a 64 GiB allocation).
  EXPECT_EQ(Canon("ddffffffff"), "error: msgpack: truncated msgpack");
  EXPECT_EQ(Canon("dfffffffff"), "error: msgpack: truncated msgpack");
  EXPECT_EQ(Canon("dbffffffff61"), "error: msgpack: truncated msgpack");
  EXPECT_EQ(Canon("c6ffffffff61"), "error: msgpack: truncated msgpack");
  EXPECT_EQ(Canon("c9ffffffff0561"), "error: msgpack: truncated msgpack");
  std::string deep;
  for (int i = 0; i < 64; ++i) deep += "ddffffffff";
  EXPECT_EQ(Canon(deep), "error: msgpack: truncated msgpack");
}

TEST(MsgpackValueTest, NilBoolAndEmptyContainers) {
  EXPECT_EQ(Canon("c0"), "c0");
  EXPECT_EQ(Canon("c2"), "c2");
  EXPECT_EQ(Canon("c3"), "c3");
  EXPECT_EQ(Canon("90"), "90");
  EXPECT_EQ(Canon("80"), "80");
  EXPECT_EQ(Canon("a0"), "a0");
  EXPECT_EQ(Canon("c400"), "c400");
}

TEST(MsgpackValueTest, ConstructorsWriteTheCanonicalForm) {
  EXPECT_EQ(Hex(NilValue().bytes()), "c0");
  EXPECT_EQ(Hex(BoolValue(false).bytes()), "c2");
  EXPECT_EQ(Hex(BoolValue(true).bytes()), "c3");
  EXPECT_EQ(Hex(IntValue(0).bytes()), "00");
  EXPECT_EQ(Hex(IntValue(127).bytes()), "7f");
  EXPECT_EQ(Hex(IntValue(128).bytes()), "cc80");
  EXPECT_EQ(Hex(IntValue(255).bytes()), "ccff");
  EXPECT_EQ(Hex(IntValue(256).bytes()), "cd0100");
  EXPECT_EQ(Hex(IntValue(65536).bytes()), "ce00010000");
  EXPECT_EQ(Hex(IntValue(int64_t{1} << 32).bytes()), "cf0000000100000000");
  EXPECT_EQ(Hex(IntValue(std::numeric_limits<int64_t>::max()).bytes()), "cf7fffffffffffffff");
  EXPECT_EQ(Hex(IntValue(-1).bytes()), "ff");
  EXPECT_EQ(Hex(IntValue(-32).bytes()), "e0");
  EXPECT_EQ(Hex(IntValue(-33).bytes()), "d0df");
  EXPECT_EQ(Hex(IntValue(-128).bytes()), "d080");
  EXPECT_EQ(Hex(IntValue(-129).bytes()), "d1ff7f");
  EXPECT_EQ(Hex(IntValue(std::numeric_limits<int64_t>::min()).bytes()), "d38000000000000000");
  EXPECT_EQ(Hex(StringValue("").bytes()), "a0");
  EXPECT_EQ(Hex(StringValue("abc").bytes()), "a3616263");
  EXPECT_EQ(Hex(StringValue(std::string(31, 'x')).bytes()), "bf" + Hex(std::string(31, 'x')));
  EXPECT_EQ(Hex(StringValue(std::string(32, 'x')).bytes()), "d920" + Hex(std::string(32, 'x')));
  EXPECT_EQ(Hex(StringValue(std::string(256, 'x')).bytes()), "da0100" + Hex(std::string(256, 'x')));
  EXPECT_EQ(Hex(BytesValue("").bytes()), "c400");
  EXPECT_EQ(Hex(BytesValue("\x01\xff").bytes()), "c40201ff");
  EXPECT_EQ(Hex(BytesValue(std::string(256, '\0')).bytes()),
            "c50100" + Hex(std::string(256, '\0')));
  EXPECT_EQ(Hex(BytesValue(std::string(65536, '\0')).bytes()).substr(0, 10), "c600010000");
}

TEST(MsgpackValueTest, ConstructedValuesAreFixedPoints) {
  for (const Value& v : {NilValue(), BoolValue(true), IntValue(-129), IntValue(1 << 20),
                         StringValue("h\xc3\xa9llo"), BytesValue("\x00\x01")}) {
    Result<Value> again = ValueFromMsgpack(v.bytes());
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again.value(), v);
  }
}

}  // namespace
}  // namespace convergent

// IsCanonicalMsgpack answers for strings from their header alone (a fast path for the commonest
// set element): it must agree with the full check (canonicalise and compare) on every header
// form, canonical or not, every length boundary, truncation and invalid UTF-8.
TEST(MsgpackValueTest, TheStringFastPathAgreesWithTheFullCheck) {
  const auto full = [](const std::string& b) {
    std::string out;
    return convergent::internal::AppendCanonicalMsgpack(b, &out).ok() && out == b;
  };
  const auto header = [](int form, size_t n) {
    switch (form) {
      case 0:
        return std::string(1, static_cast<char>(0xa0 | (n & 0x1f)));
      case 1:
        return std::string{'\xd9', static_cast<char>(n)};
      case 2:
        return std::string{'\xda', static_cast<char>(n >> 8), static_cast<char>(n)};
      default:
        return std::string{'\xdb', '\0', '\0', static_cast<char>(n >> 8), static_cast<char>(n)};
    }
  };
  std::string scratch;
  int checked = 0;
  for (int form = 0; form < 4; ++form) {
    for (size_t n : {0, 1, 5, 30, 31, 32, 33, 200, 255, 256, 257, 1000}) {
      if (form == 0 && n > 31) continue;
      if (form == 1 && n > 255) continue;
      for (const std::string& body : {std::string(n, 'x'), std::string(n, '\xff')}) {
        for (int cut : {0, 1, -1}) {  // exact, one byte short, one byte extra
          std::string b = header(form, n) + body;
          if (cut == 1 && !b.empty()) b.pop_back();
          if (cut == -1) b.push_back('y');
          EXPECT_EQ(convergent::internal::IsCanonicalMsgpack(b, &scratch), full(b))
              << "form " << form << " length " << n << " cut " << cut;
          ++checked;
        }
      }
    }
  }
  for (const std::string& b : {std::string("\xd9"), std::string("\xda\x01")}) {  // no length
    EXPECT_EQ(convergent::internal::IsCanonicalMsgpack(b, &scratch), full(b));
  }
  EXPECT_GT(checked, 100);
}
