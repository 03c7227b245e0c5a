// SHA-256 (FIPS 180-4), streaming. For checkpoint manifests: a corrupted or truncated file is
// detected before it is trusted. Not constant-time; not for secrets.
#ifndef R1_BASE_SHA256_H_
#define R1_BASE_SHA256_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace r1 {

class Sha256 {
 public:
  Sha256();
  void Update(absl::string_view data);
  // The digest as 64 lowercase hex digits. Ends the hash: call once.
  std::string HexDigest();

 private:
  void Block(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// SHA-256 of `data` as hex.
std::string Sha256Hex(absl::string_view data);

// SHA-256 of a file's bytes as hex, read in chunks; `size` (if not null) gets the byte count.
// NotFound / Internal name the path.
absl::StatusOr<std::string> Sha256File(const std::string& path, int64_t* size = nullptr);

}  // namespace r1

#endif  // R1_BASE_SHA256_H_
