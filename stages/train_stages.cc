// Supervised stage loops: pretrain (causal LM on text), sft (loss on responses only; cold-start
// SFT, SFT after rejection sampling and distillation are all this loop with other inputs) and
// reward_model (Bradley-Terry on preference pairs).
#include "stages/train_stages.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "pipeline/metrics.h"
#include "stages/stage_util.h"

namespace r1 {
namespace {

// Steps of a supervised stage: `steps`, or enough batches for `epochs` passes over n items.
int64_t TotalSteps(const TrainParams& p, int64_t n) {
  if (p.steps > 0) return p.steps;
  return std::max<int64_t>(1, (p.epochs * n + p.batch_size - 1) / p.batch_size);
}

// Truncates prompt + response to `max_len` tokens, cutting the response first.
void Truncate(int64_t max_len, TokenSeq* prompt, TokenSeq* response) {
  const auto limit = static_cast<size_t>(std::max<int64_t>(max_len, 2));
  if (prompt->size() + response->size() <= limit) return;
  if (prompt->size() >= limit) {
    prompt->resize(limit - 1);
    response->resize(1);
  } else {
    response->resize(limit - prompt->size());
  }
}

// The (prompt, response) texts an example trains on. Pretrain: the whole text is the response.
absl::Status ExampleTexts(StageType type, const PromptTemplate& tmpl, const Example& ex,
                          std::string* prompt, std::string* response) {
  const std::string rendered = ex.prompt.empty() ? "" : tmpl.RenderPrompt(ex.prompt);
  if (type == StageType::kPretrain) {
    *prompt = "";
    *response = rendered + ex.solution;
  } else {
    if (ex.solution.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("example ", ex.id, " has no response (solution) to train on"));
    }
    *prompt = rendered;
    *response = ex.solution;
  }
  if (response->empty())
    return absl::InvalidArgumentError(absl::StrCat("example ", ex.id, " is empty"));
  return absl::OkStatus();
}

void Report(const StageContext& context, int64_t step, int64_t total, const StepMetrics& m) {
  if (context.on_progress) context.on_progress(StageProgress{step, total, m});
}

}  // namespace

namespace {

// Step `step`'s batch of a supervised stage: batch_size examples (or preference pairs) in the
// cursor's order, tokenized, the eos appended to LM responses (with loss_on_prompt, an SFT
// prompt joins the response), each sequence truncated to max_seq_len.
absl::StatusOr<TrainBatch> SupervisedBatch(const StageContext& context, const PromptTemplate& tmpl,
                                           DataCursor& cursor, int64_t step, int32_t eos) {
  const StageConfig& stage = *context.stage;
  const TrainParams& params = stage.train;
  const bool reward_model = stage.type == StageType::kRewardModel;
  TrainBatch batch;
  batch.step = step;
  batch.micro_batch_size = params.micro_batch_size;
  batch.micro_batch_tokens = params.micro_batch_tokens;
  std::vector<std::string> prompts, responses, rejected;
  for (int64_t b = 0; b < params.batch_size; ++b) {
    const int64_t index = cursor.At(step * params.batch_size + b);
    if (reward_model) {
      const PreferencePair& pair = context.pairs[static_cast<size_t>(index)];
      prompts.push_back(tmpl.RenderPrompt(pair.prompt));
      responses.push_back(pair.chosen);
      rejected.push_back(pair.rejected);
    } else {
      std::string p, r;
      R1_RETURN_IF_ERROR(
          ExampleTexts(stage.type, tmpl, context.examples[static_cast<size_t>(index)], &p, &r));
      prompts.push_back(std::move(p));
      responses.push_back(std::move(r));
    }
  }
  R1_ASSIGN_OR_RETURN(batch.prompts, context.worker->Tokenize(prompts));
  R1_ASSIGN_OR_RETURN(batch.responses, context.worker->Tokenize(responses));
  if (reward_model) {
    batch.objective = TrainBatch::Objective::kRewardModel;
    R1_ASSIGN_OR_RETURN(batch.rejected, context.worker->Tokenize(rejected));
    for (size_t i = 0; i < batch.prompts.size(); ++i) {
      TokenSeq prompt_copy = batch.prompts[i];
      Truncate(params.max_seq_len, &batch.prompts[i], &batch.responses[i]);
      Truncate(params.max_seq_len, &prompt_copy, &batch.rejected[i]);
    }
  } else {
    batch.objective = TrainBatch::Objective::kLanguageModel;
    for (size_t i = 0; i < batch.prompts.size(); ++i) {
      batch.responses[i].push_back(eos);  // the model learns to stop
      if (params.loss_on_prompt && stage.type == StageType::kSft) {
        batch.responses[i].insert(batch.responses[i].begin(), batch.prompts[i].begin(),
                                  batch.prompts[i].end());
        batch.prompts[i].clear();
      }
      Truncate(params.max_seq_len, &batch.prompts[i], &batch.responses[i]);
    }
  }
  return batch;
}

}  // namespace

absl::StatusOr<StageResult> RunSupervisedStage(const StageContext& context) {
  const StageConfig& stage = *context.stage;
  const TrainParams& params = stage.train;
  const bool reward_model = stage.type == StageType::kRewardModel;
  const int64_t n = reward_model ? static_cast<int64_t>(context.pairs.size())
                                 : static_cast<int64_t>(context.examples.size());
  if (n == 0) {
    return absl::InvalidArgumentError(absl::StrCat("stage ", stage.name, ": no training data"));
  }
  const int64_t total = TotalSteps(params, n);
  const std::string slot = reward_model ? "reward" : "policy";
  const OptimizerOptions optimizer = ToOptimizerOptions(params.optimizer, total);

  R1_ASSIGN_OR_RETURN(std::optional<ResumePoint> resume, FindResumePoint(context));
  R1_RETURN_IF_ERROR(DropLogsAfter(context, resume ? resume->step : 0));
  R1_RETURN_IF_ERROR(LoadTrainable(context, slot, optimizer, resume));
  R1_ASSIGN_OR_RETURN(int32_t eos, context.worker->EosId());
  R1_ASSIGN_OR_RETURN(const PromptTemplate tmpl, StagePromptTemplate(context));
  MetricsWriter metrics(*context.run_dir, stage.name);
  DataCursor cursor(n, context.seed);
  StepMetrics last;

  for (int64_t step = resume ? resume->step : 0; step < total; ++step) {
    const double start = NowSeconds();
    R1_ASSIGN_OR_RETURN(TrainBatch batch, SupervisedBatch(context, tmpl, cursor, step, eos));
    auto step_metrics = context.worker->TrainStep(slot, batch);
    if (!step_metrics.ok()) {
      return Annotate(step_metrics.status(),
                      absl::StrCat("stage ", stage.name, " step ", step, ": "));
    }
    last = *step_metrics;
    const double seconds = NowSeconds() - start;
    last["step_seconds"] = seconds;
    if (seconds > 0) last["train_tokens_per_s"] = last["tokens"] / seconds;
    if (params.log_every > 0 && ((step + 1) % params.log_every == 0 || step + 1 == total)) {
      R1_RETURN_IF_ERROR(metrics.Write(step + 1, last));
    }
    Report(context, step + 1, total, last);
    if (params.checkpoint_every > 0 && (step + 1) % params.checkpoint_every == 0 &&
        step + 1 < total) {
      R1_RETURN_IF_ERROR(SaveCheckpoint(context, slot, step + 1));
    }
  }
  StageResult result;
  result.output = context.run_dir->OutputDir(stage.name);
  R1_RETURN_IF_ERROR(context.worker->Save(slot, result.output, "", /*weights_only=*/true));
  result.summary = last;
  result.summary["steps"] = static_cast<double>(total);
  return result;
}

}  // namespace r1
