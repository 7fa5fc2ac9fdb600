// One check for the JSON records we read back (run.json, sweep.json): nlohmann's get<int64_t>() of a number written
// with a fraction or an exponent (1e300) converts with a cast that is undefined beyond int64's range, so such numbers
// are refused before any field is read. No legitimate value of these files comes near 9.2e18.
#pragma once
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/lib/formats/fs_util.h"
#include "core/error.h"

namespace toy {

// Throws "<where>: the number 1e+300 at /metrics/params is out of range (at most 9.2e18 in magnitude)". Walks the
// tree with its own stack (no recursion: the nesting depth is the file's to choose).
inline void refuse_huge_numbers(const nlohmann::json& root, const std::string& where) {
  std::vector<std::pair<const nlohmann::json*, std::string>> todo{{&root, ""}};
  while (!todo.empty()) {
    auto [j, path] = std::move(todo.back());
    todo.pop_back();
    if (j->is_number_float()) {
      const double d = j->get<double>();
      TOY_CHECK(std::fabs(d) < 9.2233720368547758e18, "{}: the number {} at {} is out of range (at most 9.2e18 in "
                "magnitude)", where, d, path.empty() ? "/" : path);
    } else if (j->is_object()) {
      for (auto it = j->begin(); it != j->end(); ++it) todo.emplace_back(&it.value(), path + "/" + it.key());
    } else if (j->is_array()) {
      for (size_t i = 0; i < j->size(); ++i) todo.emplace_back(&(*j)[i], path + "/" + std::to_string(i));
    }
  }
}

// A JSON record read back (run.json, sweep.json): parsed ("<path>: not valid JSON: ..." otherwise) and checked by
// refuse_huge_numbers.
inline nlohmann::json read_json_record(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON: {}", path, e.what());
  }
  refuse_huge_numbers(j, path);
  return j;
}

}  // namespace toy
