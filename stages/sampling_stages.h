// Stage loops that sample from a frozen model: eval (pass@1 from k samples, maj@k, format rate,
// response length -> eval.json) and rejection_sampling (keep correct, readable samples, mix in
// non-reasoning data -> a JSONL dataset that an sft stage consumes).
#ifndef R1_STAGES_SAMPLING_STAGES_H_
#define R1_STAGES_SAMPLING_STAGES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "pipeline/datasets.h"
#include "stages/stage.h"

namespace r1 {

// Scores of one problem's k samples (the pure part of eval, tested by hand).
struct ProblemSamples {
  std::vector<bool> correct;         // per sample
  std::vector<std::string> answers;  // normalised extracted answer per sample ("" = none)
};

// pass@1 estimated from k samples: mean over problems of (correct samples / k).
double PassAt1(const std::vector<ProblemSamples>& problems);
// maj@k: share of problems whose most frequent non-empty answer (ties: the one seen first) is
// correct. A problem with no answer at all counts as wrong.
double MajorityAtK(const std::vector<ProblemSamples>& problems);

// One eval sample graded against its example. Direct-answer tasks (the synthetic non-reasoning
// tasks of pipeline/synthetic.h: echo, reverse, uppercase, successor, greeting, identity) are
// graded by exact match: the content of the last <answer>...</answer> if the response has one, else
// the whole response, trimmed, must equal the trimmed reference (case-sensitive). Every other task
// is graded by math verification (GradeMathAnswer: numbers, GSM8K, countdown expressions). `answer`
// is what maj@k votes on ("" = no answer found).
struct EvalGrade {
  bool correct = false;
  std::string answer;
};
EvalGrade GradeEvalSample(const Example& example, absl::string_view response);

// Runs an eval stage: examples of task "code" are graded by the code reward (params
// `eval.code`; a sample is correct when it passes every test, maj@k votes on its code block),
// every other example by GradeEvalSample. Writes RUN_DIR/STAGE/output/eval.json and returns its
// numbers as summary ("pass@1", "maj@k", "format_rate", "response_length_mean", "problems", "k").
absl::StatusOr<StageResult> RunEvalStage(const StageContext& context);

// Runs a rejection_sampling stage: writes RUN_DIR/STAGE/output/data.jsonl (prompt_answer format,
// the kept response as "solution") and returns counts per reason as summary ("total", "kept",
// "rejected_incorrect", "rejected_format", "rejected_language", "rejected_length",
// "rejected_duplicate", "rejected_over_limit", "non_reasoning"). Keeping nothing is not an error
// here (the dataset is empty and the counts say why); an sft stage fed by it fails for lack of
// data.
absl::StatusOr<StageResult> RunRejectionSamplingStage(const StageContext& context);

}  // namespace r1

#endif  // R1_STAGES_SAMPLING_STAGES_H_
