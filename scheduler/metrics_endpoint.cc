// The run's Prometheus endpoint (see metrics_endpoint.h).
#include "scheduler/metrics_endpoint.h"

#include <unistd.h>

#include <climits>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "pipeline/dag.h"
#include "scheduler/prometheus_text.h"

namespace r1 {

std::string DialableAddress(const std::string& bound) {
  const size_t colon = bound.rfind(':');
  if (colon == std::string::npos) return bound;
  const std::string host = bound.substr(0, colon);
  if (host == "0.0.0.0" || host == "[::]" || host == "::") {
    char name[HOST_NAME_MAX + 1] = {};
    if (gethostname(name, sizeof(name)) == 0) return absl::StrCat(name, bound.substr(colon));
  }
  return bound;
}

absl::StatusOr<std::vector<StageRef>> PipelineStageRefs(const PipelineConfig& config) {
  R1_ASSIGN_OR_RETURN(StageDag dag, StageDag::Build(config.stages));
  std::vector<StageRef> stages;
  for (const std::string& name : dag.TopologicalOrder()) {
    const StageConfig* stage = config.FindStage(name);
    stages.push_back(StageRef{name, std::string(StageTypeName(stage->type)), 0});
  }
  return stages;
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& address, const std::string& run_dir, const StatusBoard* board,
    const WorkerRegistry* registry, const std::function<void(const std::string&)>& log) {
  const absl::Time started_at = absl::Now();
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start(address, kPrometheusContentType, [=] {
        return RenderRunMetrics(
            board->Snapshot({}),
            registry != nullptr ? registry->Snapshot() : std::vector<WorkerInfo>{}, absl::Now(),
            started_at);
      });
  if (!server.ok()) {
    return absl::Status(server.status().code(),
                        absl::StrCat("cluster.metrics_address: ", server.status().message()));
  }
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->server_ = *std::move(server);
  endpoint->address_ = DialableAddress(endpoint->server_->address());
  R1_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(run_dir, "metrics.addr"), endpoint->address_ + "\n"));
  if (log) log(absl::StrCat("metrics (Prometheus) on http://", endpoint->address_, "/metrics"));
  return endpoint;
}

}  // namespace r1
