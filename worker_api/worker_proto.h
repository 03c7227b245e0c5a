// Conversions between the WorkerClient domain structs (worker_client.h) and the r1.v1 Worker
// messages, and between absl::Status and grpc::Status — in one place, so the gRPC service
// (workers/worker_service.h) and the gRPC client (scheduler/grpc_worker_client.h) agree.
#ifndef R1_WORKER_API_WORKER_PROTO_H_
#define R1_WORKER_API_WORKER_PROTO_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "r1/v1/worker.pb.h"
#include "worker_api/worker_client.h"

namespace r1 {

// The metadata key every RPC carries the run's secret token in.
inline constexpr char kTokenMetadataKey[] = "r1-token";

// Server side: OK when the call's metadata carries `token` under kTokenMetadataKey (compared in
// constant time), else UNAUTHENTICATED. `token` must be non-empty.
grpc::Status CheckRunToken(const grpc::ServerContext& context, const std::string& token);

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

void ToProto(const std::vector<TokenSeq>& seqs,
             google::protobuf::RepeatedPtrField<v1::TokenIds>* out);
std::vector<TokenSeq> FromProto(const google::protobuf::RepeatedPtrField<v1::TokenIds>& ids);

void ToProto(const std::vector<std::vector<float>>& rows,
             google::protobuf::RepeatedPtrField<v1::FloatRow>* out);
std::vector<std::vector<float>> FromProto(
    const google::protobuf::RepeatedPtrField<v1::FloatRow>& rows);

void ToProto(const Sampling& sampling, v1::SamplingParams* out);
Sampling FromProto(const v1::SamplingParams& params);

void ToProto(const OptimizerOptions& options, v1::OptimizerConfig* out);
// InvalidArgument for an unknown schedule name.
absl::StatusOr<OptimizerOptions> FromProto(const v1::OptimizerConfig& config);

void ToProto(const std::string& slot, const TrainBatch& batch, v1::TrainStepRequest* out);
// InvalidArgument for an unknown objective.
absl::Status FromProto(const v1::TrainStepRequest& request, TrainBatch* batch);

void ToProto(const StepMetrics& metrics, google::protobuf::RepeatedPtrField<v1::Metric>* out);
StepMetrics FromProto(const google::protobuf::RepeatedPtrField<v1::Metric>& metrics);

}  // namespace r1

#endif  // R1_WORKER_API_WORKER_PROTO_H_
