// Hugging Face model directories: load (single file or sharded) and atomic save (see hf_dir.h).
#include "model/hf_dir.h"

#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/file_util.h"
#include "base/status_macros.h"

namespace r1 {
namespace {

constexpr char kConfigFile[] = "config.json";
constexpr char kGenerationConfigFile[] = "generation_config.json";
constexpr char kWeightsFile[] = "model.safetensors";
constexpr char kIndexFile[] = "model.safetensors.index.json";

std::atomic<uint64_t> aside_counter{0};

// Parses the JSON file `path`; InvalidArgument naming the file on bad JSON.
absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path) {
  R1_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not valid JSON: ", e.what()));
  }
}

// Pretty (2-space) JSON + newline, written atomically. InvalidArgument if `value` holds strings
// that are not UTF-8.
absl::Status WriteJsonFile(const std::string& path, const nlohmann::json& value) {
  std::string text;
  try {
    text = value.dump(2);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": ", e.what()));
  }
  text += "\n";
  return WriteFileAtomic(path, text);
}

// A shard name from an index must be a plain file name inside the directory.
bool IsPlainFileName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

// Loads the shards named by the index file `index_path` into `out`.
absl::Status LoadSharded(const std::string& dir, const std::string& index_path, NamedTensors* out) {
  R1_ASSIGN_OR_RETURN(nlohmann::json index, ReadJsonFile(index_path));
  auto bad_index = [&](absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat(index_path, ": ", problem));
  };
  if (!index.is_object()) return bad_index("not a JSON object");
  auto map_it = index.find("weight_map");
  if (map_it == index.end() || !map_it->is_object()) {
    return bad_index("has no \"weight_map\" object");
  }
  std::map<std::string, std::string> weight_map;    // tensor -> shard file
  std::map<std::string, std::string> first_tensor;  // shard file -> a tensor that lists it
  for (const auto& [name, shard] : map_it->items()) {
    if (!shard.is_string() || !IsPlainFileName(shard.get<std::string>())) {
      return bad_index(absl::StrCat("weight_map entry \"", name, "\" is not a file name in ", dir,
                                    ": ", shard.dump()));
    }
    weight_map[name] = shard.get<std::string>();
    first_tensor.emplace(shard.get<std::string>(), name);
  }

  std::map<std::string, std::string> origin;  // tensor -> shard it was loaded from
  for (const auto& [shard, some_tensor] : first_tensor) {
    const std::string shard_path = JoinPath(dir, shard);
    if (!PathExists(shard_path)) {
      return absl::NotFoundError(absl::StrCat("shard ", shard_path, " (listed in ", index_path,
                                              " for tensor \"", some_tensor, "\") is missing"));
    }
    R1_ASSIGN_OR_RETURN(SafetensorsFile file, OpenSafetensors(shard_path));
    for (const auto& [name, info] : file.infos()) {
      auto [it, inserted] = origin.emplace(name, shard);
      if (!inserted) {
        return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\" is in two shards of ",
                                                       dir, ": ", it->second, " and ", shard));
      }
      R1_ASSIGN_OR_RETURN((*out)[name], file.Tensor(name));
    }
  }
  for (const auto& [name, shard] : weight_map) {
    auto it = origin.find(name);
    if (it == origin.end() || it->second != shard) {
      return absl::NotFoundError(absl::StrCat("tensor \"", name, "\" is listed in ", index_path,
                                              " as in shard ", shard, " but is not in it"));
    }
  }
  return absl::OkStatus();
}

// Splits `tensors` (name order) into shards of at most `max_bytes` tensor bytes each.
std::vector<NamedTensors> SplitShards(const NamedTensors& tensors, int64_t max_bytes) {
  std::vector<NamedTensors> shards(1);
  int64_t current = 0;
  for (const auto& [name, tensor] : tensors) {
    const int64_t nbytes = tensor.numel() * static_cast<int64_t>(tensor.element_size());
    if (max_bytes > 0 && !shards.back().empty() && current + nbytes > max_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back()[name] = tensor;
    current += nbytes;
  }
  return shards;
}

// Writes the weights (single file or shards + index) into the existing directory `dir`.
absl::Status WriteWeights(const std::string& dir, const NamedTensors& tensors,
                          int64_t max_shard_bytes) {
  const SafetensorsMetadata metadata = {{"format", "pt"}};
  std::vector<NamedTensors> shards = SplitShards(tensors, max_shard_bytes);
  if (shards.size() == 1) return WriteSafetensors(JoinPath(dir, kWeightsFile), tensors, metadata);

  nlohmann::json weight_map = nlohmann::json::object();
  int64_t total_size = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string shard =
        absl::StrFormat("model-%05d-of-%05d.safetensors", i + 1, shards.size());
    R1_RETURN_IF_ERROR(WriteSafetensors(JoinPath(dir, shard), shards[i], metadata));
    for (const auto& [name, tensor] : shards[i]) {
      weight_map[name] = shard;
      total_size += tensor.numel() * static_cast<int64_t>(tensor.element_size());
    }
  }
  nlohmann::json index = {{"metadata", {{"total_size", total_size}}},
                          {"weight_map", std::move(weight_map)}};
  return WriteJsonFile(JoinPath(dir, kIndexFile), index);
}

// Everything SaveHfModelDir writes, into the existing (empty) directory `dir`.
absl::Status WriteModelFiles(const std::string& dir, const nlohmann::json& config,
                             const NamedTensors& tensors, const Tokenizer* tokenizer,
                             const HfSaveOptions& options) {
  R1_RETURN_IF_ERROR(WriteWeights(dir, tensors, options.max_shard_bytes));
  R1_RETURN_IF_ERROR(WriteJsonFile(JoinPath(dir, kConfigFile), config));
  if (options.generation_config.has_value()) {
    R1_RETURN_IF_ERROR(
        WriteJsonFile(JoinPath(dir, kGenerationConfigFile), *options.generation_config));
  }
  if (tokenizer != nullptr) R1_RETURN_IF_ERROR(tokenizer->SaveTo(dir));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HfModelFiles> LoadHfModelDir(const std::string& dir) {
  if (!IsDirectory(dir)) {
    return absl::NotFoundError(absl::StrCat("model directory ", dir, " does not exist"));
  }
  HfModelFiles files;
  const std::string config_path = JoinPath(dir, kConfigFile);
  if (!PathExists(config_path)) {
    return absl::NotFoundError(absl::StrCat("model directory ", dir, " has no ", kConfigFile));
  }
  R1_ASSIGN_OR_RETURN(files.config, ReadJsonFile(config_path));
  if (!files.config.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(config_path, " is not a JSON object"));
  }
  const std::string generation_path = JoinPath(dir, kGenerationConfigFile);
  if (PathExists(generation_path)) {
    R1_ASSIGN_OR_RETURN(files.generation_config, ReadJsonFile(generation_path));
  }

  const std::string weights_path = JoinPath(dir, kWeightsFile);
  const std::string index_path = JoinPath(dir, kIndexFile);
  if (PathExists(weights_path)) {
    R1_ASSIGN_OR_RETURN(files.tensors, LoadSafetensors(weights_path));
  } else if (PathExists(index_path)) {
    R1_RETURN_IF_ERROR(LoadSharded(dir, index_path, &files.tensors));
  } else {
    return absl::NotFoundError(
        absl::StrCat("model directory ", dir, " has neither ", kWeightsFile, " nor ", kIndexFile));
  }
  return files;
}

absl::Status SaveHfModelDir(const std::string& dir, const nlohmann::json& config,
                            const NamedTensors& tensors, const Tokenizer* tokenizer) {
  return SaveHfModelDir(dir, config, tensors, tokenizer, HfSaveOptions());
}

absl::Status SaveHfModelDir(const std::string& dir_arg, const nlohmann::json& config,
                            const NamedTensors& tensors, const Tokenizer* tokenizer,
                            const HfSaveOptions& options) {
  // "out/" and "out" are the same directory; the temp dir must be beside it, not inside.
  std::string dir = dir_arg;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty() || dir == "/" || dir == "." || dir == "..") {
    return absl::InvalidArgumentError(absl::StrCat("bad model directory \"", dir_arg, "\""));
  }
  if (!config.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config for ", dir, " is not a JSON object: ", config.type_name()));
  }
  if (options.max_shard_bytes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_shard_bytes must be >= 0, got ", options.max_shard_bytes));
  }
  if (PathExists(dir) && !IsDirectory(dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " exists and is not a directory; refusing to replace it"));
  }
  const auto slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) R1_RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash)));

  R1_ASSIGN_OR_RETURN(std::string tmp, MakeTempDirBeside(dir));
  absl::Status s = WriteModelFiles(tmp, config, tensors, tokenizer, options);
  if (!s.ok()) {
    RemoveAll(tmp).IgnoreError();
    return s;
  }

  // Replace: old aside, new in, old removed. A crash in between leaves `dir` absent (the old
  // complete copy is at `aside`), never half of either.
  std::string aside;
  if (PathExists(dir)) {
    aside = absl::StrCat(dir, ".old-", ::getpid(), "-", aside_counter.fetch_add(1));
    if (::rename(dir.c_str(), aside.c_str()) != 0) {
      s = absl::InternalError(
          absl::StrCat("cannot move ", dir, " aside to ", aside, ": ", std::strerror(errno)));
      RemoveAll(tmp).IgnoreError();
      return s;
    }
  }
  s = RenameDirAtomic(tmp, dir);
  if (!s.ok()) {
    if (!aside.empty()) ::rename(aside.c_str(), dir.c_str());  // best effort: put the old back
    RemoveAll(tmp).IgnoreError();
    return s;
  }
  if (!aside.empty()) R1_RETURN_IF_ERROR(RemoveAll(aside));
  return absl::OkStatus();
}

}  // namespace r1
