// The stage control loops of the R1 recipe (R1-RECIPE.md): pretrain, sft, grpo,
// rejection_sampling, reward_model, eval. Each loop reads like the algorithm and talks to its
// worker group only through WorkerClient, so it runs against in-process fakes in tests, the
// in-process LocalWorker on one machine, and remote workers alike.
#ifndef R1_STAGES_STAGE_H_
#define R1_STAGES_STAGE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/config.h"
#include "pipeline/datasets.h"
#include "pipeline/run_dir.h"
#include "pipeline/templates.h"
#include "worker_api/worker_client.h"

namespace r1 {

// What a running stage reports after each step (for `r1 run` progress and the status RPC).
struct StageProgress {
  int64_t step = 0;         // steps done
  int64_t total_steps = 0;  // 0 when unknown
  std::map<std::string, double> metrics;
};

// Everything a stage loop needs, resolved by the executor before the loop starts.
struct StageContext {
  const PipelineConfig* config = nullptr;
  const StageConfig* stage = nullptr;
  const RunDir* run_dir = nullptr;
  WorkerClient* worker = nullptr;
  // The Hugging Face directory the stage starts from; empty for a pretrain stage whose input is
  // the base model when config->model has an inline architecture (a fresh random model).
  std::string model_dir;
  // Input datasets, resolved and concatenated in `inputs.datasets` order. Prompt/answer-like
  // inputs go to `examples` (task tags kept), preference inputs to `pairs`. For
  // rejection_sampling, inputs whose examples carry no reference go to `non_reasoning`.
  std::vector<Example> examples;
  std::vector<Example> non_reasoning;
  std::vector<PreferencePair> pairs;
  // Reward-model directories of the grpo stage's reward_model rewards, by reward index.
  std::map<size_t, std::string> reward_model_dirs;
  uint64_t seed = 0;  // the stage's seed (derived from run.seed and the stage name)
  std::function<void(const StageProgress&)> on_progress;  // may be empty
  // Notices for the user, one line each without the stage prefix (e.g. a checkpoint set aside on
  // resume); may be empty.
  std::function<void(const std::string&)> log;
};

struct StageResult {
  std::string output;                     // the output's path (model dir, data.jsonl, eval.json)
  std::map<std::string, double> summary;  // headline numbers (final loss, pass@1, kept, ...)
};

// Runs `context.stage` to completion, resuming from its newest complete checkpoint when one
// exists. Writes RUN_DIR/STAGE/{template.txt, metrics.jsonl, samples.jsonl, checkpoints/,
// output/}; template.txt is the prompt template used, rendered around the literal "{prompt}"
// (so it is itself a valid custom `template:` reproducing every prompt of the stage).
// Errors: InvalidArgument for unusable inputs (no data, a dataset without references where
// answers are graded); a worker's error is returned with the stage step prefixed.
absl::StatusOr<StageResult> RunStage(const StageContext& context);

// The prompt template the stage renders every prompt with: StageTemplate (pipeline/config.h) of
// its config. InvalidArgument naming the stage for a template validation would have rejected.
absl::StatusOr<PromptTemplate> StagePromptTemplate(const StageContext& context);

// A seed for request `index` of step `step` of a stage: distinct for distinct arguments,
// identical on resume.
uint64_t RequestSeed(uint64_t stage_seed, int64_t step, int64_t index);

}  // namespace r1

#endif  // R1_STAGES_STAGE_H_
