# CONVERGENT_STATIC_DEPS (the wheels): link the C++ dependencies that can be from their static
# archives, so that convergent._core needs fewer libraries of the machine it runs on. LevelDB (with
# the Snappy it names) is switched here, mbedTLS in cmake/nng.cmake; protobuf and Abseil cannot
# be: Debian's libprotobuf.a and several libabsl_*.a use the local-exec TLS model
# (R_X86_64_TPOFF32), which a shared object cannot contain, so the wheel carries their shared
# objects instead (auditwheel repair vendors them, renamed, beside the module). Debian builds the
# archives used here position-independent. Where one is missing (building the sdist elsewhere)
# the library stays shared, with a warning, and auditwheel would vendor it.
#
# convergent_link_leveldb_statically(): call where leveldb::leveldb is visible.
function(convergent_link_leveldb_statically)
  get_target_property(configs leveldb::leveldb IMPORTED_CONFIGURATIONS)
  foreach(c IN LISTS configs ITEMS "")
    set(s "")
    if(c)
      string(TOUPPER "_${c}" s)
    endif()
    get_target_property(location leveldb::leveldb IMPORTED_LOCATION${s})
    if(NOT location)
      continue()
    endif()
    string(REGEX REPLACE "\\.so(\\.[0-9a-z.]*)?$" ".a" archive "${location}")
    if(NOT EXISTS "${archive}")
      message(WARNING "CONVERGENT_STATIC_DEPS: no ${archive}; LevelDB stays shared")
      return()
    endif()
    set_target_properties(leveldb::leveldb PROPERTIES IMPORTED_LOCATION${s} "${archive}")
    set_property(TARGET leveldb::leveldb PROPERTY IMPORTED_SONAME${s})
    set_property(TARGET leveldb::leveldb PROPERTY IMPORTED_NO_SONAME${s} TRUE)
  endforeach()
  # Its link interface names Snappy by a plain name (-lsnappy: the shared one).
  find_library(snappy_archive NAMES libsnappy.a NO_CACHE)
  if(snappy_archive)
    get_target_property(links leveldb::leveldb INTERFACE_LINK_LIBRARIES)
    list(TRANSFORM links REPLACE "^snappy$" "${snappy_archive}")
    set_property(TARGET leveldb::leveldb PROPERTY INTERFACE_LINK_LIBRARIES "${links}")
  else()
    message(WARNING "CONVERGENT_STATIC_DEPS: no libsnappy.a; Snappy stays shared")
  endif()
endfunction()
