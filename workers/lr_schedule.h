// The learning-rate schedule: linear warm-up, then constant, linear or cosine decay to a floor.
// A pure function of the step, so a resumed run recomputes exactly the rate it would have used.
#ifndef R1_WORKERS_LR_SCHEDULE_H_
#define R1_WORKERS_LR_SCHEDULE_H_

#include <cstdint>

#include "worker_api/worker_client.h"

namespace r1 {

// Learning rate of optimizer step `step` (0-based):
//   step < warmup_steps:  lr * (step + 1) / warmup_steps
//   then, with p = (step - warmup) / max(1, total_steps - warmup) clamped to [0, 1] and
//   floor = lr * min_lr_ratio: constant -> lr; linear -> floor + (lr - floor)(1 - p);
//   cosine -> floor + (lr - floor)(1 + cos(pi p)) / 2.
// total_steps == 0 means constant after warm-up whatever the schedule.
double LearningRateAt(const OptimizerOptions& options, int64_t step);

}  // namespace r1

#endif  // R1_WORKERS_LR_SCHEDULE_H_
