// Per-stage logs in the run directory: STAGE/metrics.jsonl (one line per logged step: step, time
// and named scalars, also written as TensorBoard events to tensorboard/STAGE/) and
// STAGE/samples.jsonl (one line per logged step: a few rollouts with their rewards). Lines are
// appended and fsync'd, so a crash loses at most the line being written.
#ifndef R1_PIPELINE_METRICS_H_
#define R1_PIPELINE_METRICS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pipeline/run_dir.h"
#include "pipeline/tensorboard.h"

namespace r1 {

// Appends one JSON object per line to a file (created with its parent directories on the first
// write). Invalid UTF-8 in strings is replaced by U+FFFD rather than failing. Thread-safe.
class JsonlAppender {
 public:
  explicit JsonlAppender(std::string path) : path_(std::move(path)) {}
  // InvalidArgument if `record` is not an object; file errors otherwise.
  absl::Status Append(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mu_;
  bool dir_made_ = false;  // guarded by mu_
};

// metrics.jsonl: {"step": 12, "time_ms": 1700000000000, "loss": 0.5, "reward_mean": 0.25, ...}.
// With a TensorBoard directory, each Write also appends one event with the same step and values
// there (TensorBoardWriter), so whatever a stage logs reaches both.
class MetricsWriter {
 public:
  // The stage's writer: RUN_DIR/STAGE/metrics.jsonl and RUN_DIR/tensorboard/STAGE/. Stages log
  // through this one.
  MetricsWriter(const RunDir& run_dir, absl::string_view stage)
      : MetricsWriter(run_dir.MetricsPath(stage), run_dir.TensorBoardDir(stage)) {}
  // `path` only, or also `tensorboard_dir` when it is not empty.
  explicit MetricsWriter(std::string path, std::string tensorboard_dir = "");
  // `values` must not use the keys "step" or "time_ms" (InvalidArgument); NaN/inf are written as
  // null (JSON has no such numbers) and as themselves to TensorBoard. The JSONL line is written
  // first; an error of either write is returned.
  absl::Status Write(int64_t step, const std::map<std::string, double>& values);
  const std::string& path() const { return out_.path(); }
  // The TensorBoard writer; null when there is none.
  const TensorBoardWriter* tensorboard() const { return tensorboard_.get(); }

 private:
  JsonlAppender out_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
};

struct RolloutSample {
  std::string prompt;
  std::string response;
  double reward = 0.0;
  std::map<std::string, double> reward_terms;  // per reward name, unweighted; may be empty
};

// samples.jsonl: {"step": 12, "time_ms": ..., "samples": [{"prompt", "response", "reward",
// "reward_terms": {...}}, ...]}.
class SamplesWriter {
 public:
  explicit SamplesWriter(std::string path) : out_(std::move(path)) {}
  absl::Status Write(int64_t step, const std::vector<RolloutSample>& samples);
  const std::string& path() const { return out_.path(); }

 private:
  JsonlAppender out_;
};

// Every line of a JSONL file written by the classes above (for status, tests and tools). A
// missing file is empty; a torn last line (no newline) is skipped; any other unparsable line is
// InvalidArgument naming the file and line.
absl::StatusOr<std::vector<nlohmann::json>> ReadJsonlRecords(const std::string& path);

// Rewrites `path` (atomically) keeping only the records whose "step" is <= `step`, and drops a
// torn tail. For a stage resumed from the checkpoint of `step`: the steps after it will be logged
// again, so their old lines go. A missing file is fine. Returns how many records were dropped.
absl::StatusOr<int64_t> TruncateJsonlAfterStep(const std::string& path, int64_t step);

}  // namespace r1

#endif  // R1_PIPELINE_METRICS_H_
