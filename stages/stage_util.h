// Helpers shared by the stage loops (not part of the stages' public interface): data order,
// checkpoint resume, config -> worker option conversion, tokenizing examples.
#ifndef R1_STAGES_STAGE_UTIL_H_
#define R1_STAGES_STAGE_UTIL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/config.h"
#include "stages/stage.h"
#include "worker_api/worker_client.h"

namespace r1 {

// A permutation of [0, n) from `seed` (Fisher-Yates over splitmix64): the same on every machine.
std::vector<int64_t> ShuffledOrder(int64_t n, uint64_t seed);

// The data cursor: which example sits at global position `position` when the data set of size
// `n` is walked in epochs, each epoch a fresh permutation from (seed, epoch). Pure, so a resumed
// stage finds its place from the step number alone.
class DataCursor {
 public:
  DataCursor(int64_t n, uint64_t seed) : n_(n), seed_(seed) {}
  int64_t At(int64_t position);  // n must be > 0

 private:
  int64_t n_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
};

// The worker's optimizer settings: `config` and the schedule's length, `total_steps`.
OptimizerOptions ToOptimizerOptions(const OptimizerConfig& config, int64_t total_steps);

// The newest checkpoint of the stage that proves itself (its manifest matches every file, see
// pipeline/checkpoint_manifest.h) and the step it holds (from its trainer_state.json), or nullopt
// when none does (the stage starts over). A checkpoint that fails the check (truncated, corrupted,
// no manifest, unreadable state) is renamed "<dir>.corrupt-N", reported through context.log, and
// the next older one is tried.
struct ResumePoint {
  std::string dir;
  int64_t step = 0;  // steps completed
};
absl::StatusOr<std::optional<ResumePoint>> FindResumePoint(const StageContext& context);

// Drops the lines of metrics.jsonl and samples.jsonl, and the TensorBoard events, logged after
// `steps_done` completed steps (by an attempt that died before its next checkpoint), since those
// steps run again.
absl::Status DropLogsAfter(const StageContext& context, int64_t steps_done);

// Writes the stage's checkpoint for `steps_done` completed steps: the worker's files, then
// `extra_files` (name -> contents, the stage's own state beside the weights), the manifest last.
absl::Status SaveCheckpoint(const StageContext& context, const std::string& slot,
                            int64_t steps_done,
                            const std::map<std::string, std::string>& extra_files = {});

// Loads the stage's trainable model into `slot`: from `resume` when set, else from
// context.model_dir, else (pretrain from an inline architecture) a fresh random model.
absl::Status LoadTrainable(const StageContext& context, const std::string& slot,
                           const OptimizerOptions& optimizer,
                           const std::optional<ResumePoint>& resume);

// `prefix` + the error's message, keeping its code.
absl::Status Annotate(const absl::Status& status, const std::string& prefix);

// Seconds since `start` (a steady_clock reading in seconds, see NowSeconds).
double NowSeconds();

}  // namespace r1

#endif  // R1_STAGES_STAGE_UTIL_H_
