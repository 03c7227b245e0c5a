// Fuzzes the safetensors header parser (model/safetensors_header.h) with whole files: a corrupt or
// hostile header is refused, never a crash or a huge allocation, and an accepted one keeps every
// promise OpenSafetensors relies on to hand out tensors (each byte range inside the data section,
// sized numel * itemsize, no two overlapping).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "model/safetensors_header.h"

namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "accepted header breaks its contract: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view file(reinterpret_cast<const char*>(data), size);
  auto header = r1::ParseSafetensorsHeader(file, "fuzz.safetensors");
  if (!header.ok()) {
    if (header.status().message().empty()) Fail("an error without a message");
    return 0;
  }
  if (header->data_offset + header->data_size != size) Fail("data section size");
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header->tensors) {
    const int itemsize = r1::SafetensorsDtypeSize(entry.dtype);
    if (itemsize == 0) Fail("unknown dtype");
    uint64_t numel = 1;
    for (int64_t dim : entry.shape) {
      if (dim < 0) Fail("negative dim");
      numel *= static_cast<uint64_t>(dim);  // cannot overflow: the parser checked numel * itemsize
    }
    if (entry.begin > entry.end || entry.end > header->data_size) Fail("range outside the data");
    if (entry.end - entry.begin != numel * static_cast<uint64_t>(itemsize)) Fail("range size");
    if (entry.end > entry.begin) ranges.emplace_back(entry.begin, entry.end);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) Fail("overlapping tensors");
  }
  return 0;
}
