// Runs a pipeline for `r1 run` and `r1 scheduler` (see pipeline_command.h).
#include "cli/pipeline_command.h"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <ctime>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "model/threads.h"
#include "report/run_report.h"
#include "scheduler/cluster.h"
#include "scheduler/metrics_endpoint.h"
#include "scheduler/pipeline_runner.h"
#include "workers/comm/create_communicator.h"
#include "workers/device.h"
#include "workers/local_worker.h"

namespace r1::cli {
namespace {

// Writes RUN_DIR/report.html, whatever the outcome of the run; a run that never created its
// directory (no run.yaml) has nothing to report. A failure is a warning: it never fails the run.
void WriteReportAtEnd(const std::string& run_dir, const std::string& command) {
  if (!PathExists(JoinPath(run_dir, "run.yaml"))) return;
  const std::string path = JoinPath(run_dir, "report.html");
  absl::Status written = WriteRunReport(run_dir, path);
  if (!written.ok()) {
    std::fprintf(stderr, "%s: warning: could not write the HTML report %s: %s\n", command.c_str(),
                 path.c_str(), std::string(written.message()).c_str());
    return;
  }
  PrintLine(absl::StrCat("report: ", path));
}

std::string HostName() {
  char name[HOST_NAME_MAX + 1] = {};
  gethostname(name, sizeof(name));
  return name;
}

}  // namespace

void PrintLine(const std::string& line) {
  std::time_t now = std::time(nullptr);
  char stamp[16];
  std::strftime(stamp, sizeof(stamp), "%H:%M:%S", std::localtime(&now));
  std::printf("%s %s\n", stamp, line.c_str());
  std::fflush(stdout);
}

int ExecutePipeline(const PipelineConfig& config, const PipelineCommandOptions& options) {
  const bool in_process = config.cluster.launcher == Launcher::kInProcess && !options.external;
  const bool external = options.external || config.cluster.mode == ClusterMode::kExternal;
  PipelineRunOptions run;
  run.run_dir = options.run_dir.empty() ? ResolvedRunDir(config) : options.run_dir;
  run.resume = options.resume;
  run.log = PrintLine;

  std::unique_ptr<LocalWorker> local;
  std::unique_ptr<Cluster> cluster;
  // An in-process run has no scheduler: with cluster.metrics_address it keeps a status board of
  // its own for the metrics endpoint (with no workers on it).
  std::unique_ptr<StatusBoard> local_board;
  std::unique_ptr<MetricsEndpoint> local_metrics;
  // Where stage events and steps are reported: the scheduler's board, or local_board; null: none.
  auto current_board = [&]() -> StatusBoard* {
    return cluster != nullptr ? &cluster->board() : local_board.get();
  };
  std::string placement;
  if (in_process) {
    // The in-process worker's device, resolved like `r1 worker --device` does; a device it cannot
    // have ends the run before it starts, with the reason.
    absl::StatusOr<std::string> device =
        ResolveWorkerDevice(std::string(ToString(config.cluster.device)), LauncherLocalRank());
    if (!device.ok()) {
      std::fprintf(stderr, "%s: in-process worker (host %s) %s\n", options.command.c_str(),
                   HostName().c_str(), std::string(device.status().message()).c_str());
      return 1;
    }
    const ThreadPlan threads = ConfigureThreads(options.threads);
    LocalWorkerOptions worker_options;
    worker_options.device = *device;
    worker_options.dtype = std::string(ToString(ModelComputeDtype(config.model)));
    worker_options.generation_batch = config.cluster.rollout_max_batch;
    local = std::make_unique<LocalWorker>(worker_options);
    placement = absl::StrCat("an in-process worker, ", ToString(threads));
    if (*device != "cpu" || worker_options.dtype != "float32") {
      absl::StrAppend(&placement, ", ", *device, ", ", worker_options.dtype);
    }
    if (!config.cluster.metrics_address.empty()) {
      absl::StatusOr<std::vector<StageRef>> stages = PipelineStageRefs(config);
      if (!stages.ok()) {
        std::fprintf(stderr, "%s: %s\n", options.command.c_str(),
                     std::string(stages.status().message()).c_str());
        return 1;
      }
      local_board = std::make_unique<StatusBoard>(run.run_dir, config.run.name, *stages);
      run.on_run_dir_ready = [&](const std::string& root) -> absl::Status {
        absl::StatusOr<std::unique_ptr<MetricsEndpoint>> started = MetricsEndpoint::Start(
            config.cluster.metrics_address, root, local_board.get(), nullptr, PrintLine);
        if (!started.ok()) return started.status();
        local_metrics = *std::move(started);
        return absl::OkStatus();
      };
    }
  } else {
    const int32_t workers = ExpectedWorkers(config.cluster);
    const int32_t groups = config.cluster.worker_groups;
    placement = absl::StrCat(workers, " worker process", workers > 1 ? "es" : "",
                             groups > 1 ? absl::StrCat(" in ", groups, " groups") : "", " (",
                             ToString(config.cluster.placement), ", ",
                             external ? "external" : ToString(config.cluster.launcher), ")");
    // The cluster starts once the run directory exists: its token and address files go there.
    run.on_run_dir_ready = [&](const std::string& root) -> absl::Status {
      ClusterOptions cluster_options;
      cluster_options.run_dir = root;
      cluster_options.external = external;
      cluster_options.listen = options.listen;
      cluster_options.token = options.token;
      cluster_options.worker_threads = options.threads;
      cluster_options.register_timeout = options.register_timeout;
      cluster_options.log = PrintLine;
      absl::StatusOr<std::unique_ptr<Cluster>> started = Cluster::Start(config, cluster_options);
      if (!started.ok()) return started.status();
      cluster = *std::move(started);
      return absl::OkStatus();
    };
    run.acquire_workers = [&]() { return cluster->Acquire(); };
  }
  run.on_stage_event = [&](const std::string& stage, StageEvent event, int32_t attempt,
                           const std::string& error, bool final) {
    StatusBoard* board = current_board();
    if (board == nullptr) return;
    switch (event) {
      case StageEvent::kSkipped:
      case StageEvent::kSucceeded:
        board->StageSucceeded(stage);
        break;
      case StageEvent::kRunning:
        board->StageRunning(stage, attempt);
        break;
      case StageEvent::kFailed:
        board->StageFailed(stage, error, final);
        break;
      case StageEvent::kCancelled:
        board->StageCancelled(stage);
        break;
    }
  };
  run.on_progress = [&](const std::string& stage, const StageProgress& p) {
    if (StatusBoard* board = current_board(); board != nullptr)
      board->StageProgress(stage, p.step, p.total_steps, p.metrics);
  };
  PrintLine(absl::StrCat(options.command, ": ", options.source, ", ", config.stages.size(),
                         " stages, run dir ", run.run_dir, ", on ", placement));
  absl::StatusOr<PipelineReport> report = RunPipeline(config, local.get(), run);
  if (cluster != nullptr) cluster->Finish(report.ok());
  if (local_board != nullptr) local_board->Finish(report.ok());
  WriteReportAtEnd(run.run_dir, options.command);
  if (!report.ok()) {
    std::fprintf(stderr, "%s: %s\n", options.command.c_str(),
                 std::string(report.status().message()).c_str());
    return 1;
  }
  std::printf(
      "\n%s\nrun directory: %s (report.html, report.json, journal, per-stage metrics and "
      "samples)\n",
      FormatEvalTable(report->evals).c_str(), report->run_dir.c_str());
  return 0;
}

}  // namespace r1::cli
