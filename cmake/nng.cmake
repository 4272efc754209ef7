# NNG, the transport's library: built here, static and position-independent (the Python module
# links it), from the source scripts/_common.sh prepares in .deps/nng: Debian's NNG 1.5.2 with
# Debian's patches and ours (cmake/nng/*.patch; the system's libnng 1.5.2 wedges for good when a
# connection closes mid-frame, and uses a push connection it freed when one resets as it sends).
# Another source tree may be given with -DCONVERGENT_NNG_SOURCE_DIR; without one, an installed
# NNG 1.6 or newer is used (upstream fixed the wedge in 1.6.0; the chaos runs have not been run
# on it).
#
# Included before the sanitizer flags are set: NNG is not instrumented (its defects are not ours
# to report), as it was when it came from Debian's package.
set(CONVERGENT_NNG_SOURCE_DIR "${PROJECT_SOURCE_DIR}/.deps/nng" CACHE PATH
    "NNG source tree to build (scripts/_common.sh prepares it)")

if(EXISTS "${CONVERGENT_NNG_SOURCE_DIR}/CMakeLists.txt")
  set(NNG_TESTS OFF CACHE BOOL "" FORCE)
  set(NNG_TOOLS OFF CACHE BOOL "" FORCE)
  set(NNG_ENABLE_NNGCAT OFF CACHE BOOL "" FORCE)
  set(NNG_ENABLE_TLS ON CACHE BOOL "" FORCE)
  function(_convergent_add_nng)  # a scope of its own for NNG's build settings
    set(BUILD_SHARED_LIBS OFF)
    set(CMAKE_POSITION_INDEPENDENT_CODE ON)
    set(CMAKE_C_VISIBILITY_PRESET hidden)
    if(CONVERGENT_STATIC_DEPS)
      # getrandom (glibc 2.25) rather than arc4random (2.36): the wheels' manylinux tag is then
      # set by glibc 2.34 (libpthread merged into libc), not by NNG.
      set(NNG_HAVE_ARC4RANDOM "" CACHE INTERNAL "" FORCE)
      # NNG's FindmbedTLS takes these as found.
      foreach(part TLS X509 CRYPTO)
        string(TOLOWER "${part}" lib)
        find_library(_archive NAMES libmbed${lib}.a NO_CACHE)
        if(_archive)  # else NNG finds the shared one (and auditwheel vendors it)
          set(MBEDTLS_${part}_LIBRARY "${_archive}" CACHE FILEPATH "" FORCE)
        endif()
        unset(_archive)
      endforeach()
    endif()
    add_subdirectory("${CONVERGENT_NNG_SOURCE_DIR}" "${PROJECT_BINARY_DIR}/nng" SYSTEM)
  endfunction()
  _convergent_add_nng()
  add_library(nng::nng ALIAS nng)
else()
  find_package(nng 1.6 CONFIG)
  if(NOT nng_FOUND)
    message(FATAL_ERROR "No NNG to build with: ${CONVERGENT_NNG_SOURCE_DIR} holds no source "
      "(./scripts/nng-source prepares it; or pass -DCONVERGENT_NNG_SOURCE_DIR=<dir>), "
      "and no NNG 1.6 or newer is installed (1.5 wedges when a connection closes mid-frame).")
  endif()
endif()
