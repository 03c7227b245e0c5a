// The scheduler's side of a multi-process run: the Scheduler service (registration, heartbeats,
// status, cancel), the run's token and address files, the workers (launched through the
// configured launcher in local mode, awaited in external mode), and the worker groups the stage
// loops drive (cluster.worker_groups of them: one launcher job, its ranks split into groups). When
// a worker dies — its RPC fails, its heartbeats stop, or (local mode) the launcher job ends — the
// next Acquire() relaunches the workers (local) or waits for them to come back (external), so that
// the executor can retry the stage from its newest checkpoint.
#ifndef R1_SCHEDULER_CLUSTER_H_
#define R1_SCHEDULER_CLUSTER_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/subprocess.h"
#include "pipeline/config.h"
#include "scheduler/grpc_worker_client.h"
#include "scheduler/metrics_endpoint.h"
#include "scheduler/registration.h"
#include "scheduler/scheduler_service.h"
#include "scheduler/status_board.h"
#include "scheduler/worker_group.h"
#include "scheduler/worker_registry.h"

namespace r1 {

struct ClusterOptions {
  std::string run_dir;         // RUN_DIR: token, scheduler.addr and workers.log are written here
  bool external = false;       // wait for workers started by someone else (srun, MPIJob, ...)
  std::string listen;          // overrides cluster.scheduler_address when non-empty
  std::string token;           // the run's secret; empty = generate one (it is written to
                               // RUN_DIR/token either way)
  std::string r1_binary;       // what local-mode workers run; empty = this executable
  int32_t worker_threads = 0;  // --threads of local-mode workers; 0 = their default
  // How long Acquire waits for every worker to register (launch included).
  absl::Duration register_timeout = absl::Minutes(2);
  std::function<void(const std::string& line)> log;  // progress lines; may be empty
};

// Thread-safety: Acquire/Finish from the executor's thread; the service's threads and Cancel()
// may run concurrently.
class Cluster {
 public:
  // Starts the Scheduler service and writes RUN_DIR/token (0600) and RUN_DIR/scheduler.addr;
  // with cluster.metrics_address also the Prometheus endpoint (GET /metrics, see
  // prometheus_text.h) and RUN_DIR/metrics.addr, its dialable HOST:PORT. An address it cannot
  // listen on is an error naming the key ("cluster.metrics_address: cannot listen on ...").
  // Workers are launched (or awaited) on the first Acquire().
  static absl::StatusOr<std::unique_ptr<Cluster>> Start(const PipelineConfig& config,
                                                        ClusterOptions options);
  ~Cluster();

  // The worker groups (cluster.worker_groups of them, in group order) with every expected worker
  // alive, (re)launching or awaiting workers first when needed. A relaunch replaces every group:
  // call it only while no stage uses a group returned before. Errors: DeadlineExceeded when workers
  // do not register in time (the message has the launcher's exit status and the tail of
  // workers.log), Cancelled after Cancel(), a configuration error (configuration_error.h) as soon
  // as a worker registers as unusable — "worker rank R (host H) cannot use device cuda: ..." —
  // returned again by every later call (nothing is relaunched).
  absl::StatusOr<std::vector<WorkerClient*>> Acquire();

  // Ends the run: heartbeats answer keep_running=false, workers get Shutdown, the launcher is
  // waited for (then terminated). Idempotent.
  void Finish(bool succeeded);

  // Cancels the run (the Cancel RPC): the worker group fails every later call with Cancelled.
  void Cancel(const std::string& reason);

  StatusBoard& board() { return *board_; }
  const std::string& address() const { return address_; }
  const std::string& token() const { return token_; }

 private:
  Cluster(const PipelineConfig& config, ClusterOptions options);
  absl::Status StartService();
  // Drops the current group; local mode: terminates the launcher job.
  void TearDown(const std::string& why);
  // Launches (local mode) or awaits (external) the workers, waits until every one has
  // registered and serves, and makes them the current group.
  absl::Status LaunchAndWait();
  // LaunchAndWait's steps: start the launcher job (local mode; external: log how to join),
  // wait for `expected` registrations, wait until each registered worker answers a ping.
  absl::Status StartWorkers(int32_t expected);
  absl::StatusOr<std::vector<WorkerInfo>> AwaitRegistrations(int32_t expected, absl::Time deadline);
  absl::Status AwaitServing(const std::vector<WorkerInfo>& workers,
                            const std::vector<std::unique_ptr<GrpcWorkerClient>>& clients,
                            absl::Time deadline);
  // "; last lines of RUN_DIR/workers.log:\n..." for error messages.
  std::string WorkersLogTail() const;
  void OnWorkerDead(const WorkerInfo& worker);
  void Log(const std::string& line) const;

  const PipelineConfig& config_;
  ClusterOptions options_;
  std::string token_, address_;
  std::unique_ptr<WorkerRegistry> registry_;
  std::unique_ptr<StatusBoard> board_;
  std::unique_ptr<SchedulerService> service_;
  std::unique_ptr<SchedulerServer> server_;
  std::unique_ptr<MetricsEndpoint> metrics_;  // GET /metrics; null without metrics_address

  absl::Status configuration_error_;  // sticky (executor's thread only): see Acquire()

  std::mutex mu_;  // guards the members below against the sweeper and Cancel
  std::optional<Subprocess> launcher_;
  std::vector<std::unique_ptr<GrpcWorkerClient>> clients_;
  std::vector<std::unique_ptr<WorkerGroup>> groups_;  // by group index
  bool broken_ = false;                               // a worker of the current group died
  bool cancelled_ = false;
  bool finished_ = false;
  int32_t launches_ = 0;
};

}  // namespace r1

#endif  // R1_SCHEDULER_CLUSTER_H_
