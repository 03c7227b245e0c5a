// The run's secret token (see run_token.h).
#include "scheduler/run_token.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"

namespace r1 {
namespace {

constexpr int kTokenBytes = 32;

// Fills `out` from /dev/urandom; false when it cannot be read in full.
bool ReadUrandom(unsigned char* out, size_t n) {
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd, out + done, n - done);
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  ::close(fd);
  return done == n;
}

}  // namespace

std::string GenerateRunToken() {
  unsigned char bytes[kTokenBytes];
  if (!ReadUrandom(bytes, sizeof(bytes))) {
    std::random_device device;
    for (unsigned char& b : bytes) b = static_cast<unsigned char>(device() & 0xff);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  token.reserve(2 * kTokenBytes);
  for (unsigned char b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 0xf]);
  }
  return token;
}

absl::Status WriteRunTokenFile(const std::string& path, const std::string& token) {
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing to write an empty run token to ", path));
  }
  return WriteFileAtomic(path, absl::StrCat(token, "\n"), 0600);
}

absl::StatusOr<std::string> ReadRunToken(const std::string& token_file) {
  if (!token_file.empty()) {
    absl::StatusOr<std::string> data = ReadFile(token_file);
    if (!data.ok()) {
      return absl::Status(data.status().code(),
                          absl::StrCat("cannot read the run token file ", token_file, ": ",
                                       data.status().message()));
    }
    std::string token(absl::StripTrailingAsciiWhitespace(*data));
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the run token file ", token_file, " is empty"));
    }
    return token;
  }
  const char* env = std::getenv(kRunTokenEnvVar);
  if (env != nullptr) {
    std::string token(absl::StripAsciiWhitespace(env));
    if (!token.empty()) return token;
  }
  return absl::NotFoundError(
      absl::StrCat("no run token: pass --token-file FILE (e.g. RUN_DIR/token) or set the "
                   "environment variable ",
                   kRunTokenEnvVar));
}

absl::StatusOr<std::string> ReadSchedulerAddress(const std::string& run_dir) {
  const std::string path = JoinPath(run_dir, "scheduler.addr");
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok() || absl::StripAsciiWhitespace(*text).empty()) {
    return absl::NotFoundError(
        absl::StrCat(path, ": no scheduler address (is the run going?)",
                     text.ok() ? "" : absl::StrCat(": ", text.status().message())));
  }
  return std::string(absl::StripAsciiWhitespace(*text));
}

}  // namespace r1
