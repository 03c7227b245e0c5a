// Checkpoints that prove themselves: a manifest of every file in a checkpoint directory (relative
// path, size, SHA-256), written after the files. Resume trusts a checkpoint only when every file
// it lists is there with its size and hash.
//
//   STAGE/checkpoints/step-000120/manifest.json
//   {"format": "r1-checkpoint-manifest-v1",
//    "files": [{"path": "model.safetensors", "size": 123, "sha256": "ab12..."}, ...]}
#ifndef R1_PIPELINE_CHECKPOINT_MANIFEST_H_
#define R1_PIPELINE_CHECKPOINT_MANIFEST_H_

#include <string>

#include "absl/status/status.h"

namespace r1 {

inline constexpr char kManifestFile[] = "manifest.json";

// Hashes every regular file under `dir` (recursively, symlinks not followed, the manifest itself
// excluded) and writes `dir`/manifest.json atomically. Call when every other file is written.
absl::Status WriteCheckpointManifest(const std::string& dir);

// OK when `dir`/manifest.json exists, parses, and every file it lists exists with the listed size
// and SHA-256. Otherwise DataLoss naming the first problem: no manifest, a malformed one, a
// missing file, a size or hash mismatch ("model.safetensors: 1024 bytes, the manifest says
// 4096"). Files not listed are ignored.
absl::Status VerifyCheckpointManifest(const std::string& dir);

}  // namespace r1

#endif  // R1_PIPELINE_CHECKPOINT_MANIFEST_H_
