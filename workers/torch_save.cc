// torch::save into a file (see torch_save.h).
#include "workers/torch_save.h"

#include <fcntl.h>
#include <torch/serialize.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "absl/strings/str_cat.h"

namespace r1 {
namespace {

// Serializes through a sink that never reports a short write (LibTorch's zip writer would abort)
// and remembers the first write error instead.
template <typename Value>
absl::Status SaveArchive(const Value& value, const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("create ", path, ": ", std::strerror(errno)));
  int error = 0;
  std::function<size_t(const void*, size_t)> sink = [&](const void* data, size_t n) -> size_t {
    const char* p = static_cast<const char*>(data);
    for (size_t left = n; error == 0 && left > 0;) {
      const ssize_t w = ::write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        error = w < 0 ? errno : EIO;
        break;
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
    return n;
  };
  try {
    torch::save(value, sink);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) {
    return absl::InternalError(absl::StrCat("write ", path, ": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SaveOptimizerFile(const torch::optim::Optimizer& optimizer, const std::string& path) {
  return SaveArchive(optimizer, path);
}

absl::Status SaveTensorsFile(const std::vector<at::Tensor>& tensors, const std::string& path) {
  return SaveArchive(tensors, path);
}

}  // namespace r1
