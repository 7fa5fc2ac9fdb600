// Running the `toyformer` binary from tests: a per-process scratch directory, a runner that captures the exit
// code, stdout and stderr, and look-ups and edits of the arrays it wrote.
#pragma once
#include <filesystem>
#include <initializer_list>
#include <string>

#include "core/npz.h"

namespace toy::testing {

struct CliRun {
  int code;  // exit code (-1 when the process did not exit normally)
  std::string out, err;
};

// <tmp>/toyformer_<tag>_<pid>, created on first use and removed when the test process exits.
std::filesystem::path scratch_dir(const std::string& tag);
// A whole file as a string (empty when it cannot be read).
std::string slurp(const std::filesystem::path& p);
// Run `toyformer <args>` through the shell (args are shell words), stdin from /dev/null; stdout and stderr go
// through files in scratch_dir(tag). env: "NAME=value ..." set for the command only.
CliRun run_cli(const std::string& args, const std::string& tag, const std::string& env = "");
// Checks that a run was refused as bad input: exit code 2, nothing on stdout, one line on stderr that contains each
// of `mentions` (what was wrong, the file, the flag).
void check_refused(const CliRun& r, std::initializer_list<std::string> mentions);
// The array `name` of a loaded npz file; fails the test when there is none.
Tensor get(const NpzArrays& a, const std::string& name);
// Sets the array `name` to t (appended when there is none).
void put(NpzArrays& a, const std::string& name, const Tensor& t);
// Removes the array `name` (nothing when there is none).
void drop(NpzArrays& a, const std::string& name);

}  // namespace toy::testing
