// The reward-model side of a reward mix (R1 stage 4): an interface that workers implement, and
// the rule for which part of a response a reward model sees.
#ifndef R1_STAGES_REWARDS_REWARD_MODEL_H_
#define R1_STAGES_REWARDS_REWARD_MODEL_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "stages/rewards/reward.h"

namespace r1 {

// Which part of a response a reward model scores. R1: helpfulness judges the final answer (the
// summary after the reasoning), harmlessness the whole response, reasoning included.
enum class RewardModelScope {
  kFinalAnswer,    // the text after the last "</think>" (the whole response when there is none)
  kWholeResponse,  // the response as generated
};

// The part of `response` a reward model of `scope` sees, trimmed of surrounding whitespace. A view
// into `response`.
absl::string_view ScopedResponse(RewardModelScope scope, absl::string_view response);

// A neural reward model, served by a worker. Implementations decide batching and transport; they
// must apply ScopedResponse(scope(), input.response) to each response before scoring.
// Thread-safety: implementation-defined (the scheduler calls Score from one thread at a time).
class RewardModelScorer {
 public:
  virtual ~RewardModelScorer() = default;

  virtual RewardModelScope scope() const = 0;

  // One scalar score per input, in input order (so the result has inputs.size() elements).
  // Errors: Unavailable when the serving worker cannot be reached (retry later), InvalidArgument
  // for inputs the model cannot take (e.g. too long), naming the input's index.
  virtual absl::StatusOr<std::vector<double>> Score(const std::vector<RewardInput>& inputs) = 0;
};

}  // namespace r1

#endif  // R1_STAGES_REWARDS_REWARD_MODEL_H_
