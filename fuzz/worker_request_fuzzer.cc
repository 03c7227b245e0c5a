// Fuzzes the Worker service's handling of request messages up to the backend, without LibTorch or
// a network: bytes -> GenerateRequest / LogprobsRequest / ScoreRequest / TrainStepRequest (the
// first byte picks which), its limits (worker_api/request_limits.h) and its conversion
// (worker_api/worker_proto.h) exactly as WorkerService does. A request the limits accept converts
// into a batch whose padded size is within them; nothing crashes or allocates beyond them.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "worker_api/request_limits.h"
#include "worker_api/worker_proto.h"

namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "accepted request breaks the limits: %s\n", what);
  std::abort();
}

// Small limits, so that the fuzzer reaches them with inputs of a few kilobytes.
r1::WorkerRequestLimits FuzzLimits() {
  r1::WorkerRequestLimits limits;
  limits.max_sequences = 64;
  limits.max_padded_tokens = 4096;
  limits.max_new_tokens = 1024;
  return limits;
}

void CheckPadded(const std::vector<std::vector<const r1::TokenSeq*>>& rows, int64_t extra) {
  int64_t longest = 0;
  for (const auto& parts : rows) {
    int64_t length = extra;
    for (const r1::TokenSeq* part : parts) length += static_cast<int64_t>(part->size());
    longest = std::max(longest, length);
  }
  if (static_cast<int64_t>(rows.size()) > FuzzLimits().max_sequences) Fail("sequences");
  if (static_cast<int64_t>(rows.size()) * longest > FuzzLimits().max_padded_tokens) Fail("padded");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int kind = data[0] % 4;
  ++data;
  --size;
  const r1::WorkerRequestLimits limits = FuzzLimits();
  if (kind == 0) {
    r1::v1::GenerateRequest request;
    if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
    if (!r1::CheckGenerateRequest(request, limits).ok()) return 0;
    std::vector<r1::RolloutRequest> requests(static_cast<size_t>(request.prompts_size()));
    std::vector<std::vector<const r1::TokenSeq*>> rows;
    int64_t most_new_tokens = 0;
    for (int i = 0; i < request.prompts_size(); ++i) {
      requests[i].prompt.assign(request.prompts(i).ids().begin(), request.prompts(i).ids().end());
      requests[i].sampling = r1::FromProto(request.params(i));
      if (requests[i].sampling.max_new_tokens < 0) Fail("negative max_new_tokens");
      most_new_tokens = std::max<int64_t>(most_new_tokens, requests[i].sampling.max_new_tokens);
      rows.push_back({&requests[i].prompt});
    }
    if (most_new_tokens > limits.max_new_tokens) Fail("max_new_tokens");
    CheckPadded(rows, most_new_tokens);
  } else if (kind == 1 || kind == 2) {
    std::vector<r1::TokenSeq> prompts, responses;
    if (kind == 1) {
      r1::v1::LogprobsRequest request;
      if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
      if (!r1::CheckLogprobsRequest(request, limits).ok()) return 0;
      prompts = r1::FromProto(request.prompts());
      responses = r1::FromProto(request.responses());
    } else {
      r1::v1::ScoreRequest request;
      if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
      if (!r1::CheckScoreRequest(request, limits).ok()) return 0;
      prompts = r1::FromProto(request.prompts());
      responses = r1::FromProto(request.responses());
    }
    if (prompts.size() != responses.size()) Fail("prompts and responses differ in number");
    std::vector<std::vector<const r1::TokenSeq*>> rows;
    for (size_t i = 0; i < prompts.size(); ++i) rows.push_back({&prompts[i], &responses[i]});
    CheckPadded(rows, 0);
  } else {
    r1::v1::TrainStepRequest request;
    if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
    if (!r1::CheckTrainStepRequest(request, limits).ok()) return 0;
    r1::TrainBatch batch;
    if (!r1::FromProto(request, &batch).ok()) return 0;
    if (batch.prompts.size() != batch.responses.size()) Fail("prompts and responses differ");
    if (!batch.rejected.empty() && batch.rejected.size() != batch.prompts.size()) {
      Fail("rejected responses differ in number");
    }
    std::vector<std::vector<const r1::TokenSeq*>> rows;
    for (size_t i = 0; i < batch.prompts.size(); ++i) {
      rows.push_back({&batch.prompts[i], &batch.responses[i]});
      if (!batch.rejected.empty()) rows.back().push_back(&batch.rejected[i]);
    }
    CheckPadded(rows, 0);
  }
  return 0;
}
