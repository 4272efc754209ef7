#include "convergent/status.h"

namespace convergent {

std::string Status::ToString() const {
  switch (code_) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "invalid argument: " + message_;
    case StatusCode::kCorruption:
      return "corruption: " + message_;
    case StatusCode::kTypeMismatch:
      return "type mismatch: " + message_;
    case StatusCode::kKeyDeleted:
      return "key deleted: " + message_;
    case StatusCode::kTimeout:
      return "timeout: " + message_;
    case StatusCode::kUnavailable:
      return "unavailable: " + message_;
  }
  return message_;
}

}  // namespace convergent
