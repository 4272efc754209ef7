// Status and Result<T>: the error currency at the boundaries of the library (decoding untrusted
// bytes, typed keys, configuration). Abort is reserved for programmer errors.
//
// Thread safety: plain values; distinct objects may be used from any thread.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace convergent {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // a caller passed something unusable
  kCorruption,       // bytes from outside do not decode to a valid state
  kTypeMismatch,     // a key or payload of another CRDT type than expected
  kKeyDeleted,       // an update of a key whose tombstone still lives
  kTimeout,          // a coordinated write or read did not reach its level in time
  kUnavailable,      // a resource outside the library failed (a full disk, an I/O error): a
                     // later attempt may succeed
};

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(StatusCode::kInvalidArgument, std::move(msg));
  }
  static Status Corruption(std::string msg) {
    return Status(StatusCode::kCorruption, std::move(msg));
  }
  static Status TypeMismatch(std::string msg) {
    return Status(StatusCode::kTypeMismatch, std::move(msg));
  }
  static Status KeyDeleted(std::string msg) {
    return Status(StatusCode::kKeyDeleted, std::move(msg));
  }
  static Status Timeout(std::string msg) { return Status(StatusCode::kTimeout, std::move(msg)); }
  static Status Unavailable(std::string msg) {
    return Status(StatusCode::kUnavailable, std::move(msg));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T&& value) : v_(std::move(value)) {}  // NOLINT(runtime/explicit)
  Result(const T& value) : v_(value) {}        // NOLINT(runtime/explicit)
  // A T built in place from args.
  template <typename... Args>
  explicit Result(std::in_place_t, Args&&... args)
      : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}
  Result(Status status) : v_(std::move(status)) {  // NOLINT(runtime/explicit)
    assert(!std::get<Status>(v_).ok() && "Result from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace convergent
