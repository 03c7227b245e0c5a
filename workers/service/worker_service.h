// The gRPC Worker service (proto/r1/v1/worker.proto): converts messages to domain structs and
// calls a WorkerClient backend (a LocalWorker in `r1 worker`; a fake in tests). Refuses calls
// that do not carry the run's token. Calls are served one at a time: the backend owns models and
// optimizer state that a second concurrent call must not see half-updated.
#ifndef R1_WORKERS_SERVICE_WORKER_SERVICE_H_
#define R1_WORKERS_SERVICE_WORKER_SERVICE_H_

#include <atomic>
#include <mutex>
#include <string>

#include "r1/v1/worker.grpc.pb.h"
#include "worker_api/worker_client.h"

namespace r1 {

class WorkerService final : public v1::Worker::Service {
 public:
  // `backend` must outlive the service; it may be null until set_backend() (a worker that must
  // bind its address before it can build its backend); calls meanwhile get UNAVAILABLE.
  // `token` is the run's secret (non-empty).
  WorkerService(WorkerClient* backend, std::string token);

  void set_backend(WorkerClient* backend) { backend_.store(backend); }

  // True once a Shutdown call was served; the owner then stops the server.
  bool shutdown_requested() const { return shutdown_.load(); }

  grpc::Status LoadModel(grpc::ServerContext* context, const v1::LoadModelRequest* request,
                         v1::LoadModelResponse* response) override;
  grpc::Status InitModel(grpc::ServerContext* context, const v1::InitModelRequest* request,
                         v1::LoadModelResponse* response) override;
  grpc::Status Tokenize(grpc::ServerContext* context, const v1::TokenizeRequest* request,
                        v1::TokenizeResponse* response) override;
  grpc::Status Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                        grpc::ServerWriter<v1::Completion>* writer) override;
  grpc::Status ComputeLogprobs(grpc::ServerContext* context, const v1::LogprobsRequest* request,
                               v1::LogprobsResponse* response) override;
  grpc::Status TrainStep(grpc::ServerContext* context, const v1::TrainStepRequest* request,
                         v1::TrainStepResponse* response) override;
  grpc::Status SaveCheckpoint(grpc::ServerContext* context,
                              const v1::SaveCheckpointRequest* request,
                              v1::SaveCheckpointResponse* response) override;
  grpc::Status SyncWeights(grpc::ServerContext* context, const v1::SyncWeightsRequest* request,
                           v1::SyncWeightsResponse* response) override;
  grpc::Status ScoreRewards(grpc::ServerContext* context, const v1::ScoreRequest* request,
                            v1::ScoreResponse* response) override;
  grpc::Status Shutdown(grpc::ServerContext* context, const v1::ShutdownRequest* request,
                        v1::ShutdownResponse* response) override;

 private:
  WorkerClient* backend() const { return backend_.load(); }

  std::atomic<WorkerClient*> backend_;
  std::string token_;
  std::mutex mu_;  // one call at a time into backend_
  std::atomic<bool> shutdown_{false};
};

}  // namespace r1

#endif  // R1_WORKERS_SERVICE_WORKER_SERVICE_H_
