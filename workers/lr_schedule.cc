// Learning-rate schedule (see lr_schedule.h).
#include "workers/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace r1 {

double LearningRateAt(const OptimizerOptions& options, int64_t step) {
  if (step < options.warmup_steps) {
    return options.lr * static_cast<double>(step + 1) / static_cast<double>(options.warmup_steps);
  }
  if (options.total_steps <= 0 || options.schedule == LrSchedule::kConstant) {
    return options.lr;
  }
  const int64_t span = std::max<int64_t>(1, options.total_steps - options.warmup_steps);
  const double p = std::clamp(
      static_cast<double>(step - options.warmup_steps) / static_cast<double>(span), 0.0, 1.0);
  const double floor = options.lr * options.min_lr_ratio;
  switch (options.schedule) {
    case LrSchedule::kConstant:
      break;
    case LrSchedule::kLinear:
      return floor + (options.lr - floor) * (1.0 - p);
    case LrSchedule::kCosine:
      return floor + (options.lr - floor) * (1.0 + std::cos(M_PI * p)) / 2.0;
  }
  return options.lr;
}

}  // namespace r1
