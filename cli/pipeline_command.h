// What `r1 run` and `r1 scheduler` share: run a pipeline to the end — on an in-process worker
// (cluster.launcher in_process) or on worker processes behind the Scheduler service (launched by
// `r1 run` in local mode, awaited in external mode) — printing progress and the eval table.
#ifndef R1_CLI_PIPELINE_COMMAND_H_
#define R1_CLI_PIPELINE_COMMAND_H_

#include <string>

#include "absl/time/time.h"
#include "pipeline/config.h"

namespace r1::cli {

struct PipelineCommandOptions {
  std::string command;  // "r1 run" / "r1 scheduler", for messages
  std::string source;   // where the config came from, for the first line
  std::string run_dir;  // empty: the config's run directory
  bool resume = false;
  bool external = false;  // wait for workers instead of launching them
  std::string listen;     // overrides cluster.scheduler_address
  std::string token;      // the run's secret; empty = a fresh one
  int32_t threads = 0;    // LibTorch threads (in-process worker, or each launched worker)
  absl::Duration register_timeout = absl::Minutes(2);
};

// Exit status: 0 every stage succeeded, 1 otherwise (the error is printed).
int ExecutePipeline(const PipelineConfig& config, const PipelineCommandOptions& options);

// Prints "HH:MM:SS line" to stdout and flushes.
void PrintLine(const std::string& line);

}  // namespace r1::cli

#endif  // R1_CLI_PIPELINE_COMMAND_H_
