// The public state codec (convergent/codec.h): the Crdt envelope around every state, whose set
// field is the state's type. Encode fills the envelope and serialises it deterministically;
// PeekType reads only the envelope's top-level fields; Decode checks the type, parses, and hands
// the state message to its reader (state_codec.h).
#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cassert>
#include <climits>
#include <string>
#include <type_traits>

#include "codec/envelope_fields.h"
#include "codec/state_codec.h"
#include "convergent/codec.h"

namespace convergent {
namespace {

// The field numbers of the Crdt oneof are the CrdtType values.
static_assert(v1::Crdt::kGCounterFieldNumber == static_cast<int>(CrdtType::kGCounter));
static_assert(v1::Crdt::kPnCounterFieldNumber == static_cast<int>(CrdtType::kPNCounter));
static_assert(v1::Crdt::kLwwRegisterFieldNumber == static_cast<int>(CrdtType::kLWWRegister));
static_assert(v1::Crdt::kOrSetFieldNumber == static_cast<int>(CrdtType::kORSet));
static_assert(v1::Crdt::kFlagFieldNumber == static_cast<int>(CrdtType::kFlag));
static_assert(v1::Crdt::kMvRegisterFieldNumber == static_cast<int>(CrdtType::kMVRegister));
static_assert(v1::Crdt::kGSetFieldNumber == static_cast<int>(CrdtType::kGSet));
static_assert(v1::Crdt::kOrMapFieldNumber == static_cast<int>(CrdtType::kORMap));
static_assert(v1::Crdt::kLwwMapFieldNumber == static_cast<int>(CrdtType::kLWWMap));
static_assert(v1::Crdt::kPnCounterMapFieldNumber == static_cast<int>(CrdtType::kPNCounterMap));
static_assert(v1::Crdt::kOrMultiMapFieldNumber == static_cast<int>(CrdtType::kORMultiMap));
static_assert(v1::Crdt::kOrSetDotFieldNumber == internal::kORSetDotField);

// The protobuf messages of one Encode or Decode call live in an arena: one bump allocator
// instead of a malloc and a free per element string. Small states (deltas) fit in its first
// block, which is on the stack.
class MessageArena {
 public:
  MessageArena() : arena_(Options(first_block_, sizeof first_block_)) {}
  MessageArena(const MessageArena&) = delete;
  MessageArena& operator=(const MessageArena&) = delete;

  v1::Crdt* NewCrdt() { return google::protobuf::Arena::CreateMessage<v1::Crdt>(&arena_); }

 private:
  static google::protobuf::ArenaOptions Options(char* block, size_t size) {
    google::protobuf::ArenaOptions o;
    o.initial_block = block;
    o.initial_block_size = size;
    o.max_block_size = 1 << 20;  // large states: few, large blocks
    return o;
  }

  alignas(16) char first_block_[2048];
  google::protobuf::Arena arena_;
};

std::string Serialize(const v1::Crdt& msg) {
  const size_t size = msg.ByteSizeLong();
  assert(size <= INT_MAX && "a state beyond protobuf's 2 GiB limit");
  std::string out(size, '\0');
  google::protobuf::io::ArrayOutputStream array(out.data(), static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&array);
  coded.SetSerializationDeterministic(true);
  msg.SerializeWithCachedSizes(&coded);
  return out;
}

template <typename T>
std::string EncodeState(const T& v) {
  MessageArena arena;
  v1::Crdt* msg = arena.NewCrdt();
  internal::WriteState(v, msg);
  return Serialize(*msg);
}

}  // namespace

namespace internal {
Status CheckStateType(CrdtType want, CrdtType got) {
  if (got == want) return Status::Ok();
  return Status::TypeMismatch("expected " + CrdtTypeWithArticle(want) + " state, got " +
                              CrdtTypeWithArticle(got));
}
}  // namespace internal

std::string Encode(const GCounter& v) { return EncodeState(v); }
std::string Encode(const PNCounter& v) { return EncodeState(v); }
std::string Encode(const LWWRegister& v) { return EncodeState(v); }
std::string Encode(const ORSet& v) { return internal::EncodeORSet(v); }
std::string Encode(const Flag& v) { return EncodeState(v); }
std::string Encode(const MVRegister& v) { return EncodeState(v); }
std::string Encode(const GSet& v) { return EncodeState(v); }
std::string Encode(const ORMap& v) { return EncodeState(v); }
std::string Encode(const LWWMap& v) { return EncodeState(v); }
std::string Encode(const PNCounterMap& v) { return EncodeState(v); }
std::string Encode(const ORMultiMap& v) { return EncodeState(v); }

Result<CrdtType> PeekType(std::string_view bytes) {
  return internal::StateTypeOf(
      internal::ReadEnvelope(bytes, [](uint32_t, internal::wire::WireReader*) { return true; }));
}

// Parses the envelope into messages and hands the state message to its reader.
template <typename T>
Result<T> DecodeMessage(std::string_view bytes) {
  constexpr CrdtType kWant = CrdtTypeOf<T>::value;
  MessageArena arena;
  v1::Crdt* msg = arena.NewCrdt();
  if (!msg->ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      static_cast<int>(msg->state_case()) != static_cast<int>(kWant)) {
    return internal::Corruption(CrdtTypeName(kWant), "malformed protobuf");
  }
  return internal::ReadState(msg, std::type_identity<T>{});
}

template <typename T>
Result<T> Decode(std::string_view bytes) {
  if constexpr (std::is_same_v<T, ORSet>) {
    return internal::DecodeORSet(bytes);  // reads the envelope itself, in the same pass
  } else {
    Result<CrdtType> got = PeekType(bytes);
    if (!got.ok()) return got.status();
    if (Status s = internal::CheckStateType(CrdtTypeOf<T>::value, got.value()); !s.ok()) return s;
    return DecodeMessage<T>(bytes);
  }
}

template Result<GCounter> Decode<GCounter>(std::string_view bytes);
template Result<PNCounter> Decode<PNCounter>(std::string_view bytes);
template Result<LWWRegister> Decode<LWWRegister>(std::string_view bytes);
template Result<ORSet> Decode<ORSet>(std::string_view bytes);
template Result<Flag> Decode<Flag>(std::string_view bytes);
template Result<MVRegister> Decode<MVRegister>(std::string_view bytes);
template Result<GSet> Decode<GSet>(std::string_view bytes);
template Result<ORMap> Decode<ORMap>(std::string_view bytes);
template Result<LWWMap> Decode<LWWMap>(std::string_view bytes);
template Result<PNCounterMap> Decode<PNCounterMap>(std::string_view bytes);
template Result<ORMultiMap> Decode<ORMultiMap>(std::string_view bytes);

}  // namespace convergent
