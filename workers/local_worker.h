// An in-process worker: the Worker service's operations (stages/worker_client.h) run directly on
// models held in this process. It is the colocated (hybrid) placement of DESIGN.md — policy,
// rollout copy and reference share one process, so weight sync moves nothing — and it is what the
// gRPC Worker service calls into.
#ifndef R1_WORKERS_LOCAL_WORKER_H_
#define R1_WORKERS_LOCAL_WORKER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stages/worker_client.h"

namespace r1 {

struct LocalWorkerOptions {
  // Generate each request alone: tokens are bit-identical whatever else is in the batch, at a
  // large cost in speed. Batched generation (the default) draws each request's randomness from
  // its own seed, so tokens agree across batch compositions up to float rounding of padded
  // matmuls; a resumed stage replays the same batches, so resume stays exact either way.
  bool per_request_generation = false;
  // Sequences per forward/backward inside one TrainStep (gradients accumulate); 0 = all at once.
  int64_t micro_batch_size = 0;
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
  absl::StatusOr<std::vector<std::vector<float>>> Logprobs(
      const std::string& slot, const std::vector<TokenSeq>& prompts,
      const std::vector<TokenSeq>& responses) override;
  absl::StatusOr<StepMetrics> TrainStep(const std::string& slot, const TrainBatch& batch) override;
  absl::StatusOr<std::vector<float>> Score(const std::string& slot,
                                           const std::vector<TokenSeq>& prompts,
                                           const std::vector<TokenSeq>& responses) override;
  absl::Status Save(const std::string& slot, const std::string& dir,
                    const std::string& trainer_state_json, bool weights_only) override;
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
  std::map<std::string, std::unique_ptr<Slot>> slots_;
};

}  // namespace r1

#endif  // R1_WORKERS_LOCAL_WORKER_H_
