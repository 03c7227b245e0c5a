// The closed sets of names a config accepts (cluster mode, launcher, placement, collectives
// backend, device, dtype, learning-rate schedule, KL estimator, loss aggregation, advantage
// estimator, reward scope and target) as enums. Each enum has one table of its YAML names, from
// which ToString (enum -> name) and ParseEnum (name -> enum) follow; parsing happens once, in
// pipeline/config.cc, and everything downstream (stages, scheduler, worker_api, workers) switches
// on the enum. Also the optimizer settings (OptimizerConfig), which travel from the config to the
// workers unchanged. No LibTorch, no YAML.
#ifndef R1_PIPELINE_CONFIG_TYPES_H_
#define R1_PIPELINE_CONFIG_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/dtype_names.h"

namespace r1 {

// One accepted name of an enum value.
template <typename E>
struct EnumEntry {
  E value;
  absl::string_view name;
};

// cluster.mode: who starts the workers.
enum class ClusterMode {
  kLocal,     // "local": `r1 run` launches them
  kExternal,  // "external": they join (an MPIJob, a hand-started job)
};

// cluster.launcher: how workers are started.
enum class Launcher {
  kMpirun,     // "mpirun" (local mode)
  kSrun,       // "srun" (local mode)
  kK8s,        // "k8s": an MPIJob (external mode)
  kInProcess,  // "in_process": one colocated worker inside `r1 run`
};

// cluster.placement.
enum class Placement {
  kColocated,      // "colocated": every worker trains and generates (hybrid engine)
  kDisaggregated,  // "disaggregated": separate rollout workers
};

// cluster.backend: the collectives of the trainer ranks.
enum class CollectiveBackend {
  kMpi,   // "mpi"
  kNccl,  // "nccl"
  kAuto,  // "auto": nccl on GPUs, else mpi
};

// cluster.device.
enum class DeviceKind {
  kCpu,   // "cpu"
  kCuda,  // "cuda"
};

// model.dtype: the parameter (storage) dtype of the models, float32 | bfloat16 | float16 (storage
// only: computed in float32, ModelComputeDtype). The names are base/dtype_names.h's; float64 is not
// a config dtype (its ToString is "?").
using ModelDtype = Dtype;

// optimizer.schedule: the learning rate after warm-up.
enum class LrSchedule {
  kConstant,  // "constant"
  kLinear,    // "linear": linear decay to min_lr_ratio * lr
  kCosine,    // "cosine": cosine decay to min_lr_ratio * lr
};

// grpo.kl_estimator: estimators of KL(π_θ || π_ref) per token, from d = logp - ref_logp (Schulman,
// "Approximating KL divergence"; verl's kl_penalty). The math: workers/policy_loss.h.
enum class KlEstimator {
  kK1,  // "k1": d                       unbiased, can be negative
  kK2,  // "k2": 0.5 d^2                 biased, ≥ 0
  kK3,  // "k3": exp(-d) + d - 1         unbiased, ≥ 0; the one in the GRPO paper
};

// grpo.loss_aggregation: how per-token losses [B, T] become one scalar. Only response tokens
// count anywhere. (The Worker protocol spells them differently: LossAggregationWireName in
// worker_api/worker_client.h.)
enum class LossAggregation {
  // "sequence_mean" (GRPO paper): mean over each sequence's response tokens, then mean over the
  // sequences that have at least one response token.
  kSeqMeanTokenMean,
  // "token_mean" (DAPO): sum over all response tokens of the batch / their number.
  kTokenMean,
  // "constant" (Dr.GRPO): each sequence's token sum / a constant (max_new_tokens), then mean over
  // the sequences that have at least one response token.
  kSeqMeanTokenSumNorm,
};

// grpo.advantage: group-relative advantage estimators (the math: stages/advantages.h).
enum class AdvantageEstimator {
  kGrpo,    // "grpo": (r - mean) / std
  kDrGrpo,  // "dr_grpo": r - mean
  kRloo,    // "rloo": leave-one-out baseline
};

// rewards[i].scope: what a reward scores.
enum class RewardScope {
  kResponse,  // "response": the whole response, reasoning included
  kAnswer,    // "answer": the final answer only
};

// rewards[i].applies_to: which prompts a reward scores.
enum class RewardTarget {
  kAuto,       // "auto": reward_model general prompts, overlong all, the rest reasoning prompts
  kReasoning,  // "reasoning"
  kGeneral,    // "general"
  kAll,        // "all"
};

// The AdamW settings of a training stage (YAML: `optimizer:`), as the config gives them and as
// the workers use them (worker_api's OptimizerOptions adds only the schedule's length).
struct OptimizerConfig {
  double lr = 1e-5;    // peak learning rate
  double beta1 = 0.9;  // YAML: betas: [beta1, beta2]
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.0;                    // decoupled weight decay
  int64_t warmup_steps = 0;                     // linear warm-up from 0 to lr, optimizer steps
  LrSchedule schedule = LrSchedule::kConstant;  // after warm-up: constant | linear | cosine
  double min_lr_ratio = 0.0;                    // floor of linear/cosine decay, as a fraction of lr
  double grad_clip = 1.0;                       // max global gradient L2 norm; 0 disables clipping
};

// The name table of each enum, in declaration order (the first name of a value is canonical).
const std::vector<EnumEntry<ClusterMode>>& EnumEntries(ClusterMode);
const std::vector<EnumEntry<Launcher>>& EnumEntries(Launcher);
const std::vector<EnumEntry<Placement>>& EnumEntries(Placement);
const std::vector<EnumEntry<CollectiveBackend>>& EnumEntries(CollectiveBackend);
const std::vector<EnumEntry<DeviceKind>>& EnumEntries(DeviceKind);
const std::vector<EnumEntry<ModelDtype>>& EnumEntries(ModelDtype);
const std::vector<EnumEntry<LrSchedule>>& EnumEntries(LrSchedule);
const std::vector<EnumEntry<KlEstimator>>& EnumEntries(KlEstimator);
const std::vector<EnumEntry<LossAggregation>>& EnumEntries(LossAggregation);
const std::vector<EnumEntry<AdvantageEstimator>>& EnumEntries(AdvantageEstimator);
const std::vector<EnumEntry<RewardScope>>& EnumEntries(RewardScope);
const std::vector<EnumEntry<RewardTarget>>& EnumEntries(RewardTarget);

// The config name of `value` ("colocated", "k3", ...).
template <typename E>
absl::string_view ToString(E value) {
  for (const auto& entry : EnumEntries(E{})) {
    if (entry.value == value) return entry.name;
  }
  return "?";  // not reached: every enumerator has a name
}

// The value named `name`; nullopt for a name not in the table.
template <typename E>
std::optional<E> ParseEnum(absl::string_view name) {
  for (const auto& entry : EnumEntries(E{})) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

// The accepted names, comma-separated ("k1, k2, k3"), for error messages.
template <typename E>
std::string EnumNameList() {
  std::string out;
  for (const auto& entry : EnumEntries(E{})) {
    if (!out.empty()) out += ", ";
    out.append(entry.name.data(), entry.name.size());
  }
  return out;
}

}  // namespace r1

#endif  // R1_PIPELINE_CONFIG_TYPES_H_
