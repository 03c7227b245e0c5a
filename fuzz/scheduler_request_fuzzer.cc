// Fuzzes the Scheduler service's handling of request messages past the token check (which
// tests/scheduler/scheduler_service_test.cc covers), without a network: the first bytes choose a
// cluster shape, the rest is a sequence of operations, each as SchedulerService or Cluster does it:
//   Register:  bytes -> RegisterRequest -> WorkerInfoFromRegisterRequest -> WorkerRegistry::Register
//              with the cluster's role assigner (AssignRolesByRank);
//   Heartbeat: bytes -> HeartbeatRequest -> WorkerRegistry::Heartbeat;
//   GetStatus: StatusBoard::Snapshot(registry.Snapshot()), serialized and parsed back;
//   time passes on a fake clock, SweepDead and MarkDead (what the dead-worker timeout does).
// Invariants, checked after every operation: ids are unique; every registered worker has roles;
// no two live workers that registered with an MPI rank hold the same rank, and each such rank is
// below the cluster's worker count; a heartbeat for an id never issued is NotFound; a status
// snapshot lists every worker and survives serialization.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "r1/v1/scheduler.pb.h"
#include "scheduler/registration.h"
#include "scheduler/status_board.h"
#include "scheduler/worker_registry.h"

namespace {

void Fail(const std::string& what) {
  std::fprintf(stderr, "scheduler invariant broken: %s\n", what.c_str());
  std::abort();
}

// Reads the fuzzer's bytes front to back; past the end, zeros and empty strings.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return size_ == 0; }
  uint8_t Byte() {
    if (size_ == 0) return 0;
    --size_;
    return *data_++;
  }
  std::string Take(size_t n) {
    n = std::min(n, size_);
    std::string s(reinterpret_cast<const char*>(data_), n);
    data_ += n;
    size_ -= n;
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

void CheckInvariants(const r1::ClusterConfig& cluster, const r1::WorkerRegistry& registry,
                     const r1::StatusBoard& board) {
  const std::vector<r1::WorkerInfo> workers = registry.Snapshot();
  std::set<std::string> ids;
  std::set<int32_t> live_ranks;
  for (const r1::WorkerInfo& w : workers) {
    if (!ids.insert(w.id).second) Fail("duplicate id " + w.id);
    if (w.roles.empty()) Fail("worker " + w.id + " without roles");
    if (w.address.empty()) Fail("worker " + w.id + " without an address");
    if (!w.alive || w.mpi_world_size <= 0 || w.mpi_rank < 0) continue;
    if (w.mpi_rank >= r1::ExpectedWorkers(cluster)) Fail(absl::StrCat("rank ", w.mpi_rank));
    if (!live_ranks.insert(w.mpi_rank).second) {
      Fail(absl::StrCat("two live workers hold rank ", w.mpi_rank));
    }
  }
  const r1::v1::RunStatus status = board.Snapshot(workers);
  if (status.workers_size() != static_cast<int>(workers.size())) Fail("status lists workers");
  r1::v1::RunStatus parsed;
  if (!parsed.ParseFromString(status.SerializeAsString())) Fail("status does not parse back");
  if (parsed.workers_size() != status.workers_size()) Fail("status round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  r1::ClusterConfig cluster;
  const uint8_t shape = in.Byte();
  cluster.trainer_ranks = 1 + shape % 4;
  cluster.placement =
      (shape & 0x10) != 0 ? r1::Placement::kDisaggregated : r1::Placement::kColocated;
  cluster.rollout_workers = 1 + (shape >> 5) % 2;

  absl::Time now = absl::FromUnixSeconds(1000);
  r1::WorkerRegistryOptions options;
  options.dead_timeout = absl::Seconds(10);
  options.clock = [&now] { return now; };
  r1::WorkerRegistry* registry_ptr = nullptr;
  options.assign_roles = [&](const r1::WorkerInfo& info) {
    return r1::AssignRolesByRank(cluster, info, registry_ptr->Snapshot().size());
  };
  r1::WorkerRegistry registry(std::move(options));
  registry_ptr = &registry;
  r1::StatusBoard board("/nonexistent/run", "fuzz", {{"pretrain", "pretrain", 10}});

  for (int op = 0; op < 64 && !in.empty(); ++op) {
    const uint8_t kind = in.Byte();
    const std::string payload = in.Take(in.Byte());
    switch (kind % 5) {
      case 0: {  // Register
        r1::v1::RegisterRequest request;
        if (!request.ParseFromString(payload)) break;
        const size_t before = registry.Snapshot().size();
        absl::StatusOr<r1::WorkerInfo> registered =
            registry.Register(r1::WorkerInfoFromRegisterRequest(request));
        if (registered.ok() != (registry.Snapshot().size() == before + 1)) {
          Fail("Register's answer and the registry disagree");
        }
        break;
      }
      case 1: {  // Heartbeat
        r1::v1::HeartbeatRequest request;
        if (!request.ParseFromString(payload)) break;
        const absl::Status s = registry.Heartbeat(request.worker_id());
        if (!registry.IsRegistered(request.worker_id()) && !absl::IsNotFound(s)) {
          Fail("heartbeat of an unknown id is not NotFound: " + request.worker_id());
        }
        break;
      }
      case 2:  // time passes; the sweep declares silent workers dead
        now += absl::Seconds(payload.size());
        registry.SweepDead();
        break;
      case 3:  // a worker's RPC failed: declared dead at once
        registry.MarkDead(absl::StrCat("w", payload.size()));
        break;
      case 4:  // progress reaches the status board (the stage loops' side)
        board.StageRunning("pretrain", 1 + static_cast<int32_t>(payload.size() % 3));
        board.StageProgress("pretrain", static_cast<int64_t>(payload.size()), 10, {});
        break;
    }
    CheckInvariants(cluster, registry, board);
  }
  return 0;
}
