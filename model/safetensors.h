// The safetensors file format (Hugging Face): an 8-byte little-endian header length N, N bytes of
// JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}}, then the
// raw little-endian tensor bytes. A memory-mapped, fully validated reader and an atomic writer.
#ifndef R1_MODEL_SAFETENSORS_H_
#define R1_MODEL_SAFETENSORS_H_

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/safetensors_header.h"

namespace r1 {

// Tensors by name (Hugging Face names: "model.layers.0.self_attn.q_proj.weight"). Sorted by name.
using NamedTensors = std::map<std::string, at::Tensor>;

// SafetensorsMetadata (the "__metadata__" strings) is declared in safetensors_header.h.

// Supported dtypes and their safetensors names: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
// Returns the safetensors name of `type`, or InvalidArgument if the format cannot store it.
absl::StatusOr<std::string> SafetensorsDtypeName(at::ScalarType type);
// The scalar type of a safetensors dtype name ("BF16"), or InvalidArgument naming it.
absl::StatusOr<at::ScalarType> SafetensorsDtypeFromName(absl::string_view name);

// One entry of a file's header, already validated against the file.
struct SafetensorsTensorInfo {
  std::string name;
  at::ScalarType dtype;        // e.g. at::kBFloat16 for "BF16"
  std::vector<int64_t> shape;  // [] for a scalar; dims may be 0
  uint64_t begin = 0;          // byte offsets into the data section (after the header)
  uint64_t end = 0;            // end - begin == numel * itemsize
};

// An open, memory-mapped safetensors file whose header has been fully validated (see
// OpenSafetensors). Cheap to copy: copies share the mapping, which lives until the last copy and
// the last tensor made from it are gone.
// Thread-safety: all methods are const and may be called concurrently.
class SafetensorsFile {
 public:
  const std::string& path() const { return path_; }
  // Tensor names in name order.
  std::vector<std::string> names() const;
  const std::map<std::string, SafetensorsTensorInfo>& infos() const { return infos_; }
  const SafetensorsMetadata& metadata() const { return metadata_; }
  bool Contains(const std::string& name) const { return infos_.count(name) > 0; }

  // The tensor `name`, on CPU, in its stored dtype and shape. The tensor is a view of a private
  // copy-on-write mapping of the file (no copy is made): in-place writes to it never reach the
  // file, and it stays valid after this object is destroyed (it keeps the mapping alive). A
  // tensor whose bytes are not aligned to its element size in the file is copied instead.
  // Tensors from the same file object (and its copies) share those pages: an in-place write is
  // seen by a later Tensor(name) of the same object; open the file again for pristine values.
  // Like any mmap, the file must not be truncated by someone else while tensors from it live.
  // NotFound naming the file and the tensor if there is no such tensor.
  absl::StatusOr<at::Tensor> Tensor(const std::string& name) const;

  // Every tensor of the file (as Tensor() does for each).
  absl::StatusOr<NamedTensors> AllTensors() const;

 private:
  friend absl::StatusOr<SafetensorsFile> OpenSafetensors(const std::string& path);
  struct Mapping;

  std::string path_;
  std::shared_ptr<const Mapping> mapping_;
  const uint8_t* data_ = nullptr;  // start of the data section inside the mapping
  std::map<std::string, SafetensorsTensorInfo> infos_;
  SafetensorsMetadata metadata_;
};

// Opens and validates `path`. Checks: the 8-byte little-endian header length fits the file; the
// header is a JSON object with no duplicate keys; each entry has a known dtype, a shape of
// non-negative integers and data_offsets [begin, end] with begin <= end <= data size and
// end - begin == numel * itemsize; no two tensors' bytes overlap; "__metadata__", if present, is
// a string -> string object. Errors name the file and the problem:
//   NotFound          the file does not exist;
//   DataLoss          the file is shorter than its header says (truncated): too short for the
//                     length prefix, header longer than the file, a tensor past the end;
//   InvalidArgument   the header is malformed (bad JSON, unknown dtype, bad shape/offsets,
//                     size/shape mismatch, overlapping tensors, bad metadata).
absl::StatusOr<SafetensorsFile> OpenSafetensors(const std::string& path);

// OpenSafetensors(path) + AllTensors().
absl::StatusOr<NamedTensors> LoadSafetensors(const std::string& path);

// Writes `tensors` to `path` in the format Hugging Face writes: tensors in name order, packed
// back to back; the header is compact JSON with "__metadata__" first (omitted when `metadata` is
// empty), then each tensor as {"dtype", "shape", "data_offsets"}, padded with spaces to a
// multiple of 8 bytes. Tensors on another device or non-contiguous are copied to contiguous CPU
// first. Atomic like WriteFileAtomic (temp file beside `path` + fsync + rename + fsync of the
// directory): `path` is never seen half-written. InvalidArgument naming the tensor for an
// unsupported dtype, a non-strided (sparse) tensor, an undefined tensor or a bad name (empty,
// "__metadata__"); other errors name the path.
absl::Status WriteSafetensors(const std::string& path, const NamedTensors& tensors,
                              const SafetensorsMetadata& metadata = {});

}  // namespace r1

#endif  // R1_MODEL_SAFETENSORS_H_
