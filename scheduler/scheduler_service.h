// The gRPC Scheduler service (proto/r1/v1/scheduler.proto) over a WorkerRegistry and a
// StatusBoard, and SchedulerServer, which hosts it on a port with a dead-worker sweeper thread.
#ifndef R1_SCHEDULER_SCHEDULER_SERVICE_H_
#define R1_SCHEDULER_SCHEDULER_SERVICE_H_

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "r1/v1/scheduler.grpc.pb.h"
#include "scheduler/status_board.h"
#include "scheduler/worker_registry.h"

namespace r1 {

// Thread-safety: the RPCs run on gRPC's threads concurrently; the registry and board lock
// themselves; set_heartbeat_interval and Shutdown may be called from any thread.
class SchedulerService final : public v1::Scheduler::Service {
 public:
  // registry/board must outlive the service. on_cancel is called once per Cancel RPC (reason),
  // on the RPC's thread; it may be empty. The service does nothing else on Cancel: stopping the
  // stages and telling workers (registry->set_keep_running(false)) is the caller's business.
  SchedulerService(WorkerRegistry* registry, StatusBoard* board, std::string token,
                   std::function<void(const std::string& reason)> on_cancel);

  // Every RPC: UNAUTHENTICATED without the right "r1-token" metadata.
  // Register: RegisterResponse with worker_id, roles, heartbeat_interval_ms and dtype; the
  // registry's error otherwise (INVALID_ARGUMENT for no address / no roles, the role assigner's
  // refusal). A worker registering as unusable (RegisterRequest.unusable) is registered too: the
  // scheduler ends the run with its reason (WorkerRegistry::CheckUsable).
  grpc::Status Register(grpc::ServerContext* context, const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override;
  // PERMISSION_DENIED for a worker id that is not registered; FAILED_PRECONDITION for a worker
  // already declared dead (it should exit); else keep_running from the registry.
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest* request,
                         v1::RunStatus* response) override;
  // First snapshot at once, then one per change (at most every min_interval_ms, default 500);
  // ends OK when the run finished (after sending the final snapshot), CANCELLED when the client
  // went away, UNAVAILABLE after Shutdown(). Never blocks server shutdown for long (it polls the
  // client's cancellation and Shutdown() every 50 ms).
  grpc::Status WatchStatus(grpc::ServerContext* context, const v1::WatchStatusRequest* request,
                           grpc::ServerWriter<v1::RunStatus>* writer) override;
  grpc::Status Cancel(grpc::ServerContext* context, const v1::CancelRequest* request,
                      v1::CancelResponse* response) override;

  // The interval told to registering workers (default 1 s).
  void set_heartbeat_interval(absl::Duration d);
  // The compute dtype told to registering workers (RegisterResponse.dtype; default empty). Call
  // before the service is served.
  void set_dtype(std::string dtype) { dtype_ = std::move(dtype); }
  // RegisterResponse.rollout_max_batch (default 0). Call before serving, like set_dtype.
  void set_rollout_max_batch(int32_t rows) { rollout_max_batch_ = rows; }
  // Wakes and ends every WatchStatus stream, now and later (until a SchedulerServer starts
  // serving this service again).
  void Shutdown();

 private:
  friend class SchedulerServer;  // resets shutdown_ when it starts serving

  WorkerRegistry* const registry_;
  StatusBoard* const board_;
  const std::string token_;
  const std::function<void(const std::string&)> on_cancel_;
  std::atomic<int64_t> heartbeat_interval_ms_{1000};
  std::string dtype_;
  int32_t rollout_max_batch_ = 0;
  std::atomic<bool> shutdown_{false};
};

// Hosts a SchedulerService. Thread-safety: address() from any thread; destroy from one.
class SchedulerServer {
 public:
  // Starts a gRPC server with `service` on `address` ("127.0.0.1:0" = any free port) and a
  // sweeper thread calling registry->SweepDead() every `sweep_interval` and on_dead(info) (on the
  // sweeper thread; may be empty) for each newly dead worker. service and registry must outlive
  // the server. Unavailable, naming the address, when it cannot listen there. `credentials`:
  // how the port is served (worker_api/tls_credentials.h); null = insecure.
  static absl::StatusOr<std::unique_ptr<SchedulerServer>> Start(
      const std::string& address, SchedulerService* service, WorkerRegistry* registry,
      absl::Duration sweep_interval, std::function<void(const WorkerInfo&)> on_dead,
      std::shared_ptr<grpc::ServerCredentials> credentials = nullptr);

  // The bound address, e.g. "127.0.0.1:43211".
  const std::string& address() const { return address_; }

  // service->Shutdown(), server shutdown with a short (1 s) deadline, joins the sweeper.
  ~SchedulerServer();

  SchedulerServer(const SchedulerServer&) = delete;
  SchedulerServer& operator=(const SchedulerServer&) = delete;

 private:
  SchedulerServer() = default;
  void SweepLoop();

  SchedulerService* service_ = nullptr;
  WorkerRegistry* registry_ = nullptr;
  absl::Duration sweep_interval_;
  std::function<void(const WorkerInfo&)> on_dead_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread sweeper_;
};

}  // namespace r1

#endif  // R1_SCHEDULER_SCHEDULER_SERVICE_H_
