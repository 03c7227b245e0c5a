// Eval and rejection-sampling stage loops (see sampling_stages.h).
#include "stages/sampling_stages.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "pipeline/jsonl.h"
#include "pipeline/metrics.h"
#include "pipeline/synthetic.h"
#include "stages/rewards/accuracy.h"
#include "stages/rewards/code.h"
#include "stages/rewards/format.h"
#include "stages/rewards/language.h"
#include "stages/rewards/math_answer.h"
#include "stages/stage_util.h"

namespace r1 {
namespace {

constexpr size_t kRequestsPerCall = 64;  // progress granularity of generation

// Samples k responses for each prompt; out[i] holds prompt i's k rollouts.
absl::StatusOr<std::vector<std::vector<Rollout>>> SampleK(const StageContext& context,
                                                          const std::vector<std::string>& prompts,
                                                          int64_t k, const SamplingConfig& s,
                                                          int64_t* tokens) {
  R1_ASSIGN_OR_RETURN(std::vector<TokenSeq> ids, context.worker->Tokenize(prompts));
  std::vector<RolloutRequest> requests;
  for (size_t i = 0; i < ids.size(); ++i) {
    for (int64_t j = 0; j < k; ++j) {
      RolloutRequest r;
      r.prompt = ids[i];
      r.sampling.temperature = static_cast<float>(s.temperature);
      r.sampling.top_p = static_cast<float>(s.top_p);
      r.sampling.max_new_tokens = static_cast<int32_t>(s.max_new_tokens);
      r.sampling.seed = RequestSeed(context.seed, 0, static_cast<int64_t>(i) * k + j);
      requests.push_back(std::move(r));
    }
  }
  std::vector<Rollout> all;
  const int64_t total_calls =
      static_cast<int64_t>((requests.size() + kRequestsPerCall - 1) / kRequestsPerCall);
  for (size_t begin = 0; begin < requests.size(); begin += kRequestsPerCall) {
    std::vector<RolloutRequest> chunk(
        requests.begin() + begin,
        requests.begin() + std::min(requests.size(), begin + kRequestsPerCall));
    auto out = context.worker->Generate("policy", chunk);
    if (!out.ok()) {
      return Annotate(out.status(), absl::StrCat("stage ", context.stage->name, ": "));
    }
    for (auto& r : *out) {
      *tokens += static_cast<int64_t>(r.response.size());
      all.push_back(std::move(r));
    }
    if (context.on_progress) {
      context.on_progress(
          StageProgress{static_cast<int64_t>(begin / kRequestsPerCall) + 1, total_calls, {}});
    }
  }
  std::vector<std::vector<Rollout>> grouped(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    grouped[i].assign(std::make_move_iterator(all.begin() + static_cast<long>(i * k)),
                      std::make_move_iterator(all.begin() + static_cast<long>((i + 1) * k)));
  }
  return grouped;
}

absl::Status RequireReferences(const StageContext& context) {
  for (const Example& ex : context.examples) {
    if (ex.reference.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("stage ", context.stage->name, ": example ",
                                                     ex.id, " has no reference answer to grade"));
    }
  }
  if (context.examples.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("stage ", context.stage->name, ": no prompts"));
  }
  return absl::OkStatus();
}

// The counters of a rejection-sampling stage (its metrics line and summary), all present from the
// start.
std::map<std::string, double> RejectionCounts() {
  std::map<std::string, double> counts;
  for (const char* key :
       {"total", "kept", "rejected_incorrect", "rejected_format", "rejected_language",
        "rejected_length", "rejected_duplicate", "rejected_over_limit", "non_reasoning"}) {
    counts[key] = 0;
  }
  return counts;
}

// Why `rollout` of `example` is not kept: its counter ("rejected_incorrect", ...), or nullptr to
// keep it. The filters run in the order of the counters; `seen` gathers the texts that reach the
// duplicate check, `kept` is how many of the example's rollouts are kept so far.
const char* RejectionReason(const Example& example, const Rollout& rollout,
                            const RejectionSamplingParams& p, int64_t kept,
                            std::set<std::string>* seen) {
  if (!GradeMathAnswer(rollout.text, example.reference, AccuracyOptions{}).correct) {
    return "rejected_incorrect";
  }
  if (p.filters.require_format && !MatchesThinkAnswerFormat(rollout.text)) {
    return "rejected_format";
  }
  if (p.filters.language_threshold > 0.0) {
    auto share = LanguageConsistency(rollout.text, example.prompt, LanguageOptions{});
    if (!share.ok() || *share < p.filters.language_threshold) return "rejected_language";
  }
  if (p.filters.max_response_tokens > 0 &&
      static_cast<int64_t>(rollout.response.size()) > p.filters.max_response_tokens) {
    return "rejected_length";
  }
  if (p.dedupe && !seen->insert(rollout.text).second) return "rejected_duplicate";
  if (kept >= p.max_kept_per_prompt) return "rejected_over_limit";
  return nullptr;
}

// The kept rollouts of every example, as examples "<id>#<n>" whose solution is the rollout; each
// rollout is counted in `counts` as kept or under its rejection reason.
std::vector<nlohmann::json> KeptExamples(const StageContext& context,
                                         const RejectionSamplingParams& p,
                                         const std::vector<std::vector<Rollout>>& rollouts,
                                         std::map<std::string, double>* counts) {
  std::vector<nlohmann::json> out;
  for (size_t i = 0; i < context.examples.size(); ++i) {
    const Example& ex = context.examples[i];
    std::set<std::string> seen;
    int64_t kept_here = 0;
    for (const Rollout& r : rollouts[i]) {
      (*counts)["total"] += 1;
      if (const char* reason = RejectionReason(ex, r, p, kept_here, &seen)) {
        (*counts)[reason] += 1;
        continue;
      }
      ++kept_here;
      (*counts)["kept"] += 1;
      Example kept = ex;
      kept.id = absl::StrCat(ex.id, "#", kept_here);
      kept.solution = r.text;
      kept.messages.clear();
      out.push_back(ExampleToJson(kept));
    }
  }
  return out;
}

// Non-reasoning data so that the SFT'd model keeps its general skills: ratio r of the output
// (r / (1 - r) times the kept count), in the order ShuffledOrder(seed) gives.
void AddNonReasoning(const StageContext& context, const RejectionSamplingParams& p,
                     std::map<std::string, double>* counts, std::vector<nlohmann::json>* out) {
  if (p.non_reasoning_ratio <= 0.0 || context.non_reasoning.empty()) return;
  const auto want = static_cast<int64_t>(
      std::llround((*counts)["kept"] * p.non_reasoning_ratio / (1.0 - p.non_reasoning_ratio)));
  const std::vector<int64_t> order =
      ShuffledOrder(static_cast<int64_t>(context.non_reasoning.size()), context.seed);
  for (int64_t j = 0; j < want && j < static_cast<int64_t>(order.size()); ++j) {
    out->push_back(
        ExampleToJson(context.non_reasoning[static_cast<size_t>(order[static_cast<size_t>(j)])]));
    (*counts)["non_reasoning"] += 1;
  }
}

bool IsCodeExample(const Example& example) { return example.task == "code"; }

// A code example's sample: correct when its last code block passes every test (whatever the
// reward's mode); maj@k votes on the code block.
absl::StatusOr<EvalGrade> GradeCodeSample(const RuleReward& code, const Example& example,
                                          absl::string_view response) {
  RewardInput input;
  input.prompt = example.prompt;
  input.response = response;
  input.reference = example.reference;
  R1_ASSIGN_OR_RETURN(RewardValue value, code.Compute(input));
  double passed = 0, tests = 0;
  for (const auto& [key, count] : value.counts) {
    if (key == "passed") passed = count;
    if (key == "tests") tests = count;
  }
  return EvalGrade{tests > 0 && passed == tests, value.extracted};
}

}  // namespace

EvalGrade GradeEvalSample(const Example& example, absl::string_view response) {
  EvalGrade out;
  const auto& direct = SimpleTaskNames();
  if (std::find(direct.begin(), direct.end(), example.task) != direct.end()) {
    absl::string_view answer = response;
    const size_t open = response.rfind("<answer>");
    if (open != absl::string_view::npos) {
      const size_t close = response.find("</answer>", open);
      if (close != absl::string_view::npos) {
        answer = response.substr(open + 8, close - open - 8);
      }
    }
    out.answer = std::string(absl::StripAsciiWhitespace(answer));
    out.correct =
        !out.answer.empty() && out.answer == absl::StripAsciiWhitespace(example.reference);
    return out;
  }
  AccuracyGrade grade = GradeMathAnswer(response, example.reference, AccuracyOptions{});
  out.correct = grade.correct;
  out.answer = grade.answer.text.empty() ? "" : NormalizeAnswer(grade.answer.text);
  return out;
}

double PassAt1(const std::vector<ProblemSamples>& problems) {
  if (problems.empty()) return 0.0;
  double sum = 0.0;
  for (const auto& p : problems) {
    if (p.correct.empty()) continue;
    sum += static_cast<double>(std::count(p.correct.begin(), p.correct.end(), true)) /
           static_cast<double>(p.correct.size());
  }
  return sum / static_cast<double>(problems.size());
}

double MajorityAtK(const std::vector<ProblemSamples>& problems) {
  if (problems.empty()) return 0.0;
  int64_t right = 0;
  for (const auto& p : problems) {
    std::map<std::string, int> votes;
    for (const auto& answer : p.answers) {
      if (!answer.empty()) ++votes[answer];
    }
    int best_votes = 0;
    size_t best_index = 0;
    for (size_t i = 0; i < p.answers.size(); ++i) {  // first seen wins ties
      if (!p.answers[i].empty() && votes[p.answers[i]] > best_votes) {
        best_votes = votes[p.answers[i]];
        best_index = i;
      }
    }
    if (best_votes > 0 && p.correct[best_index]) ++right;
  }
  return static_cast<double>(right) / static_cast<double>(problems.size());
}

namespace {

// The code reward that grades an eval's code examples (eval.code params), or null when none of
// the first n examples is one.
absl::StatusOr<std::unique_ptr<RuleReward>> EvalCodeReward(const StageContext& context, size_t n) {
  if (!std::any_of(context.examples.begin(), context.examples.begin() + static_cast<long>(n),
                   IsCodeExample)) {
    return std::unique_ptr<RuleReward>();
  }
  auto made = MakeCodeReward(context.stage->eval.code);
  if (!made.ok()) {
    return Annotate(made.status(), absl::StrCat("stage ", context.stage->name, ": eval.code: "));
  }
  return *std::move(made);
}

}  // namespace

absl::StatusOr<StageResult> RunEvalStage(const StageContext& context) {
  const StageConfig& stage = *context.stage;
  const EvalParams& p = stage.eval;
  R1_RETURN_IF_ERROR(RequireReferences(context));
  R1_RETURN_IF_ERROR(context.worker->LoadModel("policy", context.model_dir, nullptr, ""));
  const size_t n = p.max_examples > 0
                       ? std::min(context.examples.size(), static_cast<size_t>(p.max_examples))
                       : context.examples.size();
  R1_ASSIGN_OR_RETURN(const std::unique_ptr<RuleReward> code, EvalCodeReward(context, n));
  R1_ASSIGN_OR_RETURN(const PromptTemplate tmpl, StagePromptTemplate(context));
  std::vector<std::string> prompts;
  for (size_t i = 0; i < n; ++i) prompts.push_back(tmpl.RenderPrompt(context.examples[i].prompt));
  int64_t tokens = 0;
  const double start = NowSeconds();
  R1_ASSIGN_OR_RETURN(auto rollouts,
                      SampleK(context, prompts, p.samples_per_prompt, p.sampling, &tokens));
  const double seconds = NowSeconds() - start;

  std::vector<ProblemSamples> problems(n);
  std::map<std::string, std::vector<ProblemSamples>> by_task;
  double format_sum = 0.0, format_count = 0.0, length_sum = 0.0;
  std::vector<RolloutSample> samples;
  for (size_t i = 0; i < n; ++i) {
    const Example& ex = context.examples[i];
    for (const Rollout& r : rollouts[i]) {
      EvalGrade grade;
      if (IsCodeExample(ex)) {
        R1_ASSIGN_OR_RETURN(grade, GradeCodeSample(*code, ex, r.text));
      } else {
        grade = GradeEvalSample(ex, r.text);
      }
      problems[i].correct.push_back(grade.correct);
      problems[i].answers.push_back(std::move(grade.answer));
      if (ex.reasoning) {  // general prompts are answered directly, without <think>
        format_sum += MatchesThinkAnswerFormat(r.text) ? 1.0 : 0.0;
        format_count += 1.0;
      }
      length_sum += static_cast<double>(r.response.size());
    }
    by_task[ex.task.empty() ? "all" : ex.task].push_back(problems[i]);
    if (samples.size() < 8) {
      samples.push_back({ex.prompt, rollouts[i][0].text, problems[i].correct[0] ? 1.0 : 0.0, {}});
    }
  }
  const double num_samples = static_cast<double>(n * static_cast<size_t>(p.samples_per_prompt));
  nlohmann::json report = {
      {"stage", stage.name},
      {"model", context.model_dir},
      {"problems", n},
      {"k", p.samples_per_prompt},
      {"temperature", p.sampling.temperature},
      {"pass@1", PassAt1(problems)},
      {"maj@k", MajorityAtK(problems)},
      {"response_length_mean", num_samples > 0 ? length_sum / num_samples : 0.0},
      {"rollout_tokens_per_s", seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0},
  };
  // The format rate of reasoning prompts; absent when the eval has none.
  if (format_count > 0) report["format_rate"] = format_sum / format_count;
  nlohmann::json tasks = nlohmann::json::object();
  for (const auto& [task, list] : by_task) {
    tasks[task] = {
        {"problems", list.size()}, {"pass@1", PassAt1(list)}, {"maj@k", MajorityAtK(list)}};
  }
  report["tasks"] = tasks;

  StageResult result;
  const std::string out_dir = context.run_dir->OutputDir(stage.name);
  R1_RETURN_IF_ERROR(MakeDirs(out_dir));
  result.output = JoinPath(out_dir, "eval.json");
  R1_RETURN_IF_ERROR(WriteFileAtomic(result.output, report.dump(2) + "\n"));
  R1_RETURN_IF_ERROR(SamplesWriter(context.run_dir->SamplesPath(stage.name)).Write(0, samples));
  for (const char* key :
       {"pass@1", "maj@k", "format_rate", "response_length_mean", "problems", "k"}) {
    if (report.contains(key)) result.summary[key] = report[key].get<double>();
  }
  return result;
}

absl::StatusOr<StageResult> RunRejectionSamplingStage(const StageContext& context) {
  const StageConfig& stage = *context.stage;
  const RejectionSamplingParams& p = stage.rejection_sampling;
  R1_RETURN_IF_ERROR(RequireReferences(context));
  R1_RETURN_IF_ERROR(context.worker->LoadModel("policy", context.model_dir, nullptr, ""));
  R1_ASSIGN_OR_RETURN(const PromptTemplate tmpl, StagePromptTemplate(context));
  std::vector<std::string> prompts;
  for (const Example& ex : context.examples) prompts.push_back(tmpl.RenderPrompt(ex.prompt));
  int64_t tokens = 0;
  R1_ASSIGN_OR_RETURN(auto rollouts,
                      SampleK(context, prompts, p.samples_per_prompt, p.sampling, &tokens));

  std::map<std::string, double> counts = RejectionCounts();
  std::vector<nlohmann::json> out = KeptExamples(context, p, rollouts, &counts);
  AddNonReasoning(context, p, &counts, &out);
  StageResult result;
  const std::string out_dir = context.run_dir->OutputDir(stage.name);
  R1_RETURN_IF_ERROR(MakeDirs(out_dir));
  result.output = JoinPath(out_dir, "data.jsonl");
  R1_RETURN_IF_ERROR(WriteJsonlAtomic(result.output, out));
  // An attempt that died after logging ran everything again: its line and event go first.
  R1_RETURN_IF_ERROR(DropLogsAfter(context, 0));
  R1_RETURN_IF_ERROR(MetricsWriter(*context.run_dir, stage.name).Write(1, counts));
  result.summary = counts;
  return result;
}

}  // namespace r1
