// Validators for numeric flags, shared by every command: each checks the flag's text before CLI11 converts it, so
// "nan", "-1" for an unsigned seed or 2^64 cannot slip through a conversion, and names the valid range.
#pragma once
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace toy::app {

inline CLI::Validator finite_in(double lo, double hi, bool lo_open = false, bool hi_open = false) {
  const std::string desc = fmt::format("{}{}, {}{}", lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
  return CLI::Validator(
      [=](std::string& in) -> std::string {
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(in.c_str(), &end);
        if (in.empty() || end != in.c_str() + in.size() || !std::isfinite(v))
          return fmt::format("'{}' is not a finite number", in);
        if (v < lo || v > hi || (lo_open && v == lo) || (hi_open && v == hi))
          return fmt::format("{} is outside the valid range {}", in, desc);
        return "";
      },
      "number in " + desc);
}
inline CLI::Validator int_in(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [=](std::string& in) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(in.c_str(), &end, 10);
        if (in.empty() || end != in.c_str() + in.size() || errno == ERANGE)
          return fmt::format("'{}' is not an integer in [{}, {}]", in, lo, hi);
        if (v < lo || v > hi) return fmt::format("{} is outside the valid range [{}, {}]", in, lo, hi);
        return "";
      },
      fmt::format("integer in [{}, {}]", lo, hi));
}
// A seed: 0 .. 2^64 - 1 written in decimal digits (no sign: "-1" is refused, not wrapped around).
inline CLI::Validator seed_value() {
  return CLI::Validator(
      [](std::string& in) -> std::string {
        char* end = nullptr;
        errno = 0;
        (void)std::strtoull(in.c_str(), &end, 10);
        if (in.empty() || in.find_first_not_of("0123456789") != std::string::npos || errno == ERANGE)
          return fmt::format("'{}' is not a seed (an integer from 0 to 18446744073709551615)", in);
        return "";
      },
      "integer in [0, 2^64-1]");
}
// The optimizer's step counter is float32 (exact up to 2^24 steps): longer runs are refused, not silently wrong.
// A file or directory name given explicitly must not be empty ("--report ''" is not "no report").
inline CLI::Validator non_empty_path() {
  return CLI::Validator([](std::string& in) -> std::string { return in.empty() ? "an empty file name" : ""; }, "PATH");
}

}  // namespace toy::app
