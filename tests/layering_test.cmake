# ctest layering/*: cmake/layering.cmake accepts the source tree and refuses upward includes.
#   cmake -DTOY_SRC=<source root> -DTOY_WORK=<scratch dir> -P tests/layering_test.cmake
set(check "${TOY_SRC}/cmake/layering.cmake")
function(run_check root out_rc out_text)
  execute_process(COMMAND ${CMAKE_COMMAND} -DTOY_ROOT=${root} -P ${check} RESULT_VARIABLE rc OUTPUT_VARIABLE o
                  ERROR_VARIABLE e)
  set(${out_rc} ${rc} PARENT_SCOPE)
  set(${out_text} "${o}${e}" PARENT_SCOPE)
endfunction()

# 1. The real tree follows the layering.
run_check("${TOY_SRC}" rc text)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the source tree breaks the layering:\n${text}")
endif()

# 2. A tree whose only fault is one upward include per kind is refused, each named with its rule.
file(REMOVE_RECURSE "${TOY_WORK}")
file(WRITE "${TOY_WORK}/core/ok.h" "#include \"core/tensor.h\"\n#include <vector>\n#include \"nlohmann/json.hpp\"\n")
file(WRITE "${TOY_WORK}/apps/lib/visual/ok.cpp" "#include \"apps/lib/training/train.h\"\n")
file(WRITE "${TOY_WORK}/apps/cmd_ok.cpp" "#include \"apps/lib/tools/attend.h\"\n")
run_check("${TOY_WORK}" rc text)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "a tree of downward includes was refused:\n${text}")
endif()

file(WRITE "${TOY_WORK}/core/model_leak.cu" "  #  include \"layers/toy_model.h\"\n")
file(WRITE "${TOY_WORK}/apps/lib/training/up.h" "#include \"apps/lib/visual/svg.h\"\n")
file(WRITE "${TOY_WORK}/apps/lib/formats/cmd.cpp" "#include \"apps/commands.h\"\n")
run_check("${TOY_WORK}" rc text)
if(rc EQUAL 0)
  message(FATAL_ERROR "upward includes were accepted")
endif()
foreach(needle "core/model_leak.cu: #include \"layers/toy_model.h\" — core/ may include only: core"
               "apps/lib/training/up.h: #include \"apps/lib/visual/svg.h\""
               "apps/lib/formats/cmd.cpp: #include \"apps/commands.h\"")
  string(FIND "${text}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the refusal does not name '${needle}':\n${text}")
  endif()
endforeach()
message(STATUS "layering: the tree passes, 3 upward includes refused with their rules")
