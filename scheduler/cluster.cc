// The scheduler's side of a multi-process run (see cluster.h).
#include "scheduler/cluster.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "scheduler/configuration_error.h"
#include "scheduler/launcher.h"
#include "scheduler/metrics_endpoint.h"
#include "scheduler/run_token.h"
#include "worker_api/tls_credentials.h"

namespace r1 {
namespace {

bool Has(const std::vector<std::string>& roles, const char* role) {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

// The last `lines` lines of a log file, for error messages ("" when unreadable).
std::string LogTail(const std::string& path, int lines) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return "";
  std::vector<absl::string_view> all = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  const size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  return absl::StrJoin(all.begin() + from, all.end(), "\n");
}

// A channel to a worker: TLS when cluster.tls is set (the files were read once at start, so this
// fails only if they vanished since).
absl::StatusOr<std::shared_ptr<grpc::Channel>> WorkerChannel(const std::string& address,
                                                             const TlsConfig& tls) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // rollout batches and training batches can be large
  args.SetMaxSendMessageSize(-1);
  return MakeChannel(address, tls, args);
}

}  // namespace

Cluster::Cluster(const PipelineConfig& config, ClusterOptions options)
    : config_(config), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Start(const PipelineConfig& config,
                                                        ClusterOptions options) {
  if (options.r1_binary.empty() && !options.external) {
    R1_ASSIGN_OR_RETURN(options.r1_binary, SelfExecutable());
  }
  if (!options.external) InstallLauncherSignalHandlers();
  std::unique_ptr<Cluster> cluster(new Cluster(config, std::move(options)));
  R1_RETURN_IF_ERROR(cluster->StartService());
  return cluster;
}

absl::Status Cluster::StartService() {
  const ClusterConfig& c = config_.cluster;
  token_ = options_.token.empty() ? GenerateRunToken() : options_.token;
  WorkerRegistryOptions registry_options;
  registry_options.dead_timeout = absl::Seconds(c.worker_timeout_s);
  // Ranks come from the launcher; a worker started without one takes the next free rank.
  registry_options.assign_roles = [this](const WorkerInfo& info) -> absl::StatusOr<RoleAssignment> {
    return AssignRolesByRank(config_.cluster, info, registry_->Snapshot().size());
  };
  registry_ = std::make_unique<WorkerRegistry>(std::move(registry_options));

  R1_ASSIGN_OR_RETURN(std::vector<StageRef> stages, PipelineStageRefs(config_));
  board_ = std::make_unique<StatusBoard>(options_.run_dir, config_.run.name, std::move(stages));
  service_ = std::make_unique<SchedulerService>(
      registry_.get(), board_.get(), token_, [this](const std::string& reason) { Cancel(reason); });
  service_->set_heartbeat_interval(absl::Seconds(c.heartbeat_interval_s));
  service_->set_dtype(std::string(ToString(ModelComputeDtype(config_.model))));
  service_->set_rollout_max_batch(config_.cluster.rollout_max_batch);
  const std::string listen = options_.listen.empty() ? c.scheduler_address : options_.listen;
  // cluster.tls: every file is read here, so a bad path fails the run before anything starts.
  R1_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                      MakeServerCredentials(c.tls));
  R1_ASSIGN_OR_RETURN(
      server_, SchedulerServer::Start(
                   listen, service_.get(), registry_.get(),
                   absl::Seconds(std::max(0.2, c.heartbeat_interval_s / 2)),
                   [this](const WorkerInfo& w) { OnWorkerDead(w); }, std::move(credentials)));
  address_ = DialableAddress(server_->address());
  // The token and address files: the run directory exists from here on (the executor created
  // it before acquiring workers; `r1 scheduler` creates it first).
  R1_RETURN_IF_ERROR(MakeDirs(options_.run_dir));
  R1_RETURN_IF_ERROR(WriteRunTokenFile(JoinPath(options_.run_dir, "token"), token_));
  R1_RETURN_IF_ERROR(
      WriteFileAtomic(JoinPath(options_.run_dir, "scheduler.addr"), address_ + "\n"));
  Log(absl::StrCat("scheduler listening on ", address_, " (token in ",
                   JoinPath(options_.run_dir, "token"), ")"));
  if (!c.metrics_address.empty()) {
    R1_ASSIGN_OR_RETURN(metrics_,
                        MetricsEndpoint::Start(c.metrics_address, options_.run_dir, board_.get(),
                                               registry_.get(), options_.log));
  }
  return absl::OkStatus();
}

Cluster::~Cluster() {
  Finish(false);
  metrics_.reset();  // its renderer reads the board and the registry
  server_.reset();   // stops the sweeper before the registry and service go away
}

void Cluster::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

void Cluster::OnWorkerDead(const WorkerInfo& worker) {
  std::lock_guard<std::mutex> lock(mu_);
  Log(absl::StrCat("worker ", worker.id, " (", worker.host, ", pid ", worker.pid,
                   ") missed its heartbeats: declared dead"));
  broken_ = true;
  // Calls in flight on the group would wait for a dead process: end them now (they fail
  // Unavailable and the executor retries the stage).
  for (auto& client : clients_) client->CancelAll();
  if (launcher_.has_value()) launcher_->Signal(SIGKILL);
}

void Cluster::Cancel(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  Log(absl::StrCat("run cancelled", reason.empty() ? "" : ": " + reason));
  cancelled_ = true;
  for (auto& group : groups_) group->Cancel();
}

void Cluster::TearDown(const std::string& why) {
  std::optional<Subprocess> launcher;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& client : clients_) client->CancelAll();
    groups_.clear();
    clients_.clear();
    launcher.swap(launcher_);
    broken_ = false;
  }
  if (launcher.has_value()) {
    ExitInfo exit = launcher->Terminate(absl::Seconds(5));
    SetActiveWorkerGroup(0);
    Log(absl::StrCat("workers stopped (", why, "; launcher: ", exit.ToString(), ")"));
  }
  registry_->Clear();
}

absl::Status Cluster::LaunchAndWait() {
  const int32_t expected = ExpectedWorkers(config_.cluster);
  R1_RETURN_IF_ERROR(StartWorkers(expected));
  const absl::Time deadline = absl::Now() + options_.register_timeout;
  R1_ASSIGN_OR_RETURN(std::vector<WorkerInfo> workers, AwaitRegistrations(expected, deadline));
  // Members in rank order (trainers first within each group, as a group expects), split by group.
  std::stable_sort(workers.begin(), workers.end(), [](const WorkerInfo& a, const WorkerInfo& b) {
    return a.mpi_rank < b.mpi_rank;
  });
  std::vector<std::unique_ptr<GrpcWorkerClient>> clients;
  const int32_t group_count = std::max(1, config_.cluster.worker_groups);
  std::vector<std::vector<GroupMember>> members(static_cast<size_t>(group_count));
  for (const WorkerInfo& w : workers) {
    if (w.group < 0 || w.group >= group_count) {
      return absl::InternalError(
          absl::StrCat("worker ", w.id, " registered in group ", w.group, " of ", group_count));
    }
    GrpcWorkerClientOptions client_options;
    client_options.token = token_;
    R1_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                        WorkerChannel(w.address, config_.cluster.tls));
    clients.push_back(std::make_unique<GrpcWorkerClient>(std::move(channel), client_options));
    members[static_cast<size_t>(w.group)].push_back(
        GroupMember{w.id, clients.back().get(), Has(w.roles, "trainer"), Has(w.roles, "rollout")});
  }
  R1_RETURN_IF_ERROR(AwaitServing(workers, clients, deadline));
  std::vector<std::unique_ptr<WorkerGroup>> groups;
  for (size_t g = 0; g < members.size(); ++g) {
    groups.push_back(std::make_unique<WorkerGroup>(std::move(members[g])));
    absl::Status valid = groups.back()->Validate();
    if (!valid.ok() && group_count > 1) {
      return absl::Status(valid.code(), absl::StrCat("worker group ", g, ": ", valid.message()));
    }
    R1_RETURN_IF_ERROR(valid);
  }
  std::vector<std::string> names;
  for (const WorkerInfo& w : workers) {
    names.push_back(absl::StrCat(w.id, "[", absl::StrJoin(w.roles, ","), "]",
                                 group_count > 1 ? absl::StrCat("g", w.group) : "", "@",
                                 w.address));
  }
  Log(absl::StrCat("workers ready: ", absl::StrJoin(names, " ")));
  std::lock_guard<std::mutex> lock(mu_);
  clients_ = std::move(clients);
  groups_ = std::move(groups);
  if (cancelled_) {
    for (auto& group : groups_) group->Cancel();
  }
  return absl::OkStatus();
}

std::string Cluster::WorkersLogTail() const {
  const std::string log_file = JoinPath(options_.run_dir, "workers.log");
  return absl::StrCat("; last lines of ", log_file, ":\n", LogTail(log_file, 15));
}

absl::Status Cluster::StartWorkers(int32_t expected) {
  const ClusterConfig& c = config_.cluster;
  const std::string log_file = JoinPath(options_.run_dir, "workers.log");
  if (options_.external) {
    Log(absl::StrCat("waiting for ", expected, " workers to register at ", address_,
                     " (r1 worker --scheduler ", address_, " --token-file ",
                     JoinPath(options_.run_dir, "token"),
                     c.tls.enabled() ? " --tls-cert FILE --tls-key FILE --tls-ca FILE" : "", ")"));
    return absl::OkStatus();
  }
  WorkerLaunchSpec spec;
  spec.launcher = c.launcher;
  spec.ranks = expected;
  spec.r1_binary = options_.r1_binary;
  spec.scheduler_address = address_;
  spec.token_file = JoinPath(options_.run_dir, "token");
  spec.backend = c.backend;
  spec.device = c.device;
  spec.dtype = ModelComputeDtype(config_.model);
  spec.threads = options_.worker_threads;
  spec.scheduler_timeout_s = c.worker_timeout_s;
  spec.log_file = log_file;
  spec.tls = c.tls;
  R1_ASSIGN_OR_RETURN(std::vector<std::string> argv, WorkerLaunchCommand(spec));
  R1_ASSIGN_OR_RETURN(Subprocess launched, LaunchWorkers(spec));
  ++launches_;
  Log(absl::StrCat(launches_ == 1 ? "launched" : "relaunched", " ", expected,
                   expected == 1 ? " worker: " : " workers: ", absl::StrJoin(argv, " "),
                   " (log: ", log_file, ")"));
  std::lock_guard<std::mutex> lock(mu_);
  launcher_.emplace(std::move(launched));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<WorkerInfo>> Cluster::AwaitRegistrations(int32_t expected,
                                                                    absl::Time deadline) {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancelled_) return absl::CancelledError("the run was cancelled");
      // A worker that registered as unusable exits right after: look at the registry before
      // blaming the launcher's end.
      if (absl::Status usable = registry_->CheckUsable(); !usable.ok()) {
        return ConfigurationError(usable.message());
      }
      if (launcher_.has_value() && !launcher_->running()) {
        absl::StatusOr<ExitInfo> exit = launcher_->Poll();
        return absl::UnavailableError(
            absl::StrCat("the worker launcher ended (", exit.ok() ? exit->ToString() : "unknown",
                         ") before ", expected, " workers registered", WorkersLogTail()));
      }
    }
    absl::StatusOr<std::vector<WorkerInfo>> ready =
        registry_->WaitForWorkers(expected, absl::Milliseconds(500));
    if (ready.ok()) return ready;
    if (absl::IsFailedPrecondition(ready.status())) {  // a worker registered as unusable
      return ConfigurationError(ready.status().message());
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          ready.status().message(), " after ", absl::FormatDuration(options_.register_timeout),
          options_.external ? "" : WorkersLogTail()));
    }
  }
}

absl::Status Cluster::AwaitServing(const std::vector<WorkerInfo>& workers,
                                   const std::vector<std::unique_ptr<GrpcWorkerClient>>& clients,
                                   absl::Time deadline) {
  for (size_t i = 0; i < clients.size(); ++i) {
    while (!clients[i]->Ping(std::chrono::seconds(5)).ok()) {
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "worker ", workers[i].id, " at ", workers[i].address, " registered but does not serve",
            options_.external ? "" : WorkersLogTail()));
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (launcher_.has_value() && !launcher_->running()) {
        return absl::UnavailableError(absl::StrCat("the worker launcher ended before worker ",
                                                   workers[i].id, " served", WorkersLogTail()));
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<WorkerClient*>> Cluster::Acquire() {
  bool healthy = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return absl::CancelledError("the run was cancelled");
    healthy = !groups_.empty() && !broken_ && (!launcher_.has_value() || launcher_->running());
  }
  if (healthy) {
    // A worker can die between stages without its heartbeats having timed out yet: ask each.
    for (const auto& client : clients_) {
      if (!client->Ping(std::chrono::seconds(10)).ok()) {
        healthy = false;
        break;
      }
    }
  }
  if (!healthy) {
    // A configuration error stays: relaunching cannot fix it.
    if (!configuration_error_.ok()) return configuration_error_;
    if (!groups_.empty() || launcher_.has_value()) TearDown("a worker died");
    absl::Status launched = LaunchAndWait();
    if (IsConfigurationError(launched)) configuration_error_ = launched;
    R1_RETURN_IF_ERROR(launched);
  }
  std::vector<WorkerClient*> out;
  for (auto& group : groups_) out.push_back(group.get());
  return out;
}

void Cluster::Finish(bool succeeded) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
  }
  if (registry_ != nullptr) registry_->set_keep_running(false);
  if (board_ != nullptr) board_->Finish(succeeded);
  std::optional<Subprocess> launcher;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& client : clients_) (void)client->Shutdown();
    groups_.clear();
    clients_.clear();
    launcher.swap(launcher_);
  }
  if (launcher.has_value()) {
    absl::StatusOr<ExitInfo> exit = launcher->Wait(absl::Seconds(20));
    if (!exit.ok()) launcher->Terminate(absl::Seconds(5));
    SetActiveWorkerGroup(0);
  }
}

}  // namespace r1
