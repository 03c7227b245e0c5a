// The scheduler's table of workers (see worker_registry.h).
#include "scheduler/worker_registry.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace r1 {

WorkerRegistry::WorkerRegistry(WorkerRegistryOptions options) : options_(std::move(options)) {}

absl::Time WorkerRegistry::Now() const { return options_.clock ? options_.clock() : absl::Now(); }

absl::StatusOr<WorkerInfo> WorkerRegistry::Register(WorkerInfo info) {
  if (info.address.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "worker registration without an address (host \"", info.host, "\", pid ", info.pid, ")"));
  }
  std::lock_guard<std::mutex> one_at_a_time(register_mu_);
  if (options_.assign_roles) {
    absl::StatusOr<RoleAssignment> assigned = options_.assign_roles(info);
    if (!assigned.ok()) return assigned.status();
    info.roles = std::move(assigned->roles);
    info.group = assigned->group;
  } else {
    info.roles = info.offered_roles;
  }
  if (info.roles.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "worker at ", info.address, " has no roles (offered ", info.offered_roles.size(), ")"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (info.mpi_world_size > 0 && info.mpi_rank >= 0) {
    for (const WorkerInfo& w : workers_) {
      if (w.alive && w.mpi_world_size > 0 && w.mpi_rank == info.mpi_rank) {
        return absl::UnavailableError(
            absl::StrCat("worker rank ", info.mpi_rank, " is held by live worker ", w.id, " at ",
                         w.address, " (host \"", w.host,
                         "\"); a restarted worker registers once that one is declared "
                         "dead"));
      }
    }
  }
  info.id = absl::StrCat("w", next_id_++);
  info.registered_at = info.last_heartbeat = Now();
  info.alive = true;
  workers_.push_back(info);
  changed_.notify_all();
  return info;
}

absl::Status WorkerRegistry::Heartbeat(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (WorkerInfo& w : workers_) {
    if (w.id != id) continue;
    if (!w.alive) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", id, " (", w.address, ") was declared dead; register again"));
    }
    w.last_heartbeat = Now();
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("unknown worker id \"", id, "\""));
}

bool WorkerRegistry::IsRegistered(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const WorkerInfo& w : workers_) {
    if (w.id == id) return true;
  }
  return false;
}

std::vector<WorkerInfo> WorkerRegistry::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return workers_;
}

std::vector<WorkerInfo> WorkerRegistry::SweepDead() {
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = Now();
  std::vector<WorkerInfo> dead;
  for (WorkerInfo& w : workers_) {
    if (w.alive && now - w.last_heartbeat >= options_.dead_timeout) {
      w.alive = false;
      dead.push_back(w);
    }
  }
  return dead;
}

void WorkerRegistry::MarkDead(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (WorkerInfo& w : workers_) {
    if (w.id == id) w.alive = false;
  }
}

std::vector<WorkerInfo> WorkerRegistry::LiveLocked() const {
  std::vector<WorkerInfo> live;
  for (const WorkerInfo& w : workers_) {
    if (w.alive) live.push_back(w);
  }
  return live;
}

absl::Status WorkerRegistry::CheckUsableLocked() const {
  for (const WorkerInfo& w : workers_) {
    if (!w.alive || w.unusable.empty()) continue;
    return absl::FailedPreconditionError(
        absl::StrCat("worker ", w.mpi_rank >= 0 ? absl::StrCat("rank ", w.mpi_rank) : w.id,
                     " (host ", w.host.empty() ? "unknown" : w.host, ") ", w.unusable));
  }
  return absl::OkStatus();
}

absl::Status WorkerRegistry::CheckUsable() const {
  std::lock_guard<std::mutex> lock(mu_);
  return CheckUsableLocked();
}

absl::StatusOr<std::vector<WorkerInfo>> WorkerRegistry::WaitForWorkers(int count,
                                                                       absl::Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() +
                        absl::ToChronoNanoseconds(std::max(timeout, absl::ZeroDuration()));
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (absl::Status usable = CheckUsableLocked(); !usable.ok()) return usable;
    std::vector<WorkerInfo> live = LiveLocked();
    if (static_cast<int>(live.size()) >= count) return live;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (absl::Status usable = CheckUsableLocked(); !usable.ok()) return usable;
      live = LiveLocked();
      if (static_cast<int>(live.size()) >= count) return live;
      return absl::DeadlineExceededError(absl::StrCat("only ", live.size(), " of ", count,
                                                      " workers registered within ",
                                                      absl::FormatDuration(timeout)));
    }
  }
}

void WorkerRegistry::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  workers_.clear();
  changed_.notify_all();
}

void WorkerRegistry::set_keep_running(bool keep) {
  std::lock_guard<std::mutex> lock(mu_);
  keep_running_ = keep;
}

bool WorkerRegistry::keep_running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keep_running_;
}

}  // namespace r1
