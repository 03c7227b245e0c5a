// The run's Prometheus endpoint (cluster.metrics_address): GET /metrics over the run's status
// board and worker registry (prometheus_text.h), served by MetricsHttpServer, its address in
// RUN_DIR/metrics.addr. The scheduler (Cluster) starts one; so does `r1 run` with launcher
// in_process, which has no scheduler but keeps a status board for it.
#ifndef R1_SCHEDULER_METRICS_ENDPOINT_H_
#define R1_SCHEDULER_METRICS_ENDPOINT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pipeline/config.h"
#include "scheduler/metrics_http.h"
#include "scheduler/status_board.h"
#include "scheduler/worker_registry.h"

namespace r1 {

// "HOST:PORT" that others can dial: a wildcard listen host (0.0.0.0, ::) becomes this machine's
// name. Other addresses are returned unchanged.
std::string DialableAddress(const std::string& bound);

// The stages of `config` for a StatusBoard, in DAG (topological) order, total steps unknown.
// The DAG's error for a config whose stages do not form one.
absl::StatusOr<std::vector<StageRef>> PipelineStageRefs(const PipelineConfig& config);

// Thread-safety: address() from any thread; destroy from one, before `board` and `registry`.
class MetricsEndpoint {
 public:
  // Serves GET /metrics on `address` (HOST:PORT, port 0 = any free port) rendering `board` and
  // `registry` (null: no workers, as in the in-process mode); writes RUN_DIR/metrics.addr (the
  // dialable HOST:PORT and a newline) and logs "metrics (Prometheus) on http://HOST:PORT/metrics"
  // (`log` may be empty). r1_run_start_time_seconds is the time of this call. Errors start with
  // "cluster.metrics_address: " — e.g. "cannot listen on 127.0.0.1:9464: Address already in use".
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& address, const std::string& run_dir, const StatusBoard* board,
      const WorkerRegistry* registry, const std::function<void(const std::string&)>& log);

  // The dialable HOST:PORT, as in RUN_DIR/metrics.addr.
  const std::string& address() const { return address_; }

  // Stops serving (the listening socket is closed).
  ~MetricsEndpoint() = default;

 private:
  MetricsEndpoint() = default;

  std::string address_;
  std::unique_ptr<MetricsHttpServer> server_;
};

}  // namespace r1

#endif  // R1_SCHEDULER_METRICS_ENDPOINT_H_
