// The scheduler's table of workers: registration (ids, roles), heartbeats, and the dead-worker
// timeout. Pure bookkeeping, no RPC: the Scheduler service (scheduler_service.h) feeds it.
#ifndef R1_SCHEDULER_WORKER_REGISTRY_H_
#define R1_SCHEDULER_WORKER_REGISTRY_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace r1 {

struct WorkerInfo {
  std::string id;                          // "w0", "w1", ... assigned at registration
  std::string address, host;               // Worker service HOST:PORT; hostname
  std::vector<std::string> offered_roles;  // what the worker said it can do
  std::vector<std::string> roles;          // what the scheduler assigned
  int32_t group = 0;  // the worker group it belongs to (cluster.worker_groups), assigned with roles
  int32_t mpi_rank = -1, mpi_world_size = 0;
  int64_t pid = 0;
  int32_t gpus = 0;  // visible GPUs
  // Why the worker cannot serve the run's configuration (RegisterRequest.unusable); empty when
  // it can. Such a worker is registered (it learns its id, then exits) but never served.
  std::string unusable;
  absl::Time registered_at, last_heartbeat;
  bool alive = true;
};

// What the scheduler assigns a registering worker: its roles and its worker group.
struct RoleAssignment {
  std::vector<std::string> roles;
  int32_t group = 0;
};

// Decides a registering worker's roles and group (e.g. from its mpi_rank); an error refuses the
// worker (Register returns it unchanged). Called without the registry's lock held (it may call
// Snapshot), one registration at a time: Snapshot() inside it shows every earlier registration.
using RoleAssigner = std::function<absl::StatusOr<RoleAssignment>(const WorkerInfo&)>;

struct WorkerRegistryOptions {
  absl::Duration dead_timeout = absl::Seconds(30);  // silent this long => dead
  RoleAssigner assign_roles;                        // empty: roles = offered_roles
  std::function<absl::Time()> clock;                // empty: absl::Now (tests inject a fake)
};

// Thread-safety: every method may be called from any thread (one internal mutex).
class WorkerRegistry {
 public:
  explicit WorkerRegistry(WorkerRegistryOptions options);

  // Adds a worker: assigns the next id ("w0", "w1", ...), its roles and group (assign_roles, or
  // the offered roles in group 0), registered_at = last_heartbeat = now, alive. Returns the stored
  // record. InvalidArgument for an empty address or when it ends up with no roles; the assigner's
  // error when it refuses the worker; Unavailable (the worker retries) when a live worker already
  // holds its MPI rank (both with mpi_world_size > 0), so that a duplicate rank never counts twice
  // towards WaitForWorkers.
  absl::StatusOr<WorkerInfo> Register(WorkerInfo info);

  // Records a heartbeat. NotFound for an unknown id (the service maps it to PERMISSION_DENIED),
  // FailedPrecondition for a worker already declared dead.
  absl::Status Heartbeat(const std::string& id);

  bool IsRegistered(const std::string& id) const;

  // Every worker ever registered since the last Clear(), dead ones included, registration order.
  std::vector<WorkerInfo> Snapshot() const;

  // Marks dead and returns the live workers silent for at least dead_timeout (each one only once).
  std::vector<WorkerInfo> SweepDead();

  // Declares a worker dead at once (e.g. its RPC failed with Unavailable). Unknown ids: no-op.
  void MarkDead(const std::string& id);

  // FailedPrecondition "worker rank R (host H) <unusable>" (worker ID instead of the rank when it
  // has none) for the first live worker registered as unusable; OK when there is none.
  absl::Status CheckUsable() const;

  // Blocks until at least `count` live workers are registered (returns the live ones, registration
  // order) or `timeout` passes (DeadlineExceeded saying how many of how many registered). Returns
  // CheckUsable()'s error as soon as an unusable worker is registered. A timeout of zero checks
  // once.
  absl::StatusOr<std::vector<WorkerInfo>> WaitForWorkers(int count, absl::Duration timeout);

  // Forgets every worker (before a relaunch). Ids keep counting up so a stale worker's old id is
  // never reused by a new one.
  void Clear();

  // What Heartbeat answers tell workers: false once the run is over or cancelled (default true).
  void set_keep_running(bool keep);
  bool keep_running() const;

 private:
  absl::Time Now() const;
  std::vector<WorkerInfo> LiveLocked() const;
  absl::Status CheckUsableLocked() const;

  WorkerRegistryOptions options_;
  mutable std::mutex mu_;
  std::mutex register_mu_;           // serializes Register (taken before mu_)
  std::condition_variable changed_;  // signalled on Register
  std::vector<WorkerInfo> workers_;  // registration order
  int64_t next_id_ = 0;
  bool keep_running_ = true;
};

}  // namespace r1

#endif  // R1_SCHEDULER_WORKER_REGISTRY_H_
