// The one atomic writer for every file toyformer writes (npz archives, JSON, CSV, SVG, HTML): the content goes to
// "<path>.tmp.<pid>.<n>" in the same directory (n is a process-wide counter, so threads never share a temporary
// file), is flushed to disk and renamed over `path`, then the directory entry is flushed. A kill leaves either the
// old file or the new one, never half of one; a failure removes the temporary file, leaves `path` as it was and
// throws a toy::Error that names the temporary file and what failed.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace toy {

// `fill(fd, tmp)` writes the content to the open temporary file (write_all helps).
void write_file_atomic(const std::string& path, const std::function<void(int fd, const std::string& tmp)>& fill);
void write_file_atomic(const std::string& path, std::string_view content);
// All n bytes to fd (retrying short writes and EINTR); the error names `tmp`.
void write_all(int fd, const char* p, size_t n, const std::string& tmp);

}  // namespace toy
