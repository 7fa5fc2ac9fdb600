// Atomic file writes, file reads and UTF-8 conversion for the apps.
#include "apps/lib/formats/fs_util.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace toy {

std::string read_file(const std::string& path) {
  std::error_code ec;
  TOY_CHECK(!std::filesystem::is_directory(path, ec), "cannot read '{}': it is a directory", path);
  std::ifstream f(path, std::ios::binary);
  TOY_CHECK(f.good(), "cannot open '{}'", path);
  std::stringstream ss;
  ss << f.rdbuf();
  TOY_CHECK(!f.bad(), "cannot read '{}'", path);
  return ss.str();
}

void make_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  TOY_CHECK(!ec && std::filesystem::is_directory(dir), "cannot create the directory '{}': {}", dir,
            ec ? ec.message() : "a file of that name exists");
}

namespace {

namespace fs = std::filesystem;

// Create and remove a probe file in `dir`: the one reliable test that a new file can be written there.
void check_writable_dir(const std::string& dir, const std::string& what) {
  const std::string probe = (fs::path(dir) / fmt::format(".toyformer-probe.{}", ::getpid())).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail("{}: cannot write into '{}': {}", what, dir, std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

// "<name>.tmp.<pid>" or "<name>.tmp.<pid>.<n>": the pid, or -1 when `file` is no such name.
long temp_owner(const std::string& file, const std::string& name) {
  const size_t at = name.empty() ? file.rfind(".tmp.") : (file.rfind(name + ".tmp.", 0) == 0 ? name.size() : std::string::npos);
  if (at == std::string::npos || file.compare(at, 5, ".tmp.") != 0) return -1;
  const std::string rest = file.substr(at + 5);
  const size_t dot = rest.find('.');
  const std::string pid = rest.substr(0, dot);
  if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) return -1;
  if (dot != std::string::npos && rest.find_first_not_of("0123456789", dot + 1) != std::string::npos) return -1;
  return std::stol(pid);
}

}  // namespace

void remove_stale_temps(const std::string& dir, const std::string& name) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir.empty() ? "." : dir, ec)) {
    const long pid = temp_owner(e.path().filename().string(), name);
    // A live owner (another toyformer writing there now, or this process) keeps its file.
    if (pid > 0 && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      fs::remove(e.path(), ec);
  }
}

void check_output_file(const std::string& path, const std::string& flag) {
  TOY_CHECK(!path.empty(), "{}: empty file name", flag);
  std::error_code ec;
  TOY_CHECK(!fs::is_directory(path, ec), "{} {}: is a directory (a file name is expected)", flag, path);
  const fs::path parent = fs::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  TOY_CHECK(fs::is_directory(dir, ec), "{} {}: the directory '{}' does not exist", flag, path, dir);
  check_writable_dir(dir, fmt::format("{} {}", flag, path));
  remove_stale_temps(dir, fs::path(path).filename().string());
}

void prepare_output_dir(const std::string& dir, const std::string& flag, bool force) {
  std::error_code ec;
  TOY_CHECK(!fs::exists(dir, ec) || fs::is_directory(dir, ec), "{} {}: exists and is not a directory", flag, dir);
  if (fs::is_directory(dir, ec) && !force) {
    remove_stale_temps(dir);
    TOY_CHECK(fs::is_empty(dir, ec), "{} {}: the directory already holds files (an earlier run?): choose another "
              "directory, or add --force to overwrite them", flag, dir);
  }
  try {
    make_dirs(dir);
  } catch (const Error& e) {
    fail("{}: {}", flag, e.what());
  }
  check_writable_dir(dir, fmt::format("{} {}", flag, dir));
  remove_stale_temps(dir);
}

std::vector<uint32_t> utf8_decode(const std::string& s) {
  std::vector<uint32_t> out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    bool ok = len > 0 && i + static_cast<size_t>(len) <= n;
    for (int k = 1; ok && k < len; ++k) {
      ok = (p[i + static_cast<size_t>(k)] >> 6) == 2;
      cp = (cp << 6) | (p[i + static_cast<size_t>(k)] & 0x3f);
    }
    if (!ok || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
      out.push_back(0xfffd);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return out;
}

std::string utf8_encode(const std::vector<uint32_t>& cps) {
  std::string out;
  for (uint32_t cp : cps) {
    if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) cp = 0xfffd;
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  return out;
}

}  // namespace toy
