// Request bounds of the Worker service (see request_limits.h).
#include "worker_api/request_limits.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace r1 {
namespace {

using TokenIdsList = google::protobuf::RepeatedPtrField<v1::TokenIds>;

absl::Status CheckSequenceCount(absl::string_view rpc, int64_t count,
                                const WorkerRequestLimits& limits) {
  if (count > limits.max_sequences) {
    return absl::ResourceExhaustedError(absl::StrCat(
        rpc, ": ", count, " sequences exceed the limit of ", limits.max_sequences, " per request"));
  }
  return absl::OkStatus();
}

// rows x longest must stay within limits.max_padded_tokens (no overflow: both factors are below
// 2^31).
absl::Status CheckPadded(absl::string_view rpc, int64_t rows, int64_t longest,
                         const WorkerRequestLimits& limits) {
  if (rows * longest > limits.max_padded_tokens) {
    return absl::ResourceExhaustedError(
        absl::StrCat(rpc, ": the padded batch of ", rows, " sequences x ", longest,
                     " tokens exceeds the limit of ", limits.max_padded_tokens, " tokens"));
  }
  return absl::OkStatus();
}

// Checks a batch of sequences made of one part from each list (prompt + response, ...): the lists
// hold the same number of sequences, and the padded batch is within the limits.
absl::Status CheckSequences(absl::string_view rpc, const std::vector<const TokenIdsList*>& parts,
                            const std::vector<absl::string_view>& names,
                            const WorkerRequestLimits& limits) {
  const int64_t rows = parts.front()->size();
  for (size_t k = 1; k < parts.size(); ++k) {
    if (parts[k]->size() != rows) {
      return absl::InvalidArgumentError(absl::StrCat(rpc, ": ", rows, " ", names.front(), " but ",
                                                     parts[k]->size(), " ", names[k]));
    }
  }
  absl::Status count = CheckSequenceCount(rpc, rows, limits);
  if (!count.ok()) return count;
  int64_t longest = 0;
  for (int64_t i = 0; i < rows; ++i) {
    int64_t length = 0;
    for (const TokenIdsList* part : parts) length += part->Get(static_cast<int>(i)).ids_size();
    longest = std::max(longest, length);
  }
  return CheckPadded(rpc, rows, longest, limits);
}

}  // namespace

absl::Status CheckGenerateRequest(const v1::GenerateRequest& request,
                                  const WorkerRequestLimits& limits) {
  const int64_t rows = request.prompts_size();
  if (request.params_size() != rows) {
    return absl::InvalidArgumentError(absl::StrCat("Generate: ", rows, " prompts but ",
                                                   request.params_size(),
                                                   " SamplingParams (one per prompt is required)"));
  }
  absl::Status count = CheckSequenceCount("Generate", rows, limits);
  if (!count.ok()) return count;
  int64_t longest_prompt = 0;
  int64_t most_new_tokens = 0;
  for (int i = 0; i < request.prompts_size(); ++i) {
    const int64_t max_new_tokens = request.params(i).max_new_tokens();
    if (max_new_tokens < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Generate: prompt ", i, ": max_new_tokens ", max_new_tokens, " < 0"));
    }
    if (max_new_tokens > limits.max_new_tokens) {
      return absl::ResourceExhaustedError(absl::StrCat("Generate: prompt ", i, ": max_new_tokens ",
                                                       max_new_tokens, " exceeds the limit of ",
                                                       limits.max_new_tokens));
    }
    longest_prompt = std::max<int64_t>(longest_prompt, request.prompts(i).ids_size());
    most_new_tokens = std::max(most_new_tokens, max_new_tokens);
  }
  return CheckPadded("Generate", rows, longest_prompt + most_new_tokens, limits);
}

absl::Status CheckLogprobsRequest(const v1::LogprobsRequest& request,
                                  const WorkerRequestLimits& limits) {
  return CheckSequences("ComputeLogprobs", {&request.prompts(), &request.responses()},
                        {"prompts", "responses"}, limits);
}

absl::Status CheckScoreRequest(const v1::ScoreRequest& request, const WorkerRequestLimits& limits) {
  return CheckSequences("ScoreRewards", {&request.prompts(), &request.responses()},
                        {"prompts", "responses"}, limits);
}

absl::Status CheckTrainStepRequest(const v1::TrainStepRequest& request,
                                   const WorkerRequestLimits& limits) {
  std::vector<const TokenIdsList*> parts = {&request.prompts(), &request.responses()};
  std::vector<absl::string_view> names = {"prompts", "responses"};
  // The rejected responses of reward-model pairs are batched beside the chosen ones.
  if (request.rejected_size() > 0) {
    parts.push_back(&request.rejected());
    names.push_back("rejected responses");
  }
  return CheckSequences("TrainStep", parts, names, limits);
}

}  // namespace r1
