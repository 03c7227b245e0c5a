// The gRPC Worker service (see worker_service.h).
#include "workers/service/worker_service.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "worker_api/request_limits.h"
#include "worker_api/worker_proto.h"

namespace r1 {

WorkerService::WorkerService(WorkerClient* backend, std::string token)
    : backend_(backend), token_(std::move(token)) {}

// The token, then a backend (a worker still starting answers UNAVAILABLE).
#define R1_CHECK_TOKEN()                                                                     \
  do {                                                                                       \
    grpc::Status token_status = CheckRunToken(*context, token_);                             \
    if (!token_status.ok()) return token_status;                                             \
    if (backend() == nullptr) {                                                              \
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "worker is starting (no backend)"); \
    }                                                                                        \
  } while (0)

grpc::Status WorkerService::LoadModel(grpc::ServerContext* context,
                                      const v1::LoadModelRequest* request, v1::LoadModelResponse*) {
  R1_CHECK_TOKEN();
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<OptimizerOptions> optimizer = FromProto(request->optimizer());
  if (request->trainable() && !optimizer.ok()) return ToGrpcStatus(optimizer.status());
  return ToGrpcStatus(backend()->LoadModel(request->model().slot(), request->model().path(),
                                           request->trainable() ? &*optimizer : nullptr,
                                           request->checkpoint_dir()));
}

grpc::Status WorkerService::InitModel(grpc::ServerContext* context,
                                      const v1::InitModelRequest* request, v1::LoadModelResponse*) {
  R1_CHECK_TOKEN();
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<OptimizerOptions> optimizer = FromProto(request->optimizer());
  if (request->trainable() && !optimizer.ok()) return ToGrpcStatus(optimizer.status());
  return ToGrpcStatus(backend()->InitModel(request->slot(), request->config_json(),
                                           request->tokenizer(), request->seed(),
                                           request->trainable() ? &*optimizer : nullptr));
}

grpc::Status WorkerService::Tokenize(grpc::ServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) {
  R1_CHECK_TOKEN();
  std::lock_guard<std::mutex> lock(mu_);
  auto ids = backend()->Tokenize({request->texts().begin(), request->texts().end()});
  if (!ids.ok()) return ToGrpcStatus(ids.status());
  auto eos = backend()->EosId();
  if (!eos.ok()) return ToGrpcStatus(eos.status());
  ToProto(*ids, response->mutable_ids());
  response->set_eos_id(*eos);
  return grpc::Status::OK;
}

grpc::Status WorkerService::Generate(grpc::ServerContext* context,
                                     const v1::GenerateRequest* request,
                                     grpc::ServerWriter<v1::Completion>* writer) {
  R1_CHECK_TOKEN();
  absl::Status limits = CheckGenerateRequest(*request);
  if (!limits.ok()) return ToGrpcStatus(limits);
  std::vector<RolloutRequest> requests(static_cast<size_t>(request->prompts_size()));
  for (int i = 0; i < request->prompts_size(); ++i) {
    requests[i].prompt.assign(request->prompts(i).ids().begin(), request->prompts(i).ids().end());
    requests[i].sampling = FromProto(request->params(i));
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Each completion is written as soon as its sequence finishes.
  absl::Status s = backend()->GenerateStreaming(
      request->slot(), requests, [&](size_t i, Rollout r) -> absl::Status {
        v1::Completion c;
        if (static_cast<int>(i) < request->request_ids_size()) {
          c.set_request_id(request->request_ids(static_cast<int>(i)));
        }
        c.mutable_response()->mutable_ids()->Assign(r.response.begin(), r.response.end());
        c.mutable_logprobs()->Assign(r.logprobs.begin(), r.logprobs.end());
        c.set_finish_reason(r.truncated ? "length" : "stop");
        c.set_text(std::move(r.text));
        if (!writer->Write(c)) return absl::CancelledError("Generate: the client went away");
        return absl::OkStatus();
      });
  if (!s.ok()) return ToGrpcStatus(s);
  return grpc::Status::OK;
}

grpc::Status WorkerService::ComputeLogprobs(grpc::ServerContext* context,
                                            const v1::LogprobsRequest* request,
                                            v1::LogprobsResponse* response) {
  R1_CHECK_TOKEN();
  absl::Status limits = CheckLogprobsRequest(*request);
  if (!limits.ok()) return ToGrpcStatus(limits);
  std::lock_guard<std::mutex> lock(mu_);
  // 0 (unset, an older client) means the model's own distribution.
  const float temperature = request->temperature() == 0.0f ? 1.0f : request->temperature();
  auto rows = backend()->Logprobs(request->slot(), FromProto(request->prompts()),
                                  FromProto(request->responses()), temperature);
  if (!rows.ok()) return ToGrpcStatus(rows.status());
  ToProto(*rows, response->mutable_logprobs());
  return grpc::Status::OK;
}

grpc::Status WorkerService::TrainStep(grpc::ServerContext* context,
                                      const v1::TrainStepRequest* request,
                                      v1::TrainStepResponse* response) {
  R1_CHECK_TOKEN();
  absl::Status limits = CheckTrainStepRequest(*request);
  if (!limits.ok()) return ToGrpcStatus(limits);
  TrainBatch batch;
  absl::Status parsed = FromProto(*request, &batch);
  if (!parsed.ok()) return ToGrpcStatus(parsed);
  std::lock_guard<std::mutex> lock(mu_);
  const auto start = std::chrono::steady_clock::now();
  auto metrics = backend()->TrainStep(request->slot(), batch);
  if (!metrics.ok()) return ToGrpcStatus(metrics.status());
  ToProto(*metrics, response->mutable_metrics());
  response->set_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return grpc::Status::OK;
}

grpc::Status WorkerService::SaveCheckpoint(grpc::ServerContext* context,
                                           const v1::SaveCheckpointRequest* request,
                                           v1::SaveCheckpointResponse*) {
  R1_CHECK_TOKEN();
  std::lock_guard<std::mutex> lock(mu_);
  return ToGrpcStatus(backend()->Save(request->slot(), request->dir(),
                                      request->trainer_state_json(), request->weights_only()));
}

grpc::Status WorkerService::SyncWeights(grpc::ServerContext* context, const v1::SyncWeightsRequest*,
                                        v1::SyncWeightsResponse* response) {
  R1_CHECK_TOKEN();
  std::lock_guard<std::mutex> lock(mu_);
  auto stats = backend()->SyncWeights();
  if (!stats.ok()) return ToGrpcStatus(stats.status());
  response->set_bytes_moved(stats->bytes_moved);
  response->set_seconds(stats->seconds);
  return grpc::Status::OK;
}

grpc::Status WorkerService::ScoreRewards(grpc::ServerContext* context,
                                         const v1::ScoreRequest* request,
                                         v1::ScoreResponse* response) {
  R1_CHECK_TOKEN();
  absl::Status limits = CheckScoreRequest(*request);
  if (!limits.ok()) return ToGrpcStatus(limits);
  std::lock_guard<std::mutex> lock(mu_);
  auto scores = backend()->Score(request->slot(), FromProto(request->prompts()),
                                 FromProto(request->responses()));
  if (!scores.ok()) return ToGrpcStatus(scores.status());
  response->mutable_scores()->Assign(scores->begin(), scores->end());
  return grpc::Status::OK;
}

grpc::Status WorkerService::Shutdown(grpc::ServerContext* context, const v1::ShutdownRequest*,
                                     v1::ShutdownResponse*) {
  grpc::Status token_status = CheckRunToken(*context, token_);
  if (!token_status.ok()) return token_status;
  shutdown_.store(true);
  return grpc::Status::OK;
}

}  // namespace r1
