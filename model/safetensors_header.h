// The header of a safetensors file (see safetensors.h for the format), parsed and validated
// without LibTorch: the JSON header -> each tensor's dtype name, shape and byte range, and the
// "__metadata__" strings. OpenSafetensors (safetensors.cc) builds on it; fuzz/ fuzzes it directly.
#ifndef R1_MODEL_SAFETENSORS_HEADER_H_
#define R1_MODEL_SAFETENSORS_HEADER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace r1 {

// The free-form string -> string "__metadata__" of a file (HF writes {"format": "pt"}).
using SafetensorsMetadata = std::map<std::string, std::string>;

// Header larger than this is refused (as Hugging Face's reader does): protects against a corrupt
// length making us parse gigabytes of tensor bytes as JSON.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

// Byte size of one element of a safetensors dtype ("F64", "F32", "F16", "BF16", "I64", "I32",
// "I16", "I8", "U8", "BOOL"), or 0 for a name that is not one of them.
int SafetensorsDtypeSize(absl::string_view dtype);

// One tensor entry of a header, validated against the file's size.
struct SafetensorsHeaderEntry {
  std::string name;
  std::string dtype;           // one of the names above, e.g. "BF16"
  std::vector<int64_t> shape;  // [] for a scalar; dims may be 0
  uint64_t begin = 0;          // byte offsets into the data section (after the header)
  uint64_t end = 0;            // end - begin == numel * itemsize
};

struct SafetensorsHeader {
  std::map<std::string, SafetensorsHeaderEntry> tensors;  // by name
  SafetensorsMetadata metadata;
  uint64_t data_offset = 0;  // where the data section starts in the file: 8 + header length
  uint64_t data_size = 0;    // bytes from data_offset to the end of the file
};

// Parses the header of the safetensors file whose bytes are `file` (all of them: the data
// section's size is checked against the offsets; its bytes are not read). `path` only names the
// file in errors. Checks as OpenSafetensors documents: the 8-byte little-endian length fits the
// file and kMaxSafetensorsHeaderBytes; the header is a JSON object with no duplicate keys; each
// entry has a known dtype, a shape of non-negative integers, data_offsets [begin, end] with
// begin <= end <= data size and end - begin == numel * itemsize; no two tensors' bytes overlap;
// "__metadata__", if present, is a string -> string object. DataLoss for a truncated file,
// InvalidArgument for a malformed header; both name the file and the problem.
absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(absl::string_view file,
                                                         const std::string& path);

}  // namespace r1

#endif  // R1_MODEL_SAFETENSORS_HEADER_H_
