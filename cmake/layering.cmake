# The include layering of the source tree, checked when CMake configures (and by the test layering/*): a file
# under one of the folders below may include project headers only from the folders its rule lists. An upward
# include (core/ including layers/, the training library including the report writer, ...) stops the configure
# step with the file, the line and the rule, so the build refuses it before anything compiles.
#
#   engine:  core <- autograd <- optim, layers;  cuda implements core's Backend; layers may launch on cuda's stream
#   apps/lib (the command's libraries, one CMake target each, along the data flow):
#            formats <- training <- sweep <- visual <- tools
# apps/*.cpp (the commands), tests/, python/ and examples/ sit on top and may include anything.
#
# Use: include(cmake/layering.cmake) then toy_check_layering(<source root>), or as a script:
#   cmake -DTOY_ROOT=<dir> -P cmake/layering.cmake
set(TOY_ENGINE_DIRS "core cuda autograd optim layers")  # a string: the rules below are "dir: allowed ..."
set(TOY_LAYER_RULES
  "core: core"
  "cuda: core cuda"
  "autograd: core autograd"
  "optim: core autograd optim"
  "layers: core autograd optim cuda layers"
  "apps/lib/formats: core apps/lib/formats"
  "apps/lib/training: ${TOY_ENGINE_DIRS} apps/lib/formats apps/lib/training"
  "apps/lib/sweep: ${TOY_ENGINE_DIRS} apps/lib/formats apps/lib/training apps/lib/sweep"
  "apps/lib/visual: ${TOY_ENGINE_DIRS} apps/lib/formats apps/lib/training apps/lib/sweep apps/lib/visual"
  "apps/lib/tools: ${TOY_ENGINE_DIRS} apps/lib/formats apps/lib/training apps/lib/sweep apps/lib/visual apps/lib/tools")

function(toy_check_layering root)
  set(violations "")
  foreach(rule IN LISTS TOY_LAYER_RULES)
    string(REGEX MATCH "^([^:]+): (.*)$" _ "${rule}")
    set(dir "${CMAKE_MATCH_1}")
    set(allowed_text "${CMAKE_MATCH_2}")
    string(REPLACE " " ";" allowed "${allowed_text}")
    file(GLOB_RECURSE files RELATIVE "${root}" "${root}/${dir}/*.h" "${root}/${dir}/*.cpp" "${root}/${dir}/*.cu"
         "${root}/${dir}/*.cuh")
    foreach(f IN LISTS files)
      file(STRINGS "${root}/${f}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"[^\"]+\"")
      foreach(inc IN LISTS includes)
        string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*$" "\\1" header "${inc}")
        get_filename_component(header_dir "${header}" DIRECTORY)
        if(header_dir STREQUAL "")
          continue()  # a header beside the file
        endif()
        set(ok FALSE)
        foreach(a IN LISTS allowed)
          if(header_dir STREQUAL a OR header_dir MATCHES "^${a}/")
            set(ok TRUE)
          endif()
        endforeach()
        # Only project folders are ruled; anything else (a library's "foo/bar.h") passes.
        set(project_header FALSE)
        foreach(r IN LISTS TOY_LAYER_RULES ITEMS apps tests python examples)
          string(REGEX REPLACE ":.*$" "" rdir "${r}")
          if(header_dir STREQUAL rdir OR header_dir MATCHES "^${rdir}/")
            set(project_header TRUE)
          endif()
        endforeach()
        if(project_header AND NOT ok)
          string(APPEND violations "  ${f}: #include \"${header}\" — ${dir}/ may include only: ${allowed_text}\n")
        endif()
      endforeach()
    endforeach()
  endforeach()
  if(violations)
    message(FATAL_ERROR "toyformer: upward includes (the layering is in cmake/layering.cmake):\n${violations}")
  endif()
endfunction()

if(CMAKE_SCRIPT_MODE_FILE AND DEFINED TOY_ROOT)
  toy_check_layering("${TOY_ROOT}")
  message(STATUS "layering: ${TOY_ROOT} follows cmake/layering.cmake")
endif()
