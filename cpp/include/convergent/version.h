// The library's version string. Thread-safe; returns a pointer to static storage.
#ifndef CONVERGENT_VERSION_H_
#define CONVERGENT_VERSION_H_

namespace convergent {

// "MAJOR.MINOR.PATCH" of this build, e.g. "0.1.0".
const char* Version();

}  // namespace convergent

#endif  // CONVERGENT_VERSION_H_
