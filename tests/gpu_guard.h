// GPU tests are registered everywhere. Without a usable GPU they print this marker and return; CTest's
// SKIP_REGULAR_EXPRESSION (tests/CMakeLists.txt) then reports them as skipped rather than passed.
// On a machine that should have a GPU, set TOYFORMER_REQUIRE_GPU=1: a missing or unusable GPU (an old driver, say)
// then fails every GPU test with the reason instead of skipping them all.
#pragma once
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/backend.h"

#define TOY_REQUIRE_GPU()                                                                                 \
  do {                                                                                                    \
    if (!::toy::cuda_available()) {                                                                       \
      const char* require = std::getenv("TOYFORMER_REQUIRE_GPU");                                         \
      if (require && std::strcmp(require, "1") == 0)                                                      \
        FAIL("TOYFORMER_REQUIRE_GPU=1 but no usable GPU: " << std::string(::toy::cuda_unavailable_reason()));\
      std::printf("toyformer-gpu-test-skipped: no usable GPU: %s\n", ::toy::cuda_unavailable_reason());  \
      return;                                                                                             \
    }                                                                                                     \
  } while (0)
