// WorkerClient over gRPC (see grpc_worker_client.h).
#include "scheduler/grpc_worker_client.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "worker_api/worker_proto.h"

namespace r1 {

GrpcWorkerClient::GrpcWorkerClient(std::shared_ptr<grpc::Channel> channel,
                                   GrpcWorkerClientOptions options)
    : stub_(v1::Worker::NewStub(std::move(channel))), options_(std::move(options)) {}

std::shared_ptr<grpc::ClientContext> GrpcWorkerClient::NewContext(
    std::optional<std::chrono::seconds> deadline) {
  auto context = std::make_shared<grpc::ClientContext>();
  context->AddMetadata(kTokenMetadataKey, options_.token);
  context->set_deadline(std::chrono::system_clock::now() + deadline.value_or(options_.deadline));
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_ = context;
  if (cancelled_) context->TryCancel();
  return context;
}

absl::Status GrpcWorkerClient::Finish(const grpc::Status& status) {
  absl::Status s = FromGrpcStatus(status);
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_ && absl::IsCancelled(s)) {
    // Not the run's cancel: the scheduler gave up on this worker. Retryable, like a lost worker.
    return absl::UnavailableError("worker declared dead; call cancelled by the scheduler");
  }
  return s;
}

void GrpcWorkerClient::CancelAll() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (std::shared_ptr<grpc::ClientContext> context = in_flight_.lock()) context->TryCancel();
}

absl::Status GrpcWorkerClient::LoadModel(const std::string& slot, const std::string& model_dir,
                                         const OptimizerOptions* optimizer,
                                         const std::string& checkpoint_dir) {
  v1::LoadModelRequest request;
  request.mutable_model()->set_slot(slot);
  request.mutable_model()->set_path(model_dir);
  request.set_trainable(optimizer != nullptr);
  if (optimizer != nullptr) ToProto(*optimizer, request.mutable_optimizer());
  request.set_checkpoint_dir(checkpoint_dir);
  v1::LoadModelResponse response;
  return Finish(stub_->LoadModel(NewContext().get(), request, &response));
}

absl::Status GrpcWorkerClient::InitModel(const std::string& slot, const std::string& hf_config_json,
                                         const std::string& tokenizer, uint64_t seed,
                                         const OptimizerOptions* optimizer) {
  v1::InitModelRequest request;
  request.set_slot(slot);
  request.set_config_json(hf_config_json);
  request.set_tokenizer(tokenizer);
  request.set_seed(seed);
  request.set_trainable(optimizer != nullptr);
  if (optimizer != nullptr) ToProto(*optimizer, request.mutable_optimizer());
  v1::LoadModelResponse response;
  return Finish(stub_->InitModel(NewContext().get(), request, &response));
}

absl::StatusOr<std::vector<TokenSeq>> GrpcWorkerClient::Tokenize(
    const std::vector<std::string>& texts) {
  v1::TokenizeRequest request;
  for (const auto& t : texts) request.add_texts(t);
  v1::TokenizeResponse response;
  absl::Status s = Finish(stub_->Tokenize(NewContext().get(), request, &response));
  if (!s.ok()) return s;
  return FromProto(response.ids());
}

absl::StatusOr<int32_t> GrpcWorkerClient::EosId() {
  v1::TokenizeRequest request;
  v1::TokenizeResponse response;
  absl::Status s = Finish(stub_->Tokenize(NewContext().get(), request, &response));
  if (!s.ok()) return s;
  return response.eos_id();
}

absl::StatusOr<std::vector<Rollout>> GrpcWorkerClient::Generate(
    const std::string& slot, const std::vector<RolloutRequest>& requests) {
  return CollectStreamed(slot, requests);
}

absl::Status GrpcWorkerClient::GenerateStreaming(const std::string& slot,
                                                 const std::vector<RolloutRequest>& requests,
                                                 const RolloutSink& sink) {
  v1::GenerateRequest request;
  request.set_slot(slot);
  for (size_t i = 0; i < requests.size(); ++i) {
    request.add_prompts()->mutable_ids()->Assign(requests[i].prompt.begin(),
                                                 requests[i].prompt.end());
    ToProto(requests[i].sampling, request.add_params());
    request.add_request_ids(std::to_string(i));
  }
  auto context = NewContext();
  auto reader = stub_->Generate(context.get(), request);
  // Ends the call early: the stream is cancelled and drained before returning `error`.
  auto abandon = [&](absl::Status error) {
    context->TryCancel();
    reader->Finish().ok();
    return error;
  };
  std::vector<bool> seen(requests.size(), false);
  v1::Completion c;
  while (reader->Read(&c)) {
    size_t i = 0;
    if (!absl::SimpleAtoi(c.request_id(), &i) || i >= seen.size() || seen[i]) {
      return abandon(absl::DataLossError(
          absl::StrCat("Generate: unexpected completion id \"", c.request_id(), "\"")));
    }
    seen[i] = true;
    Rollout r;
    r.response.assign(c.response().ids().begin(), c.response().ids().end());
    r.logprobs.assign(c.logprobs().begin(), c.logprobs().end());
    r.truncated = c.finish_reason() == "length";
    r.text = c.text();
    absl::Status s = sink(i, std::move(r));
    if (!s.ok()) return abandon(s);
  }
  absl::Status s = Finish(reader->Finish());
  if (!s.ok()) return s;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) return absl::DataLossError(absl::StrCat("Generate: no completion for ", i));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<float>>> GrpcWorkerClient::Logprobs(
    const std::string& slot, const std::vector<TokenSeq>& prompts,
    const std::vector<TokenSeq>& responses, float temperature) {
  v1::LogprobsRequest request;
  request.set_slot(slot);
  request.set_temperature(temperature);
  ToProto(prompts, request.mutable_prompts());
  ToProto(responses, request.mutable_responses());
  v1::LogprobsResponse response;
  absl::Status s = Finish(stub_->ComputeLogprobs(NewContext().get(), request, &response));
  if (!s.ok()) return s;
  return FromProto(response.logprobs());
}

absl::StatusOr<StepMetrics> GrpcWorkerClient::TrainStep(const std::string& slot,
                                                        const TrainBatch& batch) {
  v1::TrainStepRequest request;
  ToProto(slot, batch, &request);
  v1::TrainStepResponse response;
  absl::Status s = Finish(stub_->TrainStep(NewContext().get(), request, &response));
  if (!s.ok()) return s;
  return FromProto(response.metrics());
}

absl::StatusOr<std::vector<float>> GrpcWorkerClient::Score(const std::string& slot,
                                                           const std::vector<TokenSeq>& prompts,
                                                           const std::vector<TokenSeq>& responses) {
  v1::ScoreRequest request;
  request.set_slot(slot);
  ToProto(prompts, request.mutable_prompts());
  ToProto(responses, request.mutable_responses());
  v1::ScoreResponse response;
  absl::Status s = Finish(stub_->ScoreRewards(NewContext().get(), request, &response));
  if (!s.ok()) return s;
  return std::vector<float>(response.scores().begin(), response.scores().end());
}

absl::Status GrpcWorkerClient::Save(const std::string& slot, const std::string& dir,
                                    const std::string& trainer_state_json, bool weights_only) {
  v1::SaveCheckpointRequest request;
  request.set_slot(slot);
  request.set_dir(dir);
  request.set_trainer_state_json(trainer_state_json);
  request.set_weights_only(weights_only);
  v1::SaveCheckpointResponse response;
  return Finish(stub_->SaveCheckpoint(NewContext().get(), request, &response));
}

absl::StatusOr<SyncStats> GrpcWorkerClient::SyncWeights() {
  v1::SyncWeightsRequest request;
  v1::SyncWeightsResponse response;
  absl::Status s = Finish(stub_->SyncWeights(NewContext().get(), request, &response));
  if (!s.ok()) return s;
  return SyncStats{response.bytes_moved(), response.seconds()};
}

absl::Status GrpcWorkerClient::Shutdown() {
  v1::ShutdownRequest request;
  v1::ShutdownResponse response;
  return Finish(stub_->Shutdown(NewContext(std::chrono::seconds(10)).get(), request, &response));
}

absl::Status GrpcWorkerClient::Ping(std::chrono::seconds deadline) {
  v1::TokenizeRequest request;
  v1::TokenizeResponse response;
  absl::Status s = Finish(stub_->Tokenize(NewContext(deadline).get(), request, &response));
  // Any answer from the process (no model loaded yet, ...) proves it is alive.
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsCancelled(s) ||
      absl::IsUnauthenticated(s)) {
    return s;
  }
  return absl::OkStatus();
}

}  // namespace r1
