// The gRPC Scheduler service and its server (see scheduler_service.h).
#include "scheduler/scheduler_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "scheduler/registration.h"
#include "worker_api/worker_proto.h"

namespace r1 {
namespace {

// How often a waiting WatchStatus stream looks at client cancellation and Shutdown().
constexpr absl::Duration kWatchPoll = absl::Milliseconds(50);
constexpr absl::Duration kDefaultWatchInterval = absl::Milliseconds(500);

}  // namespace

SchedulerService::SchedulerService(WorkerRegistry* registry, StatusBoard* board, std::string token,
                                   std::function<void(const std::string& reason)> on_cancel)
    : registry_(registry),
      board_(board),
      token_(std::move(token)),
      on_cancel_(std::move(on_cancel)) {}

void SchedulerService::set_heartbeat_interval(absl::Duration d) {
  heartbeat_interval_ms_ = absl::ToInt64Milliseconds(d);
}

void SchedulerService::Shutdown() { shutdown_ = true; }

#define R1_CHECK_TOKEN()                                         \
  do {                                                           \
    grpc::Status token_status = CheckRunToken(*context, token_); \
    if (!token_status.ok()) return token_status;                 \
  } while (0)

grpc::Status SchedulerService::Register(grpc::ServerContext* context,
                                        const v1::RegisterRequest* request,
                                        v1::RegisterResponse* response) {
  R1_CHECK_TOKEN();
  absl::StatusOr<WorkerInfo> registered =
      registry_->Register(WorkerInfoFromRegisterRequest(*request));
  if (!registered.ok()) return ToGrpcStatus(registered.status());
  response->set_worker_id(registered->id);
  for (const std::string& role : registered->roles) response->add_roles(role);
  response->set_heartbeat_interval_ms(static_cast<int32_t>(heartbeat_interval_ms_.load()));
  response->set_dtype(dtype_);
  response->set_rollout_max_batch(rollout_max_batch_);
  response->set_group(registered->group);
  return grpc::Status::OK;
}

grpc::Status SchedulerService::Heartbeat(grpc::ServerContext* context,
                                         const v1::HeartbeatRequest* request,
                                         v1::HeartbeatResponse* response) {
  R1_CHECK_TOKEN();
  absl::Status status = registry_->Heartbeat(request->worker_id());
  if (absl::IsNotFound(status)) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("not a registered worker: ", status.message()));
  }
  if (!status.ok()) return ToGrpcStatus(status);
  response->set_keep_running(registry_->keep_running());
  return grpc::Status::OK;
}

grpc::Status SchedulerService::GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest*,
                                         v1::RunStatus* response) {
  R1_CHECK_TOKEN();
  *response = board_->Snapshot(registry_->Snapshot());
  return grpc::Status::OK;
}

grpc::Status SchedulerService::WatchStatus(grpc::ServerContext* context,
                                           const v1::WatchStatusRequest* request,
                                           grpc::ServerWriter<v1::RunStatus>* writer) {
  R1_CHECK_TOKEN();
  const absl::Duration min_interval = request->min_interval_ms() > 0
                                          ? absl::Milliseconds(request->min_interval_ms())
                                          : kDefaultWatchInterval;
  auto stopped = [&]() -> grpc::Status {
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "WatchStatus: the client went away");
    }
    if (shutdown_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "WatchStatus: the scheduler is stopping");
    }
    return grpc::Status::OK;
  };
  while (true) {
    // The version is read before the snapshot, so a change racing with it is sent again later.
    const int64_t version = board_->version();
    v1::RunStatus snapshot = board_->Snapshot(registry_->Snapshot());
    if (!writer->Write(snapshot)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "WatchStatus: the client went away");
    }
    if (snapshot.finished()) return grpc::Status::OK;
    const absl::Time sent_at = absl::Now();
    // Wait for a change...
    while (board_->WaitForChange(version, kWatchPoll) <= version) {
      grpc::Status s = stopped();
      if (!s.ok()) return s;
    }
    // ...then let min_interval pass since the last snapshot, unless the run finished.
    while (absl::Now() - sent_at < min_interval && !board_->finished()) {
      grpc::Status s = stopped();
      if (!s.ok()) return s;
      absl::SleepFor(std::min(kWatchPoll, min_interval - (absl::Now() - sent_at)));
    }
    grpc::Status s = stopped();
    if (!s.ok()) return s;
  }
}

grpc::Status SchedulerService::Cancel(grpc::ServerContext* context,
                                      const v1::CancelRequest* request, v1::CancelResponse*) {
  R1_CHECK_TOKEN();
  if (on_cancel_) on_cancel_(request->reason());
  return grpc::Status::OK;
}

#undef R1_CHECK_TOKEN

absl::StatusOr<std::unique_ptr<SchedulerServer>> SchedulerServer::Start(
    const std::string& address, SchedulerService* service, WorkerRegistry* registry,
    absl::Duration sweep_interval, std::function<void(const WorkerInfo&)> on_dead,
    std::shared_ptr<grpc::ServerCredentials> credentials) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("scheduler address \"", address, "\" is not HOST:PORT"));
  }
  std::unique_ptr<SchedulerServer> server(new SchedulerServer());
  server->service_ = service;
  server->registry_ = registry;
  server->sweep_interval_ = std::max(sweep_interval, absl::Milliseconds(1));
  server->on_dead_ = std::move(on_dead);
  service->shutdown_ = false;  // served again after an earlier server's shutdown
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(
      address, credentials != nullptr ? credentials : grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("the scheduler cannot listen on ", address, " (port taken or bad address?)"));
  }
  server->address_ = absl::StrCat(address.substr(0, colon), ":", port);
  server->sweeper_ = std::thread([s = server.get()] { s->SweepLoop(); });
  return server;
}

void SchedulerServer::SweepLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(sweep_interval_), [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    for (const WorkerInfo& dead : registry_->SweepDead()) {
      if (on_dead_) on_dead_(dead);
    }
    lock.lock();
  }
}

SchedulerServer::~SchedulerServer() {
  service_->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

}  // namespace r1
