// `r1 status (--scheduler HOST:PORT | --run-dir DIR) [--json] [--watch]`: every stage's state,
// step/total, attempts, latest metrics and ETA, and every worker, from the scheduler's status RPC;
// or, for a run directory whose scheduler does not answer, read from the files (run.yaml, journal,
// per-stage metrics.jsonl) — which works while `r1 run` is writing, and after it ended or crashed.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/file_util.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/tls_flags.h"
#include "nlohmann/json.hpp"
#include "pipeline/config.h"
#include "pipeline/dag.h"
#include "pipeline/journal.h"
#include "pipeline/metrics.h"
#include "pipeline/planned_steps.h"
#include "pipeline/run_dir.h"
#include "r1/v1/scheduler.grpc.pb.h"
#include "scheduler/run_token.h"
#include "scheduler/status_board.h"
#include "worker_api/tls_credentials.h"
#include "worker_api/worker_proto.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 status --scheduler HOST:PORT [--token-file FILE] [--json] [--watch] [TLS options]
       r1 status --run-dir DIR [--json] [--watch] [--interval SECONDS] [TLS options]

Shows a run's state: every stage in DAG order with its state (pending, running, succeeded,
failed, skipped, cancelled), steps done / total, attempt, the latest metrics, an ETA and the last
error; and, from a live scheduler, every worker (id, roles, host, address, seconds since its last
heartbeat, alive).

  --scheduler HOST:PORT  ask the scheduler's status RPC (the address is in RUN_DIR/scheduler.addr)
  --token-file FILE      the run's token (RUN_DIR/token); default: the environment variable R1_TOKEN
  --run-dir DIR          the run directory (RUN_DIR): asks its scheduler when RUN_DIR/scheduler.addr
                         and RUN_DIR/token exist and it answers within 2 s, else reads the files;
                         a running run's Prometheus URL (RUN_DIR/metrics.addr) is shown too
  --json                 one JSON object per snapshot instead of a table
  --watch                print every change until the run finished (from the scheduler: streamed;
                         from the files: again every --interval seconds, default 5)
  --tls-cert/--tls-key/--tls-ca FILE, --tls-server-name NAME
                         the cluster's certificate for a run with cluster.tls (PEM files); with
                         --run-dir they default to DIR/run.yaml's cluster.tls

Exit status: 0 when the status could be read, 1 when it could not (unreachable scheduler, token
refused, unreadable run directory), 2 usage.)";

// How long `--run-dir` waits for the scheduler named in scheduler.addr before reading the files.
constexpr auto kRunDirProbeTimeout = std::chrono::seconds(2);
constexpr auto kSchedulerTimeout = std::chrono::seconds(10);

// The run as JSON, read from the files of run directory `dir`.
absl::StatusOr<nlohmann::json> FileSnapshot(const std::string& dir) {
  auto run_dir = RunDir::Open(dir);
  if (!run_dir.ok()) return run_dir.status();
  auto yaml = run_dir->ReadRunYaml();
  if (!yaml.ok()) return yaml.status();
  auto config = ParseConfig(*yaml, ConfigParseOptions{"", run_dir->RunYamlPath()});
  if (!config.ok()) return config.status();
  auto dag = StageDag::Build(config->stages);
  if (!dag.ok()) return dag.status();
  auto replay = ReplayJournal(run_dir->JournalPath());
  if (!replay.ok()) return replay.status();
  nlohmann::json stages = nlohmann::json::array();
  bool all_done = true, failed = false;
  for (const std::string& name : dag->TopologicalOrder()) {
    const StageConfig& stage = *config->FindStage(name);
    StageStatus status;
    auto it = replay->stages.find(name);
    if (it != replay->stages.end()) status = it->second;
    nlohmann::json s = {{"name", name},
                        {"type", std::string(StageTypeName(stage.type))},
                        {"state", std::string(StageStateName(status.state))},
                        {"attempt", status.attempt}};
    if (!status.error.empty()) s["error"] = status.error;
    all_done &= status.state == StageState::kSucceeded;
    failed |= status.state == StageState::kFailed;
    auto records = ReadJsonlRecords(run_dir->MetricsPath(name));
    const int64_t total = PlannedSteps(stage);
    if (total > 0) s["total_steps"] = total;
    if (records.ok() && !records->empty()) {
      const nlohmann::json& last = records->back();
      const int64_t step = last.value("step", int64_t{0});
      s["step"] = step;
      nlohmann::json metrics = last;
      metrics.erase("step");
      metrics.erase("time_ms");
      s["metrics"] = metrics;
      if (status.state == StageState::kRunning && total > step && records->size() >= 2) {
        const nlohmann::json& first = records->front();
        const double ms = last.value("time_ms", 0.0) - first.value("time_ms", 0.0);
        const double steps = static_cast<double>(step - first.value("step", int64_t{0}));
        if (steps > 0) s["eta_seconds"] = ms / 1000.0 / steps * static_cast<double>(total - step);
      }
    }
    stages.push_back(s);
  }
  return nlohmann::json{{"run_dir", dir},
                        {"run_name", config->run.name},
                        {"stages", stages},
                        {"finished", all_done || failed},
                        {"succeeded", all_done}};
}

// ---- From the scheduler's status RPC.

// The RunStatus as the same JSON as FileSnapshot, plus "workers" and "source": "scheduler".
nlohmann::json ToJson(const v1::RunStatus& status, const std::string& address) {
  nlohmann::json stages = nlohmann::json::array();
  for (const v1::StageStatus& st : status.stages()) {
    nlohmann::json s = {{"name", st.name()},
                        {"type", st.type()},
                        {"state", std::string(StageStateName(st.state()))},
                        {"attempt", st.attempt()}};
    // Like the file view: no step for a stage that has not started.
    if (st.state() != v1::STAGE_STATE_PENDING || st.step() > 0) s["step"] = st.step();
    if (st.total_steps() > 0) s["total_steps"] = st.total_steps();
    if (st.latest_metrics_size() > 0) {
      nlohmann::json metrics = nlohmann::json::object();
      for (const v1::Metric& m : st.latest_metrics()) metrics[m.name()] = m.value();
      s["metrics"] = metrics;
    }
    if (st.eta_seconds() >= 0 && st.state() == v1::STAGE_STATE_RUNNING) {
      s["eta_seconds"] = st.eta_seconds();
    }
    if (!st.error().empty()) s["error"] = st.error();
    if (st.started_at_unix() > 0) s["started_at_unix"] = st.started_at_unix();
    stages.push_back(s);
  }
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  nlohmann::json workers = nlohmann::json::array();
  for (const v1::WorkerStatus& w : status.workers()) {
    workers.push_back({{"id", w.worker_id()},
                       {"roles", std::vector<std::string>(w.roles().begin(), w.roles().end())},
                       {"host", w.host()},
                       {"address", w.address()},
                       {"last_heartbeat_unix", w.last_heartbeat_unix()},
                       {"seconds_since_heartbeat", std::max(0.0, now - w.last_heartbeat_unix())},
                       {"alive", w.alive()}});
  }
  return nlohmann::json{{"run_dir", status.run_dir()},
                        {"run_name", status.run_name()},
                        {"stages", stages},
                        {"workers", workers},
                        {"finished", status.finished()},
                        {"succeeded", status.succeeded()},
                        {"source", "scheduler"},
                        {"scheduler", address}};
}

void PrintTable(const nlohmann::json& snap) {
  std::printf("run %s (%s)%s\n", snap["run_name"].get<std::string>().c_str(),
              snap["run_dir"].get<std::string>().c_str(),
              !snap["finished"].get<bool>()   ? ""
              : snap["succeeded"].get<bool>() ? " finished: succeeded"
                                              : " finished: failed");
  if (snap.contains("metrics_url") && !snap["finished"].get<bool>()) {
    std::printf("  metrics (Prometheus): %s\n", snap["metrics_url"].get<std::string>().c_str());
  }
  std::printf("  %-24s %-18s %-10s %-12s %-4s %s\n", "stage", "type", "state", "step", "try",
              "latest");
  for (const auto& s : snap["stages"]) {
    std::string step = s.contains("step") ? std::to_string(s["step"].get<int64_t>()) : "-";
    if (s.contains("total_steps")) absl::StrAppend(&step, "/", s["total_steps"].get<int64_t>());
    std::string latest;
    if (s.contains("metrics")) {
      int shown = 0;
      for (const char* key : {"loss", "reward_mean", "accuracy", "format_rate", "kept"}) {
        if (s["metrics"].contains(key) && s["metrics"][key].is_number()) {
          absl::StrAppend(&latest, key, "=",
                          absl::StrFormat("%.4g", s["metrics"][key].get<double>()), " ");
          ++shown;
        }
      }
      // None of the usual ones: the first few, by name.
      for (auto it = s["metrics"].begin(); shown == 0 && it != s["metrics"].end(); ++it) {
        if (!it.value().is_number()) continue;
        absl::StrAppend(&latest, it.key(), "=", absl::StrFormat("%.4g", it.value().get<double>()),
                        " ");
        if (++shown == 4) break;
      }
    }
    if (s.contains("eta_seconds")) {
      absl::StrAppend(&latest, absl::StrFormat("eta=%.0fs ", s["eta_seconds"].get<double>()));
    }
    if (s.contains("error")) absl::StrAppend(&latest, "error: ", s["error"].get<std::string>());
    std::printf("  %-24s %-18s %-10s %-12s %-4d %s\n", s["name"].get<std::string>().c_str(),
                s["type"].get<std::string>().c_str(), s["state"].get<std::string>().c_str(),
                step.c_str(), s["attempt"].get<int>(), latest.c_str());
  }
  if (!snap.contains("workers")) return;
  if (snap["workers"].empty()) {
    std::printf("  no workers registered\n");
    return;
  }
  std::printf("  %-6s %-20s %-16s %-22s %-10s %s\n", "worker", "roles", "host", "address",
              "heartbeat", "alive");
  for (const auto& w : snap["workers"]) {
    std::printf("  %-6s %-20s %-16s %-22s %-10s %s\n", w["id"].get<std::string>().c_str(),
                absl::StrJoin(w["roles"].get<std::vector<std::string>>(), ",").c_str(),
                w["host"].get<std::string>().c_str(), w["address"].get<std::string>().c_str(),
                absl::StrFormat("%.1fs ago", w["seconds_since_heartbeat"].get<double>()).c_str(),
                w["alive"].get<bool>() ? "yes" : "DEAD");
  }
}

// The run's Prometheus endpoint, "http://HOST:PORT/metrics" from RUN_DIR/metrics.addr, or "" when
// the run serves none (cluster.metrics_address unset).
std::string MetricsUrl(const std::string& dir) {
  absl::StatusOr<std::string> addr = ReadFile(JoinPath(dir, "metrics.addr"));
  if (!addr.ok()) return "";
  const std::string host_port(absl::StripAsciiWhitespace(*addr));
  return host_port.empty() ? "" : absl::StrCat("http://", host_port, "/metrics");
}

void Print(nlohmann::json snap, bool json, const std::string& metrics_url = "") {
  if (!metrics_url.empty()) snap["metrics_url"] = metrics_url;
  if (json) {
    std::printf("%s\n", snap.dump().c_str());
  } else {
    PrintTable(snap);
  }
  std::fflush(stdout);
}

// A client of one scheduler.
class SchedulerStatusClient {
 public:
  // `channel` to `address` (MakeChannel: insecure or TLS).
  SchedulerStatusClient(std::string address, std::string token,
                        std::shared_ptr<grpc::Channel> channel)
      : address_(std::move(address)),
        token_(std::move(token)),
        stub_(v1::Scheduler::NewStub(std::move(channel))) {}

  // One snapshot as JSON, within `timeout`. Errors name the address; a refused token says so.
  absl::StatusOr<nlohmann::json> Get(std::chrono::milliseconds timeout) {
    grpc::ClientContext context;
    Prepare(&context, timeout);
    v1::RunStatus status;
    grpc::Status s = stub_->GetStatus(&context, v1::GetStatusRequest(), &status);
    if (!s.ok()) return Error(s);
    return ToJson(status, address_);
  }

  // Streams snapshots to `print` until the run finished (OK) or the stream broke (its error).
  absl::Status Watch(int32_t min_interval_ms,
                     const std::function<void(const nlohmann::json&)>& print) {
    grpc::ClientContext context;
    Prepare(&context, std::chrono::milliseconds(0));
    v1::WatchStatusRequest request;
    request.set_min_interval_ms(min_interval_ms);
    std::unique_ptr<grpc::ClientReader<v1::RunStatus>> reader =
        stub_->WatchStatus(&context, request);
    v1::RunStatus status;
    bool finished = false;
    while (reader->Read(&status)) {
      print(ToJson(status, address_));
      finished = status.finished();
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return Error(s);
    if (!finished) {
      return absl::UnavailableError(
          absl::StrCat("the scheduler at ", address_, " ended the stream before the run finished"));
    }
    return absl::OkStatus();
  }

 private:
  // Token metadata; a deadline when `timeout` > 0. Waits for the connection only that long.
  void Prepare(grpc::ClientContext* context, std::chrono::milliseconds timeout) const {
    context->AddMetadata(kTokenMetadataKey, token_);
    if (timeout.count() > 0) {
      context->set_deadline(std::chrono::system_clock::now() + timeout);
    }
  }

  absl::Status Error(const grpc::Status& s) const {
    switch (s.error_code()) {
      case grpc::StatusCode::UNAUTHENTICATED:
        return absl::UnauthenticatedError(absl::StrCat(
            "the scheduler at ", address_,
            " refused the run token (wrong or missing; give --token-file RUN_DIR/token or set ",
            kRunTokenEnvVar, "): ", s.error_message()));
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return absl::UnavailableError(
            absl::StrCat("cannot reach the scheduler at ", address_, ": ", s.error_message()));
      default:
        return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                            absl::StrCat("the scheduler at ", address_, ": ", s.error_message()));
    }
  }

  const std::string address_, token_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
};

// Prints once, or every change until the run finished. Returns the exit code.
int ShowFromScheduler(SchedulerStatusClient* client, const ParsedArgs& args,
                      const nlohmann::json& first, int32_t min_interval_ms,
                      const std::string& metrics_url = "") {
  const bool json = args.Flag("json");
  if (!args.Flag("watch") || first["finished"].get<bool>()) {
    Print(first, json, metrics_url);
    return 0;
  }
  absl::Status watched = client->Watch(min_interval_ms, [&](const nlohmann::json& snap) {
    Print(snap, json, metrics_url);
  });
  if (!watched.ok()) {
    std::fprintf(stderr, "r1 status: %s\n", std::string(watched.message()).c_str());
    return 1;
  }
  return 0;
}

// The file-based view of `dir`, once or every `interval_s` until the run finished.
int ShowFromFiles(const std::string& dir, bool json, bool watch, double interval_s,
                  const std::string& metrics_url) {
  while (true) {
    absl::StatusOr<nlohmann::json> snap = FileSnapshot(dir);
    if (!snap.ok()) {
      std::fprintf(stderr, "r1 status: %s\n", std::string(snap.status().message()).c_str());
      return 1;
    }
    Print(*snap, json, metrics_url);
    if (!watch || (*snap)["finished"].get<bool>()) return 0;
    ::usleep(static_cast<useconds_t>(interval_s * 1e6));
  }
}

int RunStatus(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"run-dir", "interval", "scheduler", "token-file"};
  spec.flag_options = {"json", "watch"};
  AddTlsOptions(&spec);
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  const char* problem = nullptr;
  if (args.ok() && !args->positional().empty()) problem = "unexpected positional argument";
  if (args.ok() && args->Has("run-dir") == args->Has("scheduler")) {
    problem = "exactly one of --scheduler HOST:PORT and --run-dir DIR is required";
  }
  if (!args.ok() || problem != nullptr) {
    std::fprintf(stderr, "r1 status: %s\n%s\n",
                 args.ok() ? problem : std::string(args.status().message()).c_str(), kUsage);
    return 2;
  }
  absl::StatusOr<double> interval = args->GetDouble("interval", 5.0);
  if (!interval.ok() || *interval <= 0) {
    std::fprintf(stderr, "r1 status: --interval must be a positive number of seconds\n");
    return 2;
  }
  // The stream's minimum interval: --interval when given, else the scheduler's default.
  const int32_t min_interval_ms =
      args->Has("interval") ? static_cast<int32_t>(*interval * 1000) : 0;

  if (args->Has("scheduler")) {
    absl::StatusOr<std::string> token = ReadRunToken(args->GetOr("token-file", ""));
    if (!token.ok()) {
      std::fprintf(stderr, "r1 status: %s\n", std::string(token.status().message()).c_str());
      return 2;
    }
    const std::string address = *args->Get("scheduler");
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        MakeChannel(address, TlsFromFlags(*args), grpc::ChannelArguments(), "--tls-");
    if (!channel.ok()) {
      std::fprintf(stderr, "r1 status: %s\n", std::string(channel.status().message()).c_str());
      return 1;
    }
    SchedulerStatusClient client(address, *token, *std::move(channel));
    absl::StatusOr<nlohmann::json> first = client.Get(kSchedulerTimeout);
    if (!first.ok()) {
      std::fprintf(stderr, "r1 status: %s\n", std::string(first.status().message()).c_str());
      return 1;
    }
    return ShowFromScheduler(&client, *args, *first, min_interval_ms);
  }

  // --run-dir: the live scheduler when the run has one that answers, else the files.
  const std::string dir = *args->Get("run-dir");
  absl::StatusOr<std::string> addr = ReadSchedulerAddress(dir);
  if (addr.ok()) {
    absl::StatusOr<std::string> token = ReadRunToken(args->GetOr(
        "token-file", PathExists(JoinPath(dir, "token")) ? JoinPath(dir, "token") : ""));
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        MakeChannel(*addr, TlsForRunDir(*args, dir), grpc::ChannelArguments(), "--tls-");
    if (!channel.ok()) {
      std::fprintf(stderr, "r1 status: %s; reading the run directory instead\n",
                   std::string(channel.status().message()).c_str());
    }
    if (token.ok() && channel.ok()) {
      SchedulerStatusClient client(*addr, *token, *std::move(channel));
      absl::StatusOr<nlohmann::json> first = client.Get(kRunDirProbeTimeout);
      if (first.ok()) {
        const int code =
            ShowFromScheduler(&client, *args, *first, min_interval_ms, MetricsUrl(dir));
        // A watch whose scheduler went away (the run ended or crashed) goes on from the files.
        if (code == 0 || !args->Flag("watch")) return code;
      } else if (absl::IsUnauthenticated(first.status())) {
        std::fprintf(stderr, "r1 status: %s; reading the run directory instead\n",
                     std::string(first.status().message()).c_str());
      }
    }
  }
  return ShowFromFiles(dir, args->Flag("json"), args->Flag("watch"), *interval, MetricsUrl(dir));
}

R1_REGISTER_COMMAND(Command{"status", "show a run's stages, steps, metrics, ETA and workers",
                            kUsage, RunStatus});

}  // namespace
}  // namespace r1::cli
