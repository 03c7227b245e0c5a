// A worker group: several worker processes behind one WorkerClient, so that the stage loops do
// not know how many processes run them. Calls fan out in parallel, one thread per member:
//   - generation goes to the rollout members (the requests split into contiguous shares; streamed
//     generation hands each rollout over as soon as its member finished it),
//   - log-probs, scores and training steps go to the trainer members (data-parallel ranks: each
//     trains on its contiguous shard of the batch; the ranks all-reduce among themselves),
//   - the "policy" slot is loaded on every member, other slots on the trainers,
//   - saves go to trainer rank 0 (data-parallel ranks hold identical weights and optimizer),
//   - weight sync is called on every member at once (they join one broadcast; see
//     workers/local_worker.h) when some member is a rollout-only worker, and is free otherwise.
// Torch-free: the members are any WorkerClients (gRPC clients in `r1 run`, fakes in tests).
#ifndef R1_SCHEDULER_WORKER_GROUP_H_
#define R1_SCHEDULER_WORKER_GROUP_H_

#include <atomic>
#include <string>
#include <vector>

#include "worker_api/worker_client.h"

namespace r1 {

struct GroupMember {
  std::string id;                  // for messages ("w3")
  WorkerClient* client = nullptr;  // not owned
  bool trainer = false;            // a data-parallel trainer rank (holds reference/reward slots)
  bool rollout = false;            // generates with its copy of the policy
};

// Thread-safety: like every WorkerClient, one caller at a time, but for the exceptions of
// CanGenerateWhileTraining and CanScoreWhileGenerating; Cancel() may be called from any thread.
class WorkerGroup : public WorkerClient {
 public:
  // Trainers must appear in data-parallel rank order. InvalidArgument (from Validate) when there
  // is no trainer or no rollout member.
  explicit WorkerGroup(std::vector<GroupMember> members);

  absl::Status Validate() const;

  // Every later call fails with Cancelled (the run was cancelled). Calls in flight finish.
  void Cancel() { cancelled_ = true; }

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
  // Every generating member streams its share at once; rollouts reach `sink` (on this thread) in
  // the order they finish, whichever member finished them. Generate collects them in order.
  absl::Status GenerateStreaming(const std::string& slot,
                                 const std::vector<RolloutRequest>& requests,
                                 const RolloutSink& sink) override;
  absl::StatusOr<std::vector<std::vector<float>>> Logprobs(const std::string& slot,
                                                           const std::vector<TokenSeq>& prompts,
                                                           const std::vector<TokenSeq>& responses,
                                                           float temperature) override;
  // Returns trainer rank 0's metrics (the ranks report global metrics).
  absl::StatusOr<StepMetrics> TrainStep(const std::string& slot, const TrainBatch& batch) override;
  absl::StatusOr<std::vector<float>> Score(const std::string& slot,
                                           const std::vector<TokenSeq>& prompts,
                                           const std::vector<TokenSeq>& responses) override;
  absl::Status Save(const std::string& slot, const std::string& dir,
                    const std::string& trainer_state_json, bool weights_only) override;
  // bytes_moved: what the root sent (payload once per receiver); seconds: the slowest member.
  absl::StatusOr<SyncStats> SyncWeights() override;
  // True when the rollout members and the trainers are disjoint: Generate then reaches only
  // rollout members, and every trainer call only trainers.
  bool CanGenerateWhileTraining() const override { return generates_apart_; }
  // True in the same case: Tokenize and Score reach only trainers, none of which decodes.
  bool CanScoreWhileGenerating() const override { return generates_apart_; }

  // [begin, end) of share `index` out of `count` contiguous shares of `n` items: the first
  // n % count shares get one more item.
  static std::pair<size_t, size_t> Share(size_t n, size_t index, size_t count);

 private:
  absl::Status CheckCancelled() const;
  // Members holding `slot` (policy: all; others: trainers).
  std::vector<const GroupMember*> Holders(const std::string& slot) const;
  std::vector<const GroupMember*> Generators(const std::string& slot) const;
  // Splits (prompts, responses) over the trainers, calls `call(client, prompts, responses)` on
  // each share in parallel and concatenates the rows in order.
  template <typename Row, typename Call>
  absl::StatusOr<std::vector<Row>> OverTrainers(const char* what,
                                                const std::vector<TokenSeq>& prompts,
                                                const std::vector<TokenSeq>& responses, Call call);

  std::vector<GroupMember> members_;
  std::vector<const GroupMember*> trainers_;
  bool disaggregated_ = false;    // some member is rollout-only
  bool generates_apart_ = false;  // no member both trains and generates
  std::atomic<bool> cancelled_{false};
};

}  // namespace r1

#endif  // R1_SCHEDULER_WORKER_GROUP_H_
