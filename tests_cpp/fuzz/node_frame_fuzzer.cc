// libFuzzer target for the node's frame decoders of untrusted bytes: DecodeBusHeader (the
// numbered bus header), DecodeHeartbeat (membership, loss reports, the datacenters a gateway
// tells) and DecodeDatacenterHello (between datacenters). Nothing crashes; what decodes encodes
// back to bytes that decode to the same message; a LossDetector fed the decoded headers keeps its
// counts consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "node/loss_detector.h"
#include "node/node_codec.h"

namespace {

bool SameRecord(const convergent::internal::MemberRecord& a,
                const convergent::internal::MemberRecord& b) {
  return a.id == b.id && a.name == b.name && a.incarnation == b.incarnation &&
         a.bus_url == b.bus_url && a.p2p_url == b.p2p_url && a.role == b.role &&
         a.leaving == b.leaving && a.datacenter == b.datacenter;
}

void CheckHello(std::string_view body) {
  using convergent::internal::DecodeDatacenterHello;
  auto h = DecodeDatacenterHello(body);
  if (!h.ok()) return;
  if (h->sender.datacenter.empty()) std::abort();  // refused by the decoder
  const std::string again = convergent::internal::EncodeDatacenterHelloFrame(*h);
  auto back = DecodeDatacenterHello(std::string_view(again).substr(1));
  if (!back.ok() || !SameRecord(back->sender, h->sender) ||
      back->members.size() != h->members.size() || back->gateway != h->gateway ||
      back->reply != h->reply) {
    std::abort();
  }
  for (size_t i = 0; i < h->members.size(); ++i) {
    if (!SameRecord(back->members[i], h->members[i])) std::abort();
  }
}

void CheckHeartbeat(std::string_view body) {
  using convergent::internal::DecodeHeartbeat;
  auto h = DecodeHeartbeat(body);
  if (!h.ok()) return;
  const std::string again = convergent::internal::EncodeHeartbeatFrame(*h);
  auto back = DecodeHeartbeat(std::string_view(again).substr(1));
  if (!back.ok() || !SameRecord(back->sender, h->sender) || back->known.size() != h->known.size() ||
      back->losses.size() != h->losses.size() ||
      back->datacenters.size() != h->datacenters.size() || back->dc_acked != h->dc_acked) {
    std::abort();
  }
  for (size_t i = 0; i < h->datacenters.size(); ++i) {
    if (back->datacenters[i].name != h->datacenters[i].name ||
        back->datacenters[i].gateway != h->datacenters[i].gateway ||
        back->datacenters[i].members.size() != h->datacenters[i].members.size()) {
      std::abort();
    }
  }
  for (size_t i = 0; i < h->known.size(); ++i) {
    if (!SameRecord(back->known[i], h->known[i])) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convergent::internal;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckHeartbeat(bytes);
  CheckHello(bytes);
  // The input as a run of bus frames (each a header and the rest), fed to a loss detector.
  LossDetector detector;
  std::string_view rest;
  for (size_t at = 0; at + kBusHeaderSize <= size; at += kBusHeaderSize) {
    std::string frame(1, kBusTag);
    frame.append(bytes.substr(at + 1, kBusHeaderSize - 1));
    auto h = DecodeBusHeader(frame, &rest);
    if (!h.ok() || !rest.empty()) std::abort();  // a well-formed header always decodes
    uint64_t lost = 0;
    detector.OnFrame(h->sender % 8, h->incarnation % 4, h->seq % 256, &lost);
    uint64_t reported = 0;
    for (const LossReport& r : detector.Reports()) reported += r.frames_lost;
    if (reported > detector.total_lost()) std::abort();
  }
  auto h = DecodeBusHeader(bytes, &rest);
  if (h.ok() && !rest.empty() && rest[0] == kHeartbeatTag) CheckHeartbeat(rest.substr(1));
  return 0;
}
