// Group-relative advantages.
#include "stages/advantages.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace r1 {

absl::StatusOr<AdvantageResult> ComputeGroupAdvantages(const std::vector<double>& rewards,
                                                       const AdvantageOptions& options) {
  const int64_t g_size = options.group_size;
  const int64_t min_group = options.estimator == AdvantageEstimator::kDrGrpo ? 1 : 2;
  if (g_size < min_group) {
    return absl::InvalidArgumentError(
        absl::StrCat("group_size must be >= ", min_group, " for this estimator, got ", g_size));
  }
  if (static_cast<int64_t>(rewards.size()) % g_size != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("got ", rewards.size(), " rewards, not a multiple of group_size ", g_size));
  }
  if (!std::isfinite(options.eps) || options.eps < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("eps must be finite and >= 0, got ", options.eps));
  }
  if (!std::isfinite(options.uniform_tolerance) || options.uniform_tolerance < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("uniform_tolerance must be finite and >= 0, got ", options.uniform_tolerance));
  }
  for (size_t i = 0; i < rewards.size(); ++i) {
    if (!std::isfinite(rewards[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("reward ", i, " is not a finite number: ", rewards[i]));
    }
  }
  const int64_t num_groups = static_cast<int64_t>(rewards.size()) / g_size;
  const double n = static_cast<double>(g_size);
  AdvantageResult result;
  result.advantages.reserve(rewards.size());
  for (int64_t g = 0; g < num_groups; ++g) {
    const double* r = rewards.data() + g * g_size;  // [G]
    const auto [lo, hi] = std::minmax_element(r, r + g_size);
    const bool uniform = *hi - *lo <= options.uniform_tolerance;
    if (uniform) result.uniform_groups.push_back(g);
    if (uniform && options.drop_uniform_groups) continue;
    result.kept_groups.push_back(g);
    double mean = 0.0;
    for (int64_t i = 0; i < g_size; ++i) mean += r[i];
    mean /= n;
    switch (options.estimator) {
      case AdvantageEstimator::kGrpo: {
        double ss = 0.0;
        for (int64_t i = 0; i < g_size; ++i) ss += (r[i] - mean) * (r[i] - mean);
        const double std = std::sqrt(ss / (n - 1.0));
        for (int64_t i = 0; i < g_size; ++i) {
          // A zero-spread group gives 0 / eps = 0, also when eps == 0.
          const double centered = r[i] - mean;
          result.advantages.push_back(centered == 0.0 ? 0.0 : centered / (std + options.eps));
        }
        break;
      }
      case AdvantageEstimator::kDrGrpo:
        for (int64_t i = 0; i < g_size; ++i) result.advantages.push_back(r[i] - mean);
        break;
      case AdvantageEstimator::kRloo:
        for (int64_t i = 0; i < g_size; ++i) {
          result.advantages.push_back(r[i] - (mean * n - r[i]) / (n - 1.0));
        }
        break;
    }
  }
  return result;
}

}  // namespace r1
