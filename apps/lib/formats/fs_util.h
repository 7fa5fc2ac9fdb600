// Small file helpers for the apps: whole-file reads, output paths checked before any work, stale temporary files,
// and UTF-8 <-> code points (the vocabulary stored in activation dumps). Writes go through core/atomic_file.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/atomic_file.h"  // write_file_atomic: the one atomic writer

namespace toy {

// The whole file; throws toy::Error naming the file when it cannot be read.
std::string read_file(const std::string& path);

// Create a directory and its parents (no error if it exists); throws toy::Error naming it on failure.
void make_dirs(const std::string& dir);

// Outputs are checked before any work, so a run never trains for minutes and then fails on its last write.
// A file output: its directory must exist and accept a new file, and the path must not be a directory. `flag`
// names the option in the error ("--save-weights"). Also removes stale temporary files of that name.
void check_output_file(const std::string& path, const std::string& flag);
// A directory of outputs (train --out, sweep --out): created if missing and checked writable. One that already holds
// files (an earlier run) is refused unless `force` (then its files are overwritten one by one, atomically).
// Stale temporary files of killed writes in it are removed.
void prepare_output_dir(const std::string& dir, const std::string& flag, bool force);
// Remove "<name>.tmp.<pid>..." files in `dir` (what a killed atomic write leaves) whose process no longer runs;
// with `name` empty, those of any file.
void remove_stale_temps(const std::string& dir, const std::string& name = "");

// UTF-8 text -> Unicode code points (invalid bytes become U+FFFD), and back.
std::vector<uint32_t> utf8_decode(const std::string& s);
std::string utf8_encode(const std::vector<uint32_t>& cps);

}  // namespace toy
