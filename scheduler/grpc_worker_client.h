// WorkerClient over gRPC: the scheduler's stage loops drive a remote worker (`r1 worker`) through
// the same interface as the in-process LocalWorker. Every call carries the run's token and a
// deadline; a worker that is gone surfaces as Unavailable / DeadlineExceeded, which the executor
// treats as a retryable stage failure.
#ifndef R1_SCHEDULER_GRPC_WORKER_CLIENT_H_
#define R1_SCHEDULER_GRPC_WORKER_CLIENT_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "r1/v1/worker.grpc.pb.h"
#include "worker_api/worker_client.h"

namespace r1 {

struct GrpcWorkerClientOptions {
  std::string token;  // the run's secret, sent as "r1-token" metadata
  // Per-call deadline. Generation and training steps of real models take long: keep it generous.
  std::chrono::seconds deadline{3600};
};

// Thread-safety: like every WorkerClient, one caller at a time (CancelAll aside).
class GrpcWorkerClient : public WorkerClient {
 public:
  GrpcWorkerClient(std::shared_ptr<grpc::Channel> channel, GrpcWorkerClientOptions options);

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
  // Hands each completion to `sink` as it arrives: the worker streams them as sequences finish.
  absl::Status GenerateStreaming(const std::string& slot,
                                 const std::vector<RolloutRequest>& requests,
                                 const RolloutSink& sink) override;
  absl::StatusOr<std::vector<std::vector<float>>> Logprobs(const std::string& slot,
                                                           const std::vector<TokenSeq>& prompts,
                                                           const std::vector<TokenSeq>& responses,
                                                           float temperature) override;
  absl::StatusOr<StepMetrics> TrainStep(const std::string& slot, const TrainBatch& batch) override;
  absl::StatusOr<std::vector<float>> Score(const std::string& slot,
                                           const std::vector<TokenSeq>& prompts,
                                           const std::vector<TokenSeq>& responses) override;
  absl::Status Save(const std::string& slot, const std::string& dir,
                    const std::string& trainer_state_json, bool weights_only) override;
  absl::StatusOr<SyncStats> SyncWeights() override;

  // Asks the worker process to exit.
  absl::Status Shutdown();

  // Whether the worker process serves within `deadline`: OK when it answers (whatever it says),
  // Unavailable / DeadlineExceeded / Cancelled when it does not or is still starting.
  absl::Status Ping(std::chrono::seconds deadline);

  // Cancels the call in flight (it returns Cancelled) and makes every later call fail the same
  // way: the scheduler gives up on this worker (declared dead). Thread-safe: may be called while
  // another thread is inside a call.
  void CancelAll();

 private:
  // A context with the token and the deadline (options_.deadline unless given), remembered as
  // the call in flight.
  std::shared_ptr<grpc::ClientContext> NewContext(
      std::optional<std::chrono::seconds> deadline = std::nullopt);
  // The call's status; Cancelled after CancelAll() becomes Unavailable (a dead worker).
  absl::Status Finish(const grpc::Status& status);

  std::unique_ptr<v1::Worker::Stub> stub_;
  GrpcWorkerClientOptions options_;
  std::mutex mu_;
  std::weak_ptr<grpc::ClientContext> in_flight_;  // guarded by mu_
  bool cancelled_ = false;                        // guarded by mu_
};

}  // namespace r1

#endif  // R1_SCHEDULER_GRPC_WORKER_CLIENT_H_
