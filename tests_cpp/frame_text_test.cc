// Text fields from peers (key names, errors, member names and URLs) are declared `bytes` on the
// wire and checked for UTF-8 by the decoders: invalid text makes a frame or heartbeat malformed,
// like any other malformation, and leaves nothing on stderr (protobuf's own check of `string`
// fields logged an error line per frame, which a peer could use to flood the log).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "convergent/v1/node.pb.h"
#include "convergent/v1/replication.pb.h"
#include "node/node_codec.h"
#include "replica/frame_codec.h"

namespace convergent::internal {
namespace {

const std::string kBad("\xff\xfe", 2);                         // never valid UTF-8
const std::string kGood = "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87";  // "ключ"

std::string Serialized(const google::protobuf::MessageLite& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

// Each way a frame carries text, with that text set to `text`.
std::vector<std::string> FramesWithText(const std::string& text) {
  std::vector<std::function<void(v1::Frame*)>> makers = {
      [&](v1::Frame* f) { f->mutable_delta_batch()->add_entries()->set_key(text); },
      [&](v1::Frame* f) {
        v1::KeyTombstone* t = f->mutable_delta_batch()->add_tombstones();
        t->set_key(text);
        t->set_type(1);
      },
      [&](v1::Frame* f) { f->mutable_write()->mutable_entry()->set_key(text); },
      [&](v1::Frame* f) { f->mutable_write_ack()->set_error(text); },
      [&](v1::Frame* f) {
        f->mutable_read()->set_key(text);
        f->mutable_read()->set_type(1);
      },
      [&](v1::Frame* f) { f->mutable_read_reply()->mutable_entry()->set_key(text); },
      [&](v1::Frame* f) { f->mutable_read_reply()->set_error(text); },
      [&](v1::Frame* f) { f->mutable_repair()->add_entries()->set_key(text); },
  };
  std::vector<std::string> out;
  for (const auto& make : makers) {
    v1::Frame f;
    f.set_from_node(7);
    make(&f);
    out.push_back(Serialized(f));
  }
  return out;
}

TEST(FrameTextTest, InvalidUtf8InAFrameIsMalformedAndLogsNothing) {
  const std::vector<std::string> bad = FramesWithText(kBad);
  for (size_t i = 0; i < bad.size(); ++i) {
    testing::internal::CaptureStderr();
    Result<FrameMsg> f = DecodeFrame(bad[i]);
    const std::string logged = testing::internal::GetCapturedStderr();
    ASSERT_FALSE(f.ok()) << "frame " << i;
    EXPECT_EQ(f.status().code(), StatusCode::kCorruption) << "frame " << i;
    EXPECT_NE(f.status().message().find("UTF-8"), std::string::npos) << f.status().message();
    EXPECT_EQ(logged, "") << "frame " << i;
  }
  const std::vector<std::string> good = FramesWithText(kGood);
  for (size_t i = 0; i < good.size(); ++i) {
    EXPECT_TRUE(DecodeFrame(good[i]).ok()) << "frame " << i;
  }
}

TEST(FrameTextTest, InvalidUtf8InAHeartbeatIsMalformedAndLogsNothing) {
  const std::vector<std::function<void(v1::MemberInfo*, const std::string&)>> fields = {
      [](v1::MemberInfo* m, const std::string& t) { m->set_name(t); },
      [](v1::MemberInfo* m, const std::string& t) { m->set_bus_url(t); },
      [](v1::MemberInfo* m, const std::string& t) { m->set_p2p_url(t); },
      [](v1::MemberInfo* m, const std::string& t) { m->set_role(t); },
      [](v1::MemberInfo* m, const std::string& t) { m->set_datacenter(t); },
  };
  for (size_t i = 0; i < fields.size(); ++i) {
    for (bool in_known : {false, true}) {
      v1::Heartbeat h;
      h.mutable_sender()->set_id(1);
      h.mutable_sender()->set_name("a");
      fields[i](in_known ? h.add_known() : h.mutable_sender(), kBad);
      testing::internal::CaptureStderr();
      Result<HeartbeatMsg> decoded = DecodeHeartbeat(Serialized(h));
      const std::string logged = testing::internal::GetCapturedStderr();
      EXPECT_FALSE(decoded.ok()) << "field " << i;
      EXPECT_EQ(logged, "") << "field " << i;
      fields[i](in_known ? h.mutable_known(0) : h.mutable_sender(), kGood);
      EXPECT_TRUE(DecodeHeartbeat(Serialized(h)).ok()) << "field " << i;
    }
  }
}

}  // namespace
}  // namespace convergent::internal
