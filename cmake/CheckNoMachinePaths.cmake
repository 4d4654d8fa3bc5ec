# Fails when a source, scenario, script or doc names an absolute path of a particular machine
# (/work/..., /home/..., /root/...): name the shared folder relative to the repository
# (`../shared/...`) instead. Measured data under validate/data/ may record where it was taken.
file(GLOB_RECURSE files RELATIVE ${ROOT}
     ${ROOT}/sim/* ${ROOT}/models/* ${ROOT}/hardware/* ${ROOT}/scenarios/* ${ROOT}/docs/*
     ${ROOT}/tests/* ${ROOT}/validate/kernels/* ${ROOT}/validate/layer/* ${ROOT}/validate/scripts/*
     ${ROOT}/scripts/* ${ROOT}/README.md)
set(bad "")
foreach(f ${files})
  if(f MATCHES "^tests/corpus/")
    continue()
  endif()
  file(STRINGS ${ROOT}/${f} hits REGEX "(^|[^A-Za-z0-9_.])/(work|home|root)/")
  if(hits)
    list(APPEND bad "${f}: ${hits}")
  endif()
endforeach()
if(bad)
  string(REPLACE ";" "\n  " bad "${bad}")
  message(FATAL_ERROR "absolute machine paths in tracked files:\n  ${bad}")
endif()
