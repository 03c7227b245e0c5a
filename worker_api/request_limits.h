// Bounds a Worker enforces on each incoming request before it converts or allocates anything for
// it, so that a hostile or corrupt message (a huge batch, one absurdly long sequence padding every
// row, an absurd max_new_tokens, negative sizes) is refused with a status naming the limit instead
// of exhausting the worker's memory. The model-specific checks (token ids inside the vocabulary,
// prompt + max_new_tokens inside the model's context) are the backend's: model/generate.cc,
// model/logprobs.cc, workers/local_worker.cc.
#ifndef R1_WORKER_API_REQUEST_LIMITS_H_
#define R1_WORKER_API_REQUEST_LIMITS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "r1/v1/worker.pb.h"

namespace r1 {

struct WorkerRequestLimits {
  // Sequences (prompts, or preference pairs) in one request.
  int64_t max_sequences = 1 << 16;
  // Rows x longest row of the padded batch a request becomes (prompt + response, or prompt +
  // max_new_tokens for generation: the KV cache): the worker allocates several tensors of it.
  int64_t max_padded_tokens = 1 << 25;
  // max_new_tokens of one generation request.
  int64_t max_new_tokens = 1 << 20;
};

// Each check: OK, InvalidArgument for a malformed request (mismatched counts, a negative size),
// or ResourceExhausted naming the exceeded limit and the request's value.
absl::Status CheckGenerateRequest(const v1::GenerateRequest& request,
                                  const WorkerRequestLimits& limits = {});
absl::Status CheckLogprobsRequest(const v1::LogprobsRequest& request,
                                  const WorkerRequestLimits& limits = {});
absl::Status CheckScoreRequest(const v1::ScoreRequest& request,
                               const WorkerRequestLimits& limits = {});
absl::Status CheckTrainStepRequest(const v1::TrainStepRequest& request,
                                   const WorkerRequestLimits& limits = {});

}  // namespace r1

#endif  // R1_WORKER_API_REQUEST_LIMITS_H_
