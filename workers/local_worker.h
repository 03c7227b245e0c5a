// An in-process worker: the Worker service's operations (worker_api/worker_client.h) run directly
// on models held in this process. Alone it is the colocated (hybrid) placement of DESIGN.md —
// policy, rollout copy and reference share one process, so weight sync moves nothing; given
// communicators it is one rank of data-parallel training and/or of the disaggregated weight sync.
// It is what the gRPC Worker service calls into.
#ifndef R1_WORKERS_LOCAL_WORKER_H_
#define R1_WORKERS_LOCAL_WORKER_H_

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "worker_api/worker_client.h"
#include "workers/comm/communicator.h"

namespace r1 {

struct LocalWorkerOptions {
  // Generate each request alone: tokens are bit-identical whatever else is in the batch, at a
  // large cost in speed. Batched generation (the default) draws each request's randomness from
  // its own seed, so tokens agree across batch compositions up to float rounding of padded
  // matmuls; a resumed stage replays the same batches, so resume stays exact either way.
  bool per_request_generation = false;
  // Rows of the decode batch (GenerateOptions::max_batch): at most this many sequences decode
  // together, a finished one's row going to the next waiting request. 0 = all requests at once.
  int32_t generation_batch = 0;
  // Where every tensor of every slot lives: "cpu" or "cuda:N" (a concrete ordinal; `r1 worker`
  // resolves "cuda" to its launcher's local rank with ResolveWorkerDevice, workers/device.h).
  std::string device = "cpu";
  // Compute dtype of the models: "float32" or "bfloat16" ("float64" is accepted for tests: the CPU
  // stand-in for a device mismatch). Trainable bfloat16 slots keep float32 master weights and
  // AdamW state; log-probs, losses and the KL are computed in float32 (at least).
  std::string dtype = "float32";
  // The data-parallel group of trainer ranks (not owned; must outlive the worker). Null or size 1
  // = single-process training. See LocalWorker::TrainStep. A communicator whose backend carries
  // host tensors ("mpi", "single") with models on a GPU is fed staged host copies; "nccl" carries
  // the device tensors themselves.
  Communicator* trainer_comm = nullptr;
  // The weight-sync group: trainer rank 0 (its rank 0) and the rollout-only workers (not owned).
  // Null = colocated placement: SyncWeights moves nothing.
  Communicator* weight_sync_comm = nullptr;
  // Bound on each collective of TrainStep and SyncWeights; past it the call fails with
  // DeadlineExceeded and the communicator is broken (a peer died or hung).
  absl::Duration collective_timeout = kDefaultCollectiveTimeout;
};

// Slots: "policy" (trainable), "reference" (frozen), "reward" (a model with a scalar head,
// `score.weight` [1, C] as in transformers' *ForSequenceClassification; created at zero when the
// loaded directory has none). Thread-safety: not thread-safe; one caller at a time.
class LocalWorker : public WorkerClient {
 public:
  explicit LocalWorker(LocalWorkerOptions options = {});
  ~LocalWorker() override;

  absl::Status LoadModel(const std::string& slot, const std::string& model_dir,
                         const OptimizerOptions* optimizer,
                         const std::string& checkpoint_dir) override;
  absl::Status InitModel(const std::string& slot, const std::string& hf_config_json,
                         const std::string& tokenizer, uint64_t seed,
                         const OptimizerOptions* optimizer) override;
  absl::StatusOr<std::vector<TokenSeq>> Tokenize(const std::vector<std::string>& texts) override;
  absl::StatusOr<int32_t> EosId() override;
  absl::StatusOr<std::vector<Rollout>> Generate(
      const std::string& slot, const std::vector<RolloutRequest>& requests) override;
  // Streams each rollout as its sequence finishes (continuous batching, model/generate.h).
  absl::Status GenerateStreaming(const std::string& slot,
                                 const std::vector<RolloutRequest>& requests,
                                 const RolloutSink& sink) override;
  absl::StatusOr<std::vector<std::vector<float>>> Logprobs(const std::string& slot,
                                                           const std::vector<TokenSeq>& prompts,
                                                           const std::vector<TokenSeq>& responses,
                                                           float temperature) override;
  // One optimizer step. With a trainer_comm of size W > 1 this is one rank of data-parallel
  // training: `batch` is this rank's shard (W contiguous shards of the global batch; a shard may be
  // empty and must still be passed, since every rank joins every collective). The step equals
  // single-process training on the global batch: the counts that normalise the loss (tokens,
  // sequences with a response, pairs, the longest response) are all-reduced first, each rank's
  // loss is scaled so that the averaged gradients are the global ones, gradients are all-reduced,
  // then clipped (same global norm everywhere) and stepped. The metrics returned are the global
  // ones, identical on every rank. A rank that fails (bad shard, LibTorch error) makes every rank
  // fail the step: the failing rank returns its own error, the others Aborted; a collective past
  // its timeout gives DeadlineExceeded. Policy-gradient steps also report "entropy": the mean
  // per-token entropy of the current policy over response tokens (no gradient).
  absl::StatusOr<StepMetrics> TrainStep(const std::string& slot, const TrainBatch& batch) override;
  absl::StatusOr<std::vector<float>> Score(const std::string& slot,
                                           const std::vector<TokenSeq>& prompts,
                                           const std::vector<TokenSeq>& responses) override;
  absl::Status Save(const std::string& slot, const std::string& dir,
                    const std::string& trainer_state_json, bool weights_only) override;
  // Without a weight_sync_comm (colocated): {0, 0}, nothing moves. With one: the "policy" slot's
  // parameters of the group's rank 0 (trainer rank 0) are broadcast to every member, which must all
  // call this at the same time and hold a "policy" slot of the same architecture (checked first
  // with one all-gather; FailedPrecondition naming the rank that differs). Returns the bytes
  // received or sent and the seconds taken; DeadlineExceeded past collective_timeout.
  absl::StatusOr<SyncStats> SyncWeights() override;

  // Drops a slot's model (frees its memory). OK if absent.
  void Unload(const std::string& slot);

  struct Slot;  // defined in local_worker.cc (holds LibTorch objects)

 private:
  absl::StatusOr<Slot*> FindSlot(const std::string& slot);
  // Makes `slot` trainable with `optimizer` (restoring its state from `checkpoint_dir` if given)
  // or frozen (null), and stores it under its name.
  absl::Status Install(std::unique_ptr<Slot> slot, const OptimizerOptions* optimizer,
                       const std::string& checkpoint_dir);

  LocalWorkerOptions options_;
  // options_.device / options_.dtype parsed once; placement_ is their error when malformed (every
  // model operation then fails with it).
  absl::Status placement_;
  c10::Device device_{c10::kCPU};
  c10::ScalarType dtype_ = c10::kFloat;
  std::map<std::string, std::unique_ptr<Slot>> slots_;
};

}  // namespace r1

#endif  // R1_WORKERS_LOCAL_WORKER_H_
