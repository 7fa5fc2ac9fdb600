// How much memory a run may plan to use, and sizes in words: commands estimate what the flags ask for and refuse a
// run that cannot fit with the estimate in the message, instead of dying in std::bad_alloc halfway through.
#pragma once
#include <unistd.h>

#include <string>

#include <fmt/format.h>

namespace toy {

// 80% of this machine's physical memory (the rest for the OS and other programs); 4 GiB when it cannot be read.
inline double memory_budget_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 4.0 * (1 << 30);
  return 0.8 * static_cast<double>(pages) * static_cast<double>(page);
}

// "1.5 GiB", "320 MiB", "12 KiB".
inline std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (b >= 1024 && u < 6) b /= 1024, ++u;
  return fmt::format("{:.{}f} {}", b, b < 10 && u > 0 ? 1 : 0, units[u]);
}

}  // namespace toy
