#include "convergent/version.h"

namespace convergent {

const char* Version() { return "0.1.0"; }

}  // namespace convergent
