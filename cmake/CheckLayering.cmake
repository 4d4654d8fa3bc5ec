# Fails when a file outside sim/engine includes a SimGrid header (design: only the engine talks to
# SimGrid; models are pure).
file(GLOB_RECURSE sources RELATIVE ${ROOT}
     ${ROOT}/sim/*.cpp ${ROOT}/sim/*.hpp ${ROOT}/models/*.cpp ${ROOT}/models/*.hpp
     ${ROOT}/hardware/*.cpp ${ROOT}/hardware/*.hpp)
set(bad "")
foreach(f ${sources})
  if(f MATCHES "^sim/engine/")
    continue()
  endif()
  file(STRINGS ${ROOT}/${f} hits REGEX "#include[ \t]*[<\"]simgrid/")
  if(hits)
    list(APPEND bad ${f})
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "SimGrid included outside sim/engine: ${bad}")
endif()
message(STATUS "layering ok: ${CMAKE_MATCH_COUNT} files checked")
