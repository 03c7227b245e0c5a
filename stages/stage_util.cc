// Helpers shared by the stage loops (see stage_util.h).
#include "stages/stage_util.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/random.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"
#include "pipeline/metrics.h"

namespace r1 {
namespace {

#include "pipeline/tensorboard.h"
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
  OptimizerOptions o;
  o.lr = config.lr;
  o.beta1 = config.beta1;
  o.beta2 = config.beta2;
  o.eps = config.eps;
  o.weight_decay = config.weight_decay;
  o.grad_clip = config.grad_clip;
  o.warmup_steps = config.warmup_steps;
  o.total_steps = total_steps;
  o.schedule = config.schedule;
  o.min_lr_ratio = config.min_lr_ratio;
  return o;
}

absl::StatusOr<std::optional<ResumePoint>> FindResumePoint(const StageContext& context) {
  const std::string& stage = context.stage->name;
  R1_ASSIGN_OR_RETURN(std::optional<int64_t> step, context.run_dir->LatestCheckpointStep(stage));
  if (!step.has_value()) return std::optional<ResumePoint>();
  ResumePoint point;
  point.dir = context.run_dir->CheckpointDir(stage, *step);
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
  return std::optional<ResumePoint>(point);
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
                            int64_t steps_done) {
  const std::string& stage = context.stage->name;
  R1_RETURN_IF_ERROR(MakeDirs(context.run_dir->CheckpointsDir(stage)));
  nlohmann::json state = {{"stage", stage}, {"step", steps_done}, {"seed", context.seed}};
  return context.worker->Save(slot, context.run_dir->CheckpointDir(stage, steps_done), state.dump(),
                              /*weights_only=*/false);
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
