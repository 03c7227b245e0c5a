// How many steps a stage will take, as far as its config alone says.
#ifndef R1_PIPELINE_PLANNED_STEPS_H_
#define R1_PIPELINE_PLANNED_STEPS_H_

#include <cstdint>

#include "pipeline/config.h"

namespace r1 {

// Steps a stage will take when the config says so directly; 0 when it depends on the data size.
int64_t PlannedSteps(const StageConfig& stage);

}  // namespace r1

#endif  // R1_PIPELINE_PLANNED_STEPS_H_
