// WorkerClient over gRPC: the scheduler's stage loops drive a remote worker (`r1 worker`) through
// the same interface as the in-process LocalWorker. Every call carries the run's token and a
// deadline; a worker that is gone surfaces as Unavailable / DeadlineExceeded, which the executor
// treats as a retryable stage failure.
#ifndef R1_SCHEDULER_GRPC_WORKER_CLIENT_H_
#define R1_SCHEDULER_GRPC_WORKER_CLIENT_H_

#include <chrono>
#include <memory>
#include <string>

#include "r1/v1/worker.grpc.pb.h"
#include "stages/worker_client.h"

namespace r1 {

struct GrpcWorkerClientOptions {
  std::string token;  // the run's secret, sent as "r1-token" metadata
  // Per-call deadline. Generation and training steps of real models take long: keep it generous.
  std::chrono::seconds deadline{3600};
};

// Thread-safety: like every WorkerClient, one caller at a time.
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

  // Asks the worker process to exit.
  absl::Status Shutdown();

 private:
  // A context with the token and the deadline.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

  std::unique_ptr<v1::Worker::Stub> stub_;
  GrpcWorkerClientOptions options_;
};

}  // namespace r1

#endif  // R1_SCHEDULER_GRPC_WORKER_CLIENT_H_
