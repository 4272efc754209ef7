// libFuzzer target for the replication frame path: DecodeFrame on untrusted bytes, then every
// handler of the replicator (delta batches, coordinated writes and reads and their answers,
// digest steps and key digests with indexes out of range, repairs) on what decodes, re-sent as
// coming from a peer. Nothing crashes or trips a sanitizer; malformed frames are dropped and
// counted; the replicator keeps working (a local update and a tick after every input). Seeds
// (corpus/replicator_frame): frames of every kind recorded from a two-node exchange.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "convergent/crdt/gcounter.h"
#include "convergent/replicator.h"
#include "replica/frame_codec.h"

namespace {

using convergent::AnyCrdt;
using convergent::Consistency;
using convergent::CrdtType;
using convergent::GCounter;
using convergent::ReplicaId;
using convergent::Replicator;
using convergent::ReplicatorOptions;
using convergent::Result;

Replicator* MakeReplicator() {
  ReplicatorOptions o;
  o.max_frame_size = 4096;
  o.digest_tree_depth = 2;
  auto* r = new Replicator(0, ReplicaId{42}, o, 1);  // lives for the whole run
  r->SetPeers({1, 2});
  r->Tick(0);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static Replicator* r = MakeReplicator();
  static int64_t now = 0;
  now += 1000;
  const uint64_t malformed_before = r->metrics().frames_malformed;
  // As it came (mostly from a node that is no peer), and as decoded and re-sent by peer 1.
  r->Receive(bytes, now);
  auto frame = convergent::internal::DecodeFrame(bytes);
  if (frame.ok()) {
    frame->from = 1;
    r->Receive(convergent::internal::EncodeFrame(*frame), now);
  } else if (r->metrics().frames_malformed < malformed_before) {
    std::abort();  // counters only grow
  }
  // Still serving: a local update applies and a tick runs.
  auto id = r->Update(
      "fuzz-local", CrdtType::kGCounter,
      [](AnyCrdt& v) -> Result<AnyCrdt> {
        return AnyCrdt(v.get_if<GCounter>()->Increment(ReplicaId{42}, 1));
      },
      Consistency::kLocal, now);
  if (!id.ok() && id.status().code() != convergent::StatusCode::kKeyDeleted &&
      id.status().code() != convergent::StatusCode::kTypeMismatch) {
    std::abort();
  }
  r->Tick(now);
  r->TakeOutgoing();
  r->TakeEvents();
  r->TakeCompletions();
  return 0;
}
