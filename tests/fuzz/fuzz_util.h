// Shared by the libFuzzer targets (one per parser; README in run_fuzzers.sh): a scratch directory per process and
// the rule every target follows: toy::Error is the expected rejection of bad input, so it is caught; anything else
// (another exception, a crash, an ASan/UBSan report, a timeout) leaves LLVMFuzzerTestOneInput and is a finding.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace toy::fuzz {

// $TMPDIR/toyformer_fuzz_<pid>/, created on first use and removed when the process exits normally.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path d = std::filesystem::temp_directory_path() / ("toyformer_fuzz_" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch(), ec);
    });
    return d;
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();  // the harness itself failed: not the code under test
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input cut at every `sep` byte into at most `max_parts` parts (the last part keeps any further separators).
inline std::vector<std::string_view> split(std::string_view s, char sep, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = s.find(sep);
    if (at == std::string_view::npos) break;
    parts.push_back(s.substr(0, at));
    s.remove_prefix(at + 1);
  }
  parts.push_back(s);
  return parts;
}

// Runs f; a toy::Error is the parser refusing the input (expected), everything else propagates to libFuzzer.
template <class F>
void expect_only_toy_errors(F&& f) {
  try {
    f();
  } catch (const toy::Error&) {
  }
}

}  // namespace toy::fuzz
