// Group-relative advantages for GRPO-family training (GRPO, Dr.GRPO, RLOO) and the dynamic-sampling
// filter that drops groups whose rewards are all equal. Pure functions over flat reward arrays.
//
// Layout: rewards are flat, [num_groups * G] f64, G = group_size responses per prompt; group g is
// the contiguous block [g*G, (g+1)*G). Every advantage is per response (the trainer broadcasts it
// over the response's tokens).
#ifndef R1_STAGES_ADVANTAGES_H_
#define R1_STAGES_ADVANTAGES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pipeline/config_types.h"

namespace r1 {

// AdvantageEstimator (pipeline/config_types.h), the config's grpo.advantage:
//   kGrpo: A_i = (r_i - mean) / (std + eps), std the UNBIASED sample std (divides by G - 1), as
//     verl's compute_grpo_outcome_advantage and TRL's GRPOTrainer (torch.std) do. Needs G >= 2.
//   kDrGrpo: Dr.GRPO, A_i = r_i - mean (no std division, which biases towards too easy/hard
//     groups).
//   kRloo: RLOO, A_i = r_i - mean_{j != i} r_j = G/(G-1) * (r_i - mean). Needs G >= 2.

struct AdvantageOptions {
  AdvantageEstimator estimator = AdvantageEstimator::kGrpo;
  int64_t group_size = 0;  // G, >= 1 (>= 2 for kGrpo and kRloo)
  double eps = 1e-6;       // GRPO's std floor, >= 0 (verl's default)
  // Dynamic sampling (DAPO): groups whose rewards are all equal (max - min <= uniform_tolerance)
  // have zero advantage and carry no signal. They are always reported; dropped when true.
  bool drop_uniform_groups = false;
  double uniform_tolerance = 0.0;  // >= 0
};

struct AdvantageResult {
  // [kept_groups.size() * G] f64: block k holds the advantages of original group kept_groups[k].
  std::vector<double> advantages;
  std::vector<int64_t> kept_groups;     // ascending; all groups unless drop_uniform_groups
  std::vector<int64_t> uniform_groups;  // ascending; the all-equal groups (kept or not)
};

// InvalidArgument when rewards.size() is not a multiple of G, G is too small for the estimator,
// eps or the tolerance is negative or not finite, or a reward is not finite (naming its index).
// An empty reward array gives an empty result.
absl::StatusOr<AdvantageResult> ComputeGroupAdvantages(const std::vector<double>& rewards,
                                                       const AdvantageOptions& options);

}  // namespace r1

#endif  // R1_STAGES_ADVANTAGES_H_
