// Helpers shared by the stage loops (see stage_util.h).
#include "stages/stage_util.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/random.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"
#include "pipeline/checkpoint_manifest.h"
#include "pipeline/metrics.h"
#include "pipeline/tensorboard.h"

namespace r1 {
namespace {

// The Hugging Face config.json of an inline architecture. Qwen2 always has q/k/v biases, so a
// bias-free architecture is written as Llama.
std::string ArchitectureToHfConfig(const ArchitectureConfig& a, ModelDtype dtype) {
  nlohmann::json j = {
      {"model_type", a.attention_bias ? "qwen2" : "llama"},
      {"vocab_size", a.vocab_size},
      {"hidden_size", a.hidden_size},
      {"intermediate_size", a.intermediate_size},
      {"num_hidden_layers", a.num_layers},
      {"num_attention_heads", a.num_heads},
      {"num_key_value_heads", a.num_kv_heads},
      {"max_position_embeddings", a.max_position_embeddings},
      {"rope_theta", a.rope_theta},
      {"rms_norm_eps", a.rms_norm_eps},
      {"tie_word_embeddings", a.tie_word_embeddings},
      {"hidden_act", "silu"},
      {"torch_dtype", std::string(ToString(dtype))},
  };
  return j.dump();
}

}  // namespace

std::vector<int64_t> ShuffledOrder(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  SplitMix64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(rng.Next() % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

int64_t DataCursor::At(int64_t position) {
  const int64_t epoch = position / n_;
  if (epoch != epoch_) {
    order_ = ShuffledOrder(n_, seed_ ^ (0x5851F42D4C957F2Dull * static_cast<uint64_t>(epoch + 1)));
    epoch_ = epoch;
  }
  return order_[static_cast<size_t>(position % n_)];
}

OptimizerOptions ToOptimizerOptions(const OptimizerConfig& config, int64_t total_steps) {
  return OptimizerOptions{config, total_steps};
}

namespace {

// The resume point a checkpoint directory holds, once its manifest proves every file intact.
// DataLoss naming the problem otherwise.
absl::StatusOr<ResumePoint> ReadResumePoint(const std::string& dir) {
  R1_RETURN_IF_ERROR(VerifyCheckpointManifest(dir));
  ResumePoint point;
  point.dir = dir;
  std::string state_path = JoinPath(point.dir, "trainer_state.json");
  auto text = ReadFile(state_path);
  if (!text.ok()) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", point.dir, ": ", text.status().message()));
  }
  nlohmann::json state = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (state.is_discarded() || !state.is_object() || !state.contains("step") ||
      !state["step"].is_number_integer()) {
    return absl::DataLossError(
        absl::StrCat(state_path, ": not a trainer state (expected {\"step\": N, ...})"));
  }
  point.step = state["step"].get<int64_t>();
  return point;
}

// Renames an untrusted checkpoint to "<dir>.corrupt-<n>" (never a checkpoint name, never removed
// by r1), so that resume skips it and nothing written is lost. Returns the new name.
absl::StatusOr<std::string> SetCheckpointAside(const std::string& dir) {
  for (int n = 1; n < 1000; ++n) {
    const std::string aside = absl::StrCat(dir, ".corrupt-", n);
    if (PathExists(aside)) continue;
    if (std::rename(dir.c_str(), aside.c_str()) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot set aside ", dir, ": ", std::strerror(errno)));
    }
    return aside;
  }
  return absl::InternalError(
      absl::StrCat("cannot set aside ", dir, ": too many .corrupt-N copies"));
}

}  // namespace

absl::StatusOr<std::optional<ResumePoint>> FindResumePoint(const StageContext& context) {
  const std::string& stage = context.stage->name;
  R1_ASSIGN_OR_RETURN(std::vector<int64_t> steps, context.run_dir->CheckpointSteps(stage));
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const std::string dir = context.run_dir->CheckpointDir(stage, *it);
    absl::StatusOr<ResumePoint> point = ReadResumePoint(dir);
    if (point.ok()) {
      if (context.log) {
        context.log(absl::StrCat("resuming after step ", point->step, " from ", dir));
      }
      return std::optional<ResumePoint>(*point);
    }
    if (point.status().code() != absl::StatusCode::kDataLoss) return point.status();
    R1_ASSIGN_OR_RETURN(std::string aside, SetCheckpointAside(dir));
    if (context.log) {
      context.log(absl::StrCat("not resuming: ", point.status().message(), "; set aside as ", aside,
                               ", trying an older checkpoint"));
    }
  }
  return std::optional<ResumePoint>();
}

absl::Status DropLogsAfter(const StageContext& context, int64_t steps_done) {
  for (const std::string& path : {context.run_dir->MetricsPath(context.stage->name),
                                  context.run_dir->SamplesPath(context.stage->name)}) {
    R1_ASSIGN_OR_RETURN(int64_t dropped, TruncateJsonlAfterStep(path, steps_done));
    (void)dropped;
  }
  return TruncateTensorBoardAfterStep(context.run_dir->TensorBoardDir(context.stage->name),
                                      steps_done)
      .status();
}

absl::Status SaveCheckpoint(const StageContext& context, const std::string& slot,
                            int64_t steps_done,
                            const std::map<std::string, std::string>& extra_files) {
  const std::string& stage = context.stage->name;
  R1_RETURN_IF_ERROR(MakeDirs(context.run_dir->CheckpointsDir(stage)));
  nlohmann::json state = {{"stage", stage}, {"step", steps_done}, {"seed", context.seed}};
  const std::string dir = context.run_dir->CheckpointDir(stage, steps_done);
  R1_RETURN_IF_ERROR(context.worker->Save(slot, dir, state.dump(), /*weights_only=*/false));
  for (const auto& [name, contents] : extra_files) {
    R1_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(dir, name), contents));
  }
  // Written last: a checkpoint without it (a crash in between) is not trusted on resume.
  return WriteCheckpointManifest(dir);
}

absl::Status LoadTrainable(const StageContext& context, const std::string& slot,
                           const OptimizerOptions& optimizer,
                           const std::optional<ResumePoint>& resume) {
  const BaseModelConfig& base = context.config->model;
  if (context.model_dir.empty()) {
    if (!base.architecture.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("stage ", context.stage->name,
                                                     ": no input model and no model.architecture"));
    }
    R1_RETURN_IF_ERROR(
        context.worker->InitModel(slot, ArchitectureToHfConfig(*base.architecture, base.dtype),
                                  base.tokenizer, context.seed, &optimizer));
    if (!resume.has_value()) return absl::OkStatus();
    // The fresh model supplied the tokenizer spec; the checkpoint holds everything else.
    return context.worker->LoadModel(slot, resume->dir, &optimizer, resume->dir);
  }
  return context.worker->LoadModel(slot, context.model_dir, &optimizer,
                                   resume.has_value() ? resume->dir : std::string());
}

absl::Status Annotate(const absl::Status& status, const std::string& prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace r1
