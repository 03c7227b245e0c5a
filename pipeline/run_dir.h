// The run directory (DESIGN.md "Run directory"): run.yaml written once, the journal, and per
// stage checkpoints/ (written to a temp dir, renamed into place), output/, metrics.jsonl and
// samples.jsonl; the stages' TensorBoard event files side by side under RUN_DIR/tensorboard/.
//
//   RUN_DIR/run.yaml  RUN_DIR/journal
//   RUN_DIR/STAGE/checkpoints/step-000120/   RUN_DIR/STAGE/output/
//   RUN_DIR/STAGE/metrics.jsonl              RUN_DIR/STAGE/samples.jsonl
//   RUN_DIR/tensorboard/STAGE/events.out.tfevents.*
#ifndef R1_PIPELINE_RUN_DIR_H_
#define R1_PIPELINE_RUN_DIR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace r1 {

// Paths and checkpoint bookkeeping of one run directory. Immutable; thread-safe. Stage names are
// those ValidateConfig accepts (no '/').
class RunDir {
 public:
  // Starts or continues a run in `root`:
  //   - missing or empty: created (with parents), run.yaml = `resolved_yaml`;
  //   - has run.yaml with exactly `resolved_yaml`: opened as is (the same run, e.g. a restart);
  //   - has a different run.yaml: FailedPrecondition naming the first differing line (a new run
  //     must not mix with an old one's files; use another run_dir or resume it);
  //   - non-empty without run.yaml: FailedPrecondition (not a run directory).
  static absl::StatusOr<RunDir> Create(const std::string& root, absl::string_view resolved_yaml);

  // Opens an existing run for resume. NotFound when `root`/run.yaml is missing.
  static absl::StatusOr<RunDir> Open(const std::string& root);

  const std::string& root() const { return root_; }
  std::string RunYamlPath() const;  // RUN_DIR/run.yaml
  std::string JournalPath() const;  // RUN_DIR/journal
  absl::StatusOr<std::string> ReadRunYaml() const;

  std::string StageDir(absl::string_view stage) const;        // RUN_DIR/STAGE
  std::string CheckpointsDir(absl::string_view stage) const;  // RUN_DIR/STAGE/checkpoints
  std::string CheckpointDir(absl::string_view stage, int64_t step) const;  // .../step-000120
  std::string OutputDir(absl::string_view stage) const;                    // RUN_DIR/STAGE/output
  std::string MetricsPath(absl::string_view stage) const;  // RUN_DIR/STAGE/metrics.jsonl
  std::string SamplesPath(absl::string_view stage) const;  // RUN_DIR/STAGE/samples.jsonl
  // RUN_DIR/tensorboard/STAGE: one directory per stage, so TensorBoard shows each as a run.
  std::string TensorBoardDir(absl::string_view stage) const;

  // A fresh temporary directory beside CheckpointDir(stage, step) to write a checkpoint into;
  // pass it to CommitCheckpoint when every file is written. Temp dirs are never mistaken for
  // checkpoints (their names do not match "step-NNNNNN").
  absl::StatusOr<std::string> BeginCheckpoint(absl::string_view stage, int64_t step) const;
  // Renames `temp_dir` to CheckpointDir(stage, step) atomically (contents fsync'd first).
  // AlreadyExists if that checkpoint exists.
  absl::Status CommitCheckpoint(const std::string& temp_dir, absl::string_view stage,
                                int64_t step) const;

  // Steps of the complete checkpoints of `stage`, ascending (empty when none).
  absl::StatusOr<std::vector<int64_t>> CheckpointSteps(absl::string_view stage) const;
  // The newest complete checkpoint's step, or nullopt when there is none.
  absl::StatusOr<std::optional<int64_t>> LatestCheckpointStep(absl::string_view stage) const;
  // Removes leftover temporary checkpoint dirs of `stage` (after a crash). Returns how many.
  absl::StatusOr<int> RemoveIncompleteCheckpoints(absl::string_view stage) const;

 private:
  explicit RunDir(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// "step-000120" for 120 (at least six digits); ParseCheckpointName is its inverse (nullopt for
// any other name, e.g. a temp dir "step-000120.tmp-123-0").
std::string CheckpointName(int64_t step);
std::optional<int64_t> ParseCheckpointName(absl::string_view name);

}  // namespace r1

#endif  // R1_PIPELINE_RUN_DIR_H_
