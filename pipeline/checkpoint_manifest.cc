#include "pipeline/checkpoint_manifest.h"

#include <sys/stat.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/sha256.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"

namespace r1 {
namespace {

constexpr char kFormat[] = "r1-checkpoint-manifest-v1";

// Relative paths of the regular files under `dir`/`rel`, sorted, recursing into directories.
absl::Status ListFiles(const std::string& dir, const std::string& rel,
                       std::vector<std::string>* out) {
  const std::string here = rel.empty() ? dir : JoinPath(dir, rel);
  R1_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(here));
  for (const std::string& name : names) {
    const std::string child = rel.empty() ? name : JoinPath(rel, name);
    struct stat st;
    if (::lstat(JoinPath(dir, child).c_str(), &st) != 0) continue;  // vanished: not listed
    if (S_ISDIR(st.st_mode)) {
      R1_RETURN_IF_ERROR(ListFiles(dir, child, out));
    } else if (S_ISREG(st.st_mode) && child != kManifestFile) {
      out->push_back(child);
    }
  }
  return absl::OkStatus();
}

absl::Status Corrupt(const std::string& dir, const std::string& what) {
  return absl::DataLossError(absl::StrCat("checkpoint ", dir, ": ", what));
}

}  // namespace

absl::Status WriteCheckpointManifest(const std::string& dir) {
  std::vector<std::string> files;
  R1_RETURN_IF_ERROR(ListFiles(dir, "", &files));
  nlohmann::json entries = nlohmann::json::array();
  for (const std::string& rel : files) {
    int64_t size = 0;
    R1_ASSIGN_OR_RETURN(std::string hash, Sha256File(JoinPath(dir, rel), &size));
    entries.push_back({{"path", rel}, {"size", size}, {"sha256", hash}});
  }
  const nlohmann::json manifest = {{"format", kFormat}, {"files", entries}};
  return WriteFileAtomic(JoinPath(dir, kManifestFile), manifest.dump(1) + "\n");
}

absl::Status VerifyCheckpointManifest(const std::string& dir) {
  const std::string path = JoinPath(dir, kManifestFile);
  if (!PathExists(path)) {
    return Corrupt(dir,
                   "no manifest.json (the checkpoint was interrupted before it was complete, "
                   "or written by an r1 without manifests)");
  }
  R1_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const nlohmann::json manifest = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest.is_object() || manifest.value("format", "") != kFormat ||
      !manifest.contains("files") || !manifest["files"].is_array()) {
    return Corrupt(dir, absl::StrCat("manifest.json is not a ", kFormat, " manifest"));
  }
  for (const nlohmann::json& entry : manifest["files"]) {
    if (!entry.is_object() || !entry.contains("path") || !entry["path"].is_string() ||
        !entry.contains("size") || !entry["size"].is_number_integer() ||
        !entry.contains("sha256") || !entry["sha256"].is_string()) {
      return Corrupt(dir, "manifest.json has a malformed entry: " + entry.dump());
    }
    const std::string rel = entry["path"].get<std::string>();
    if (rel.empty() || rel[0] == '/' || NormalizePath(rel).rfind("..", 0) == 0) {
      return Corrupt(dir, "manifest.json lists a path outside the checkpoint: " + rel);
    }
    const int64_t want_size = entry["size"].get<int64_t>();
    struct stat st;
    if (::stat(JoinPath(dir, rel).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Corrupt(dir, absl::StrCat(rel, ": missing"));
    }
    if (static_cast<int64_t>(st.st_size) != want_size) {
      return Corrupt(dir,
                     absl::StrCat(rel, ": ", st.st_size, " bytes, the manifest says ", want_size));
    }
    int64_t size = 0;
    R1_ASSIGN_OR_RETURN(std::string hash, Sha256File(JoinPath(dir, rel), &size));
    if (hash != entry["sha256"].get<std::string>()) {
      return Corrupt(dir, absl::StrCat(rel, ": SHA-256 ", hash, " differs from the manifest's ",
                                       entry["sha256"].get<std::string>()));
    }
  }
  return absl::OkStatus();
}

}  // namespace r1
