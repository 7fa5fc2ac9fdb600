// The atomic writer: temporary file, fsync, rename, fsync of the directory.
#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace toy {

void write_all(int fd, const char* p, size_t n, const std::string& tmp) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail("cannot write the temporary file '{}': {}", tmp, std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

namespace {
// Removes the temporary file unless released (after the rename).
struct TempFile {
  std::string path;
  int fd = -1;
  bool armed = true;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (armed) ::unlink(path.c_str());
  }
};
}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(int fd, const std::string& tmp)>& fill) {
  static std::atomic<uint64_t> counter{0};
  TempFile tmp{fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter.fetch_add(1))};
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (tmp.fd < 0) {
    const int e = errno;
    tmp.armed = false;  // a failed open created nothing; leave whatever is there alone
    fail("cannot create the temporary file '{}': {}", tmp.path, std::strerror(e));
  }
  fill(tmp.fd, tmp.path);
  if (::fsync(tmp.fd) != 0) fail("cannot flush the temporary file '{}': {}", tmp.path, std::strerror(errno));
  const int fd = tmp.fd;
  tmp.fd = -1;
  if (::close(fd) != 0) fail("cannot close the temporary file '{}': {}", tmp.path, std::strerror(errno));
  if (std::rename(tmp.path.c_str(), path.c_str()) != 0)
    fail("cannot rename the temporary file '{}' over it: {}", tmp.path, std::strerror(errno));
  tmp.armed = false;
  // Make the rename itself durable; best effort (some file systems refuse fsync on a directory).
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::string_view content) {
  try {
    write_file_atomic(path, [&](int fd, const std::string& tmp) { write_all(fd, content.data(), content.size(), tmp); });
  } catch (const Error& e) {
    fail("cannot write '{}': {}", path, e.what());
  }
}

}  // namespace toy
