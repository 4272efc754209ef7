# CONVERGENT_STATIC_DEPS (the wheels): link the C++ dependencies that can be from their static
# archives, so that convergent._core needs fewer libraries of the machine it runs on. LevelDB,
# Snappy and mbedTLS (cmake/nng.cmake) are; protobuf and Abseil are not: Debian's libprotobuf.a
# and several libabsl_*.a use the local-exec TLS model (R_X86_64_TPOFF32), which a shared object
# cannot contain, so the wheel carries their shared objects instead (auditwheel repair vendors
# them, renamed, beside the module).
#
# convergent_link_statically(<target> <name>...): in <target>'s link, the imported libraries
# whose target is <name>::<name> and the plain library names <name> (LevelDB's link interface
# names "snappy") are taken from the archive beside their shared object. Call it where the
# imported targets are visible. Debian builds these archives position-independent.
function(convergent_link_statically target)
  set(names ${ARGN})
  set(queue ${target})
  set(seen "")
  while(queue)
    list(POP_FRONT queue t)
    if(t IN_LIST seen OR NOT TARGET ${t})
      continue()
    endif()
    list(APPEND seen ${t})
    get_target_property(imported ${t} IMPORTED)
    if(imported)
      string(REGEX REPLACE "::.*" "" base "${t}")
      if(base IN_LIST names)
        _convergent_archive_for(${t})
      endif()
      set(links_property INTERFACE_LINK_LIBRARIES)
    else()
      set(links_property LINK_LIBRARIES)
    endif()
    get_target_property(links ${t} ${links_property})
    if(NOT links)
      continue()
    endif()
    set(rewritten "")
    foreach(l IN LISTS links)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" name "${l}")
      if(TARGET ${name})
        list(APPEND queue ${name})
      elseif(name IN_LIST names)
        find_library(_archive NAMES lib${name}.a NO_CACHE)
        if(_archive)
          string(REPLACE "${name}" "${_archive}" l "${l}")
        else()
          message(WARNING "CONVERGENT_STATIC_DEPS: no lib${name}.a; ${name} stays shared")
        endif()
        unset(_archive)
      endif()
      list(APPEND rewritten "${l}")
    endforeach()
    if(imported)
      set_property(TARGET ${t} PROPERTY ${links_property} "${rewritten}")
    endif()
  endwhile()
endfunction()

# An imported library's shared object, in every configuration it was imported in, becomes the
# archive beside it; where there is none (a machine without the -dev archives, building the
# sdist) it stays shared, with a warning: auditwheel would then vendor it.
function(_convergent_archive_for t)
  get_target_property(configs ${t} IMPORTED_CONFIGURATIONS)
  set(suffixes "")
  foreach(c IN LISTS configs)
    string(TOUPPER "_${c}" s)
    list(APPEND suffixes ${s})
  endforeach()
  list(APPEND suffixes "")
  foreach(s IN LISTS suffixes)
    get_target_property(location ${t} IMPORTED_LOCATION${s})
    if(NOT location OR location MATCHES "\\.a$")
      continue()
    endif()
    string(REGEX REPLACE "\\.so(\\.[0-9a-z.]*)?$" ".a" archive "${location}")
    if(NOT EXISTS "${archive}")
      message(WARNING "CONVERGENT_STATIC_DEPS: no static archive beside ${location}; ${t} stays "
              "shared")
      continue()
    endif()
    set_target_properties(${t} PROPERTIES IMPORTED_LOCATION${s} "${archive}")
    set_property(TARGET ${t} PROPERTY IMPORTED_SONAME${s})
    set_property(TARGET ${t} PROPERTY IMPORTED_NO_SONAME${s} TRUE)
  endforeach()
endfunction()
