// The GRPO stage loop (see grpo_stage.h).
#include "stages/grpo_stage.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"
#include "pipeline/metrics.h"
#include "stages/advantages.h"
#include "stages/rewards/reward.h"
#include "stages/rewards/reward_model.h"
#include "stages/stage_util.h"

namespace r1 {
namespace {

// On-policy steps skip the old-policy forward, except one in this many (see step 3).
constexpr int64_t kMismatchCheckEvery = 10;

// One rollout's rule rewards: their weighted total, each rule reward's part (0 where it does not
// apply) in the mix's order, and the rules' counts.
struct RuleScore {
  double total = 0.0;
  std::vector<std::pair<std::string, double>> parts;
  std::map<std::string, double> counts;
};

// One prompt of a step with its G rollouts.
struct Group {
  const Example* example = nullptr;
  TokenSeq prompt;
  std::vector<Rollout> rollouts;
  // Rule rewards computed while the other rollouts still decoded, one per rollout; empty: not
  // computed yet (rollouts read back from a checkpoint).
  std::vector<RuleScore> rule_scores;
  // Reward-model scores computed on a scoring thread while other groups still decoded: one row
  // per reward model of the mix, in its order, holding the G rollouts' scores (empty where the
  // model does not apply to the example); empty: not computed yet.
  std::vector<std::vector<float>> model_scores;
  // Filled by StageRewards::Score, one value per rollout; empty until scored.
  std::vector<double> rewards;                       // weighted total
  std::map<std::string, std::vector<double>> parts;  // unweighted, by reward name
  std::map<std::string, double> counts;  // rule rewards' counts summed over the rollouts
};

// The flat [groups * G] rewards and parts of `groups`, in order (the advantages' layout).
void Flatten(const std::vector<Group>& groups, std::vector<double>* totals,
             std::map<std::string, std::vector<double>>* parts) {
  totals->clear();
  parts->clear();
  for (const Group& g : groups) {
    totals->insert(totals->end(), g.rewards.begin(), g.rewards.end());
    for (const auto& [name, values] : g.parts) {
      auto& out = (*parts)[name];
      out.insert(out.end(), values.begin(), values.end());
    }
  }
}

// The reward mix of the stage: rule rewards computed here, reward-model rewards on the worker.
class StageRewards {
 public:
  static absl::StatusOr<std::unique_ptr<StageRewards>> Create(const StageContext& context) {
    auto out = std::make_unique<StageRewards>();
    std::map<Target, std::vector<RewardSpec>> rule_specs;
    const auto& specs = context.stage->grpo.rewards;
    for (size_t i = 0; i < specs.size(); ++i) {
      const Target target = ResolveTarget(specs[i]);
      if (specs[i].name == "reward_model") {
        auto dir = context.reward_model_dirs.find(i);
        if (dir == context.reward_model_dirs.end()) {
          return absl::InvalidArgumentError(
              absl::StrCat("stage ", context.stage->name, ": rewards[", i, "] has no model"));
        }
        const std::string slot = absl::StrCat("reward", i);
        R1_RETURN_IF_ERROR(context.worker->LoadModel(slot, dir->second, nullptr, ""));
        out->models_.push_back({slot, absl::StrCat("reward_model", i), specs[i].weight,
                                specs[i].scope == RewardScope::kAnswer
                                    ? RewardModelScope::kFinalAnswer
                                    : RewardModelScope::kWholeResponse,
                                target});
      } else {
        rule_specs[target].push_back(RewardSpec{specs[i].name, specs[i].weight, specs[i].params});
      }
    }
    static const RewardRegistry* registry = new RewardRegistry(BuiltinRewardRegistry());
    for (auto& [target, list] : rule_specs) {
      auto composite = CompositeReward::Create(list, *registry);
      if (!composite.ok()) {
        return Annotate(composite.status(), absl::StrCat("stage ", context.stage->name, ": "));
      }
      RuleRewards rules{target, std::make_unique<CompositeReward>(*std::move(composite)), {}};
      for (const RewardSpec& spec : list) rules.names.push_back(spec.name);
      out->rules_.push_back(std::move(rules));
    }
    return out;
  }

  // The rule rewards of one rollout of `example`. Const: may run on the thread that receives
  // rollouts while they stream in.
  absl::StatusOr<RuleScore> ScoreRules(const Example& example, const Rollout& r) const {
    RuleScore out;
    RewardInput input;
    input.prompt = example.prompt;
    input.response = r.text;
    input.reference = example.reference;
    input.response_length_tokens = static_cast<int64_t>(r.response.size());
    for (const RuleRewards& rules : rules_) {
      if (!Applies(rules.target, example)) {
        for (const std::string& name : rules.names) out.parts.emplace_back(name, 0.0);
        continue;
      }
      R1_ASSIGN_OR_RETURN(RewardBreakdown b, rules.reward->Compute(input));
      out.total += b.total;
      for (const auto& [name, value] : b.parts) out.parts.emplace_back(name, value);
      for (const auto& [key, count] : b.counts) out.counts[key] += count;
    }
    return out;
  }

  bool HasModels() const { return !models_.empty(); }

  // Group::model_scores of one group: `texts` are its G rollouts' texts. Const, and calls only
  // worker->Tokenize and worker->Score (one call each per reward model that applies): may run on
  // a scoring thread while other groups decode. Errors name the reward and the call.
  absl::StatusOr<std::vector<std::vector<float>>> ScoreModels(
      WorkerClient* worker, const Example& example, const TokenSeq& prompt,
      const std::vector<std::string>& texts) const {
    std::vector<std::vector<float>> out(models_.size());
    for (size_t k = 0; k < models_.size(); ++k) {
      const ModelReward& m = models_[k];
      if (!Applies(m.target, example) || texts.empty()) continue;
      std::vector<std::string> scoped;
      for (const std::string& text : texts) scoped.emplace_back(ScopedResponse(m.scope, text));
      R1_ASSIGN_OR_RETURN(
          out[k], ScoreTexts(worker, m, std::vector<TokenSeq>(texts.size(), prompt), scoped));
    }
    return out;
  }

  // Scores the rollouts of every group not scored yet (each is scored once, however many
  // dynamic-sampling rounds it survives); rule rewards and reward-model scores already computed
  // while decoding are used as they are.
  absl::Status Score(WorkerClient* worker, std::vector<Group>* groups) const {
    std::vector<Group*> todo;
    for (Group& g : *groups) {
      if (g.rewards.empty()) todo.push_back(&g);
    }
    // A reward that does not apply to a prompt adds nothing; its part is recorded as 0 so that
    // every part stays aligned with the rollouts.
    for (Group* g : todo) {
      g->rewards.assign(g->rollouts.size(), 0.0);
      for (size_t j = 0; j < g->rollouts.size(); ++j) {
        RuleScore rules;
        if (!g->rule_scores.empty()) {
          rules = g->rule_scores[j];
        } else {
          R1_ASSIGN_OR_RETURN(rules, ScoreRules(*g->example, g->rollouts[j]));
        }
        g->rewards[j] += rules.total;
        for (const auto& [name, value] : rules.parts) g->parts[name].push_back(value);
        for (const auto& [key, count] : rules.counts) g->counts[key] += count;
      }
    }
    for (size_t k = 0; k < models_.size(); ++k) {
      const ModelReward& m = models_[k];
      std::vector<TokenSeq> prompts;
      std::vector<std::string> texts;
      for (const Group* g : todo) {
        if (!Applies(m.target, *g->example) || !g->model_scores.empty()) continue;
        for (const Rollout& r : g->rollouts) {
          prompts.push_back(g->prompt);
          texts.emplace_back(ScopedResponse(m.scope, r.text));
        }
      }
      std::vector<float> scores;
      if (!prompts.empty()) {
        R1_ASSIGN_OR_RETURN(scores, ScoreTexts(worker, m, prompts, texts));
      }
      size_t i = 0;
      for (Group* g : todo) {
        const bool applies = Applies(m.target, *g->example);
        const bool scored = !g->model_scores.empty();  // while decoding
        for (size_t j = 0; j < g->rollouts.size(); ++j) {
          const double score = !applies ? 0.0 : scored ? g->model_scores[k][j] : scores[i++];
          g->rewards[j] += m.weight * score;
          g->parts[m.name].push_back(score);
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  using Target = RewardTarget;  // resolved: never kAuto
  static Target ResolveTarget(const RewardConfig& spec) {
    if (spec.applies_to != Target::kAuto) return spec.applies_to;
    if (spec.name == "reward_model") return Target::kGeneral;
    return spec.name == "overlong" ? Target::kAll : Target::kReasoning;
  }
  static bool Applies(Target target, const Example& example) {
    return target == Target::kAll || (target == Target::kReasoning) == example.reasoning;
  }
  struct RuleRewards {
    Target target;
    std::unique_ptr<CompositeReward> reward;
    std::vector<std::string> names;  // the parts it produces
  };
  struct ModelReward {
    std::string slot, name;
    double weight;
    RewardModelScope scope;
    Target target;
  };
  // One score of `m` per (prompt, scoped response text): Tokenize, then Score. Errors name the
  // reward and the call.
  static absl::StatusOr<std::vector<float>> ScoreTexts(WorkerClient* worker, const ModelReward& m,
                                                       const std::vector<TokenSeq>& prompts,
                                                       const std::vector<std::string>& texts) {
    absl::StatusOr<std::vector<TokenSeq>> responses = worker->Tokenize(texts);
    if (!responses.ok()) return Annotate(responses.status(), absl::StrCat(m.name, ": Tokenize: "));
    absl::StatusOr<std::vector<float>> scores = worker->Score(m.slot, prompts, *responses);
    if (!scores.ok()) return Annotate(scores.status(), absl::StrCat(m.name, ": Score: "));
    if (scores->size() != texts.size()) {
      return absl::InternalError(absl::StrCat(m.name, ": Score: ", scores->size(), " scores for ",
                                              texts.size(), " responses"));
    }
    return scores;
  }

  std::vector<RuleRewards> rules_;
  std::vector<ModelReward> models_;
};

// The mean of the values whose mask entry is non-zero; 0 when there are none.
double MaskedMean(const std::vector<double>& values, const std::vector<double>& mask) {
  double sum = 0.0, count = 0.0;
  for (size_t i = 0; i < values.size() && i < mask.size(); ++i) {
    sum += values[i] * mask[i];
    count += mask[i];
  }
  return count > 0 ? sum / count : 0.0;
}

double Mean(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// reward_mean, reward/<part>, accuracy and format rate over the reasoning prompts (general
// prompts are not graded by them), and reward_count/<reward>/<key> sums of the rule rewards'
// counts (code: tests by outcome), each prefixed by `prefix`.
void LogRewardMetrics(const std::vector<Group>& groups, const std::string& prefix, StepMetrics* m) {
  std::vector<double> totals;
  std::map<std::string, std::vector<double>> parts;
  Flatten(groups, &totals, &parts);
  (*m)[prefix + "reward_mean"] = Mean(totals);
  for (const auto& [name, values] : parts)
    (*m)[absl::StrCat(prefix, "reward/", name)] = Mean(values);
  std::vector<double> reasoning_mask;
  for (const Group& g : groups) {
    reasoning_mask.insert(reasoning_mask.end(), g.rollouts.size(), g.example->reasoning ? 1 : 0);
  }
  if (parts.count("accuracy"))
    (*m)[prefix + "accuracy"] = MaskedMean(parts["accuracy"], reasoning_mask);
  if (parts.count("format"))
    (*m)[prefix + "format_rate"] = MaskedMean(parts["format"], reasoning_mask);
  // Rule rewards' counts over the step's responses, e.g. reward_count/code/timeout.
  std::map<std::string, double> counts;
  for (const Group& g : groups) {
    for (const auto& [key, count] : g.counts) counts[key] += count;
  }
  for (const auto& [key, count] : counts) (*m)[absl::StrCat(prefix, "reward_count/", key)] = count;
}

// What one GRPO stage run shares across its steps: the context, the parsed settings, the reward
// mix, the data cursors and the writers. The steps below read like the recipe: sample groups ->
// score -> advantages -> log-probs -> update -> sync -> log / checkpoint.
struct GrpoRun {
  const StageContext& context;
  const GrpoParams& p;
  const PromptTemplate& tmpl;  // StagePromptTemplate
  WorkerClient* worker;
  std::unique_ptr<StageRewards> rewards;
  AdvantageEstimator estimator;
  DataCursor cursor;
  DataCursor refill_cursor;
  MetricsWriter metrics;
  SamplesWriter samples;
  bool refresh = false;       // the KL reference is refreshed every reference_refresh_every
  std::string refreshed_dir;  // STAGE/reference
  // Files a checkpoint holds beside the weights (asynchronous RL: the rollouts sampled ahead);
  // may be empty.
  std::function<absl::StatusOr<std::map<std::string, std::string>>()> checkpoint_extras;

  // The reference refreshed at `step` (STAGE/reference/step-NNNNNN), kept until a checkpoint
  // past the next refresh makes it unreachable by a resume.
  std::string RefreshedAt(int64_t step) const {
    return JoinPath(refreshed_dir, absl::StrFormat("step-%06d", step));
  }
};

// A step's groups after sampling and scoring, with their flat rewards and advantages.
struct SampledGroups {
  std::vector<Group> groups;
  std::vector<double> totals;                        // [groups * G] weighted rewards
  std::map<std::string, std::vector<double>> parts;  // unweighted, by reward name
  AdvantageResult adv;
};

// The training sequences of a step: non-empty responses with their prompts and advantages.
struct StepSequences {
  std::vector<TokenSeq> prompts, responses;
  std::vector<const std::vector<float>*> sampled_logprobs;  // the rollout engine's
  std::vector<float> advantages;
};

// Loads the policy (trainable, from the resume checkpoint if any) and the KL reference: the
// stage's starting model, or on resume the one refreshed last before the checkpoint, so that a
// resumed run computes the same KL as an uninterrupted one.
absl::Status LoadPolicyAndReference(const GrpoRun& run, const std::optional<ResumePoint>& resume) {
  const GrpoParams& p = run.p;
  const StageContext& context = run.context;
  R1_RETURN_IF_ERROR(
      LoadTrainable(context, "policy", ToOptimizerOptions(p.optimizer, p.steps), resume));
  if (p.kl_coef <= 0.0) return absl::OkStatus();
  std::string ref_dir =
      context.model_dir.empty() && resume.has_value() ? resume->dir : context.model_dir;
  const int64_t last_refresh =
      run.refresh && resume.has_value()
          ? resume->step / p.reference_refresh_every * p.reference_refresh_every
          : 0;
  if (last_refresh > 0) ref_dir = run.RefreshedAt(last_refresh);
  if (ref_dir.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stage ", context.stage->name, ": kl_coef > 0 needs an input model as reference"));
  }
  return run.worker->LoadModel("reference", ref_dir, nullptr, "");
}

// Step 1 of one sampling round: `want` prompts of round `round` of `step`, tokenized, and G
// rollout requests for each (seeds from the stage seed, step, round and index).
struct RoundRequests {
  std::vector<Group> groups;  // example and prompt set; no rollouts yet
  std::vector<RolloutRequest> requests;
};

absl::StatusOr<RoundRequests> PrepareRound(GrpoRun& run, int64_t step, int round, int64_t want) {
  const GrpoParams& p = run.p;
  const std::vector<Example>& examples = run.context.examples;
  RoundRequests out;
  out.groups.resize(static_cast<size_t>(want));
  std::vector<std::string> texts;
  for (int64_t i = 0; i < want; ++i) {
    const int64_t index = round == 0
                              ? run.cursor.At(step * p.prompts_per_step + i)
                              : run.refill_cursor.At((step * 3 + round) * p.prompts_per_step + i);
    out.groups[static_cast<size_t>(i)].example = &examples[static_cast<size_t>(index)];
    texts.push_back(run.tmpl.RenderPrompt(examples[static_cast<size_t>(index)].prompt));
  }
  R1_ASSIGN_OR_RETURN(std::vector<TokenSeq> prompt_ids, run.worker->Tokenize(texts));
  for (int64_t i = 0; i < want; ++i) {
    out.groups[static_cast<size_t>(i)].prompt = prompt_ids[static_cast<size_t>(i)];
    for (int64_t g = 0; g < p.group_size; ++g) {
      RolloutRequest r;
      r.prompt = prompt_ids[static_cast<size_t>(i)];
      r.sampling.temperature = static_cast<float>(p.sampling.temperature);
      r.sampling.top_p = static_cast<float>(p.sampling.top_p);
      r.sampling.max_new_tokens = static_cast<int32_t>(p.sampling.max_new_tokens);
      r.sampling.seed = RequestSeed(run.context.seed, step * 3 + round, i * p.group_size + g);
      out.requests.push_back(std::move(r));
    }
  }
  return out;
}

// A sampled round: its groups with rollouts and their rule rewards, what sampling them cost, and
// the step whose starting weights sampled them (the current step unless sampled ahead).
struct SampledRound {
  std::vector<Group> groups;
  int64_t rollout_tokens = 0;
  double generate_seconds = 0.0;
  double rule_seconds = 0.0;  // of generate_seconds, spent on rule rewards while others decoded
  // Reward-model scoring on the scoring thread (CanScoreWhileGenerating): its seconds before the
  // decode ended, and how long the round then waited for it to finish.
  double model_overlapped_seconds = 0.0;
  double model_wait_seconds = 0.0;
  int64_t policy_step = 0;
};

// Reward-model scoring while the rollouts decode: the thread that receives the rollouts pushes
// each group as soon as its G rollouts are in (Push never waits: the queue holds at most the
// round's groups), and a thread of its own scores them in turn, one Tokenize and Score per group
// and reward model, so that what each call holds does not depend on timing. Thread-safety: every
// method from one thread (the receiving one); the destructor stops and joins the scoring thread.
class ModelScoringThread {
 public:
  struct Job {
    size_t group;  // index in the round
    const Example* example;
    TokenSeq prompt;
    std::vector<std::string> texts;  // the G rollouts' texts
  };

  // `worker` must allow CanScoreWhileGenerating; `groups`: the round's group count.
  ModelScoringThread(WorkerClient* worker, const StageRewards& rewards, size_t groups)
      : worker_(worker), rewards_(rewards), scores_(groups) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ModelScoringThread() { Stop(); }
  ModelScoringThread(const ModelScoringThread&) = delete;
  ModelScoringThread& operator=(const ModelScoringThread&) = delete;

  void Push(Job job) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(job));
    changed_.notify_all();
  }
  // The first scoring error so far (OK: none); does not wait.
  absl::Status status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  // Scores what is queued, joins the thread, and returns the first error.
  absl::Status Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      finishing_ = true;
      changed_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  // Drops what is queued, waits for the call in flight, and joins the thread.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      changed_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }
  // After Finish: Group::model_scores by group index (empty for a group never pushed).
  std::vector<std::vector<std::vector<float>>>& scores() { return scores_; }
  // After Finish: the scoring thread's seconds before `end` (a NowSeconds reading).
  double SecondsBefore(double end) const {
    double out = 0.0;
    for (const auto& [start, stop] : calls_) out += std::max(0.0, std::min(stop, end) - start);
    return out;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      changed_.wait(lock, [&] { return stop_ || finishing_ || !queue_.empty(); });
      if (stop_ || queue_.empty()) return;
      Job job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      const double start = NowSeconds();
      absl::StatusOr<std::vector<std::vector<float>>> scores =
          rewards_.ScoreModels(worker_, *job.example, job.prompt, job.texts);
      const double end = NowSeconds();
      lock.lock();
      calls_.emplace_back(start, end);
      if (!scores.ok()) {
        status_ = scores.status();
        return;
      }
      scores_[job.group] = *std::move(scores);
    }
  }

  WorkerClient* worker_;
  const StageRewards& rewards_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Job> queue_;                                // guarded by mu_
  bool finishing_ = false, stop_ = false;                // guarded by mu_
  absl::Status status_;                                  // guarded by mu_
  std::vector<std::vector<std::vector<float>>> scores_;  // [group][model][G], by the thread
  std::vector<std::pair<double, double>> calls_;         // [start, end) of each group's scoring
  std::thread thread_;                                   // last: starts once the rest is set
};

// The rest of step 1: the rollouts of `prepared` from the rollout engine's current weights, G
// per group, streamed: each rollout's rule rewards are computed as soon as it arrives, while the
// others still decode; with a `scorer` (non-null only when it CanScoreWhileGenerating) and reward
// models in the mix, each complete group's reward-model scores too, on a ModelScoringThread.
// Calls only worker->GenerateStreaming, scorer->Tokenize and Score, and rewards' const methods
// (asynchronous RL runs it on a second thread). A scoring error ends the round with it.
absl::StatusOr<SampledRound> GenerateRound(WorkerClient* worker, WorkerClient* scorer,
                                           const StageRewards& rewards, int64_t group_size,
                                           RoundRequests prepared, int64_t policy_step) {
  SampledRound out;
  out.policy_step = policy_step;
  const size_t n = prepared.requests.size();
  const size_t g_size = static_cast<size_t>(group_size);
  std::vector<Rollout> rollouts(n);
  std::vector<RuleScore> scores(n);
  std::vector<bool> seen(n, false);
  std::vector<size_t> arrived(prepared.groups.size(), 0);  // rollouts in, by group
  std::unique_ptr<ModelScoringThread> scoring;
  if (scorer != nullptr && rewards.HasModels()) {
    scoring = std::make_unique<ModelScoringThread>(scorer, rewards, prepared.groups.size());
  }
  auto scoring_error = [](const absl::Status& s) {
    return Annotate(s, "scoring while decoding: ");
  };
  const double t = NowSeconds();
  absl::Status generated = worker->GenerateStreaming(
      "policy", prepared.requests, [&](size_t i, Rollout r) -> absl::Status {
        if (i >= n) return absl::InternalError(absl::StrCat("rollout index ", i, " of ", n));
        if (seen[i]) return absl::InternalError(absl::StrCat("rollout index ", i, " twice"));
        seen[i] = true;
        const size_t g = i / g_size;
        const double start = NowSeconds();
        R1_ASSIGN_OR_RETURN(scores[i], rewards.ScoreRules(*prepared.groups[g].example, r));
        out.rule_seconds += NowSeconds() - start;
        rollouts[i] = std::move(r);
        if (++arrived[g] == g_size && scoring != nullptr) {
          ModelScoringThread::Job job{g, prepared.groups[g].example, prepared.groups[g].prompt, {}};
          for (size_t j = g * g_size; j < (g + 1) * g_size; ++j) {
            job.texts.push_back(rollouts[j].text);
          }
          scoring->Push(std::move(job));
        }
        if (scoring != nullptr) {
          if (absl::Status s = scoring->status(); !s.ok()) return scoring_error(s);
        }
        return absl::OkStatus();
      });
  out.generate_seconds = NowSeconds() - t;
  if (!generated.ok()) return generated;  // `scoring` stops and joins
  if (scoring != nullptr) {
    const double end = t + out.generate_seconds;
    absl::Status s = scoring->Finish();
    out.model_wait_seconds = NowSeconds() - end;
    if (!s.ok()) return scoring_error(s);
    out.model_overlapped_seconds = scoring->SecondsBefore(end);
    for (size_t i = 0; i < prepared.groups.size(); ++i) {
      prepared.groups[i].model_scores = std::move(scoring->scores()[i]);
    }
  }
  out.groups = std::move(prepared.groups);
  for (size_t i = 0; i < out.groups.size(); ++i) {
    Group& group = out.groups[i];
    for (size_t j = i * g_size; j < (i + 1) * g_size; ++j) {
      out.rollout_tokens += static_cast<int64_t>(rollouts[j].response.size());
      group.rollouts.push_back(std::move(rollouts[j]));
      group.rule_scores.push_back(std::move(scores[j]));
    }
  }
  return out;
}

// The worker that scores reward models while the rollouts decode (GenerateRound's `scorer`), or
// null where it cannot. Asynchronous RL has made run.worker a TrainerCallsInTurn by then.
WorkerClient* ScorerWhileDecoding(const GrpoRun& run) {
  return run.worker->CanScoreWhileGenerating() ? run.worker : nullptr;
}

// Steps 1-2: prompts and rollouts, rewards and group advantages. Dynamic sampling drops groups
// whose rewards are all equal and refills them, at most twice. Logs the reward metrics of the
// policy's fresh samples (the first round) and the sampling counters into `m`.
// With `ahead`, the first round is those rollouts (sampled ahead by asynchronous RL).
absl::StatusOr<SampledGroups> SampleAndScore(GrpoRun& run, int64_t step, StepMetrics& m,
                                             std::optional<SampledRound> ahead) {
  const GrpoParams& p = run.p;
  SampledGroups out;
  std::vector<Group> first_round_copy;  // dynamic sampling: round 0 before the drop
  double generate_s = 0.0, reward_s = 0.0, rule_s = 0.0, model_s = 0.0;
  int64_t rollout_tokens = 0, dropped = 0;
  AdvantageOptions options;
  options.estimator = run.estimator;
  options.group_size = p.group_size;
  options.drop_uniform_groups = p.dynamic_sampling;
  for (int round = 0; round < 3; ++round) {
    const int64_t want = p.prompts_per_step - static_cast<int64_t>(out.groups.size());
    if (want <= 0) break;
    SampledRound fresh;
    if (round == 0 && ahead.has_value()) {
      fresh = *std::move(ahead);
    } else {
      R1_ASSIGN_OR_RETURN(RoundRequests prepared, PrepareRound(run, step, round, want));
      R1_ASSIGN_OR_RETURN(fresh, GenerateRound(run.worker, ScorerWhileDecoding(run), *run.rewards,
                                               p.group_size, std::move(prepared), step));
      // Scoring that outlasted the decode (for a round sampled ahead, the wait was in training).
      reward_s += fresh.model_wait_seconds;
    }
    rollout_tokens += fresh.rollout_tokens;
    generate_s += fresh.generate_seconds;
    rule_s += fresh.rule_seconds;
    model_s += fresh.model_overlapped_seconds;
    for (auto& g : fresh.groups) out.groups.push_back(std::move(g));
    // Rewards and group advantages over everything sampled so far.
    const double t = NowSeconds();
    R1_RETURN_IF_ERROR(run.rewards->Score(run.worker, &out.groups));
    Flatten(out.groups, &out.totals, &out.parts);
    R1_ASSIGN_OR_RETURN(out.adv, ComputeGroupAdvantages(out.totals, options));
    reward_s += NowSeconds() - t;
    if (round == 0) {
      dropped = static_cast<int64_t>(out.adv.uniform_groups.size());
      if (p.dynamic_sampling) first_round_copy = out.groups;
    }
    if (!p.dynamic_sampling) break;
    // Keep the groups with signal and sample replacements for the others.
    std::vector<Group> kept;
    for (int64_t g : out.adv.kept_groups) {
      kept.push_back(std::move(out.groups[static_cast<size_t>(g)]));
    }
    out.groups = std::move(kept);
    Flatten(out.groups, &out.totals, &out.parts);
    R1_ASSIGN_OR_RETURN(out.adv, ComputeGroupAdvantages(out.totals, options));
  }
  // Reward, accuracy and format describe the policy's fresh samples (the first round): with
  // dynamic sampling the groups trained on are biased towards mixed outcomes.
  LogRewardMetrics(p.dynamic_sampling ? first_round_copy : out.groups, "", &m);
  if (p.dynamic_sampling) LogRewardMetrics(out.groups, "trained_", &m);
  m["uniform_groups"] = static_cast<double>(dropped);
  m["groups"] = static_cast<double>(out.groups.size());
  m["generate_seconds"] = generate_s;
  m["reward_seconds"] = reward_s;
  m["reward_overlapped_seconds"] = rule_s + model_s;
  m["reward_model_overlapped_seconds"] = model_s;
  m["rollout_tokens_per_s"] = generate_s > 0 ? static_cast<double>(rollout_tokens) / generate_s : 0;
  return out;
}

// Step 3 input: the non-empty responses with their advantages (negative ones scaled by
// negative_advantage_scale), without the truncated ones under overlong_filter (DAPO: they are
// left out of the loss only; their group's advantages were computed with them); logs the
// response-length metrics and, under overlong_filter, overlong_masked (rollouts left out).
StepSequences TrainingSequences(const GrpoRun& run, const SampledGroups& sampled, StepMetrics& m) {
  const GrpoParams& p = run.p;
  StepSequences out;
  double length_sum = 0.0, length_max = 0.0, masked = 0.0;
  for (size_t g = 0; g < sampled.groups.size(); ++g) {
    const Group& group = sampled.groups[g];
    for (size_t j = 0; j < group.rollouts.size(); ++j) {
      const Rollout& r = group.rollouts[j];
      const double len = static_cast<double>(r.response.size());
      length_sum += len;
      length_max = std::max(length_max, len);
      if (r.response.empty()) continue;
      if (p.overlong_filter && r.truncated) {
        masked += 1.0;
        continue;
      }
      out.prompts.push_back(group.prompt);
      out.responses.push_back(r.response);
      out.sampled_logprobs.push_back(&r.logprobs);
      const double a = sampled.adv.advantages[g * group.rollouts.size() + j];
      out.advantages.push_back(static_cast<float>(a < 0 ? a * p.negative_advantage_scale : a));
    }
  }
  const double num_rollouts = static_cast<double>(sampled.groups.size() * p.group_size);
  m["response_length_mean"] = num_rollouts > 0 ? length_sum / num_rollouts : 0.0;
  m["response_length_max"] = length_max;
  if (p.overlong_filter) m["overlong_masked"] = masked;
  return out;
}

// The old-policy and reference log-probs of a step's sequences.
struct StepLogprobs {
  std::vector<std::vector<float>> old_lp;  // empty: on-policy, taken from the update's forward
  std::vector<std::vector<float>> ref_lp;  // empty without a KL term
};

// Step 3: old-policy and reference log-probs, under softmax(logits / temperature) as in verl and
// TRL. On-policy (one update over the whole batch) the policy is still the one that sampled, so
// the old log-probs come free with the update's own forward and the extra forward is skipped,
// except every kMismatchCheckEvery steps, which compute them to check the rollout engine against
// them (logprob_mismatch; without top-p they must be equal, or the gradient is biased).
absl::StatusOr<StepLogprobs> ComputeStepLogprobs(GrpoRun& run, int64_t step,
                                                 const StepSequences& seqs, bool on_policy,
                                                 StepMetrics& m) {
  const GrpoParams& p = run.p;
  const float temperature = static_cast<float>(p.sampling.temperature);
  const double t = NowSeconds();
  StepLogprobs out;
  if (!on_policy || step % kMismatchCheckEvery == 0) {
    R1_ASSIGN_OR_RETURN(out.old_lp,
                        run.worker->Logprobs("policy", seqs.prompts, seqs.responses, temperature));
  }
  if (p.kl_coef > 0.0) {
    R1_ASSIGN_OR_RETURN(
        out.ref_lp, run.worker->Logprobs("reference", seqs.prompts, seqs.responses, temperature));
  }
  m["logprobs_seconds"] = NowSeconds() - t;
  if (!out.old_lp.empty() && p.sampling.top_p >= 1.0) {
    double diff = 0.0, count = 0.0;
    for (size_t i = 0; i < out.old_lp.size(); ++i) {
      const std::vector<float>& sampled = *seqs.sampled_logprobs[i];
      const std::vector<float>& trained = out.old_lp[i];
      for (size_t k = 0; k < sampled.size() && k < trained.size(); ++k) {
        diff += std::abs(static_cast<double>(sampled[k]) - trained[k]);
        count += 1.0;
      }
    }
    if (count > 0) m["logprob_mismatch"] = diff / count;
  }
  return out;
}

// Step 4: ppo_epochs passes of clipped policy-gradient updates over mini-batches; the metrics are
// the updates' means.
absl::Status UpdatePolicy(GrpoRun& run, int64_t step, const StepSequences& seqs,
                          const StepLogprobs& lp, size_t mini, bool on_policy, StepMetrics& m) {
  const GrpoParams& p = run.p;
  const size_t total = seqs.prompts.size();
  const double t = NowSeconds();
  std::map<std::string, double> sums;
  int updates = 0;
  double train_tokens = 0.0;
  for (int64_t epoch = 0; epoch < p.ppo_epochs; ++epoch) {
    for (size_t begin = 0; begin < total; begin += mini) {
      const size_t end = std::min(total, begin + mini);
      TrainBatch batch;
      batch.objective = TrainBatch::Objective::kPolicyGradient;
      batch.step = step;
      batch.micro_batch_size = p.micro_batch_size;
      batch.micro_batch_tokens = p.micro_batch_tokens;
      batch.prompts.assign(seqs.prompts.begin() + begin, seqs.prompts.begin() + end);
      batch.responses.assign(seqs.responses.begin() + begin, seqs.responses.begin() + end);
      batch.advantages.assign(seqs.advantages.begin() + begin, seqs.advantages.begin() + end);
      if (!on_policy) batch.old_logprobs.assign(lp.old_lp.begin() + begin, lp.old_lp.begin() + end);
      if (!lp.ref_lp.empty()) {
        batch.ref_logprobs.assign(lp.ref_lp.begin() + begin, lp.ref_lp.begin() + end);
      }
      if (p.max_staleness > 0) {  // the sampler may be older than π_old: weight by π_old / it
        for (size_t i = begin; i < end; ++i) {
          batch.behaviour_logprobs.push_back(*seqs.sampled_logprobs[i]);
        }
        batch.policy_loss.importance_cap = p.importance_cap;
      }
      batch.policy_loss.clip_low = p.clip_low;
      batch.policy_loss.clip_high = p.clip_high;
      batch.policy_loss.kl_coef = p.kl_coef;
      batch.policy_loss.kl_estimator = p.kl_estimator;
      batch.policy_loss.aggregation = p.loss_aggregation;
      // Dr.GRPO's constant: the longest response the stage can sample.
      batch.policy_loss.token_sum_norm = static_cast<double>(p.sampling.max_new_tokens);
      batch.policy_loss.temperature = static_cast<float>(p.sampling.temperature);
      R1_ASSIGN_OR_RETURN(StepMetrics step_metrics, run.worker->TrainStep("policy", batch));
      for (const auto& [k, v] : step_metrics) sums[k] += v;
      train_tokens += step_metrics["tokens"];
      ++updates;
    }
  }
  for (const auto& [k, v] : sums) {
    if (k != "tokens" && k != "seconds") m[k] = v / updates;
  }
  m["train_seconds"] = NowSeconds() - t;
  m["train_tokens_per_s"] = m["train_seconds"] > 0 ? train_tokens / m["train_seconds"] : 0;
  return absl::OkStatus();
}

// Step 5: the updated policy to the rollout engine (nothing moves when colocated).
absl::Status SyncRolloutWeights(GrpoRun& run, StepMetrics& m) {
  const double t = NowSeconds();
  R1_ASSIGN_OR_RETURN(SyncStats sync, run.worker->SyncWeights());
  m["sync_seconds"] = NowSeconds() - t;
  m["sync_bytes"] = static_cast<double>(sync.bytes_moved);
  return absl::OkStatus();
}

// Step 6: metrics and a few samples every log_every steps, progress, the reference refresh, and
// a checkpoint every checkpoint_every steps (then references no resume can need are removed).
absl::Status LogAndCheckpoint(GrpoRun& run, int64_t step, const SampledGroups& sampled,
                              const StepMetrics& m) {
  const GrpoParams& p = run.p;
  if (p.log_every > 0 && ((step + 1) % p.log_every == 0 || step + 1 == p.steps)) {
    R1_RETURN_IF_ERROR(run.metrics.Write(step + 1, m));
    std::vector<RolloutSample> sample;
    for (size_t g = 0; g < sampled.groups.size() && sample.size() < 4; ++g) {
      const Rollout& r = sampled.groups[g].rollouts[0];
      RolloutSample s{
          sampled.groups[g].example->prompt, r.text, sampled.totals[g * p.group_size], {}};
      for (const auto& [name, values] : sampled.parts) {
        s.reward_terms[name] = values[g * p.group_size];
      }
      sample.push_back(std::move(s));
    }
    R1_RETURN_IF_ERROR(run.samples.Write(step + 1, sample));
  }
  if (run.context.on_progress) run.context.on_progress(StageProgress{step + 1, p.steps, m});
  if (run.refresh && (step + 1) % p.reference_refresh_every == 0) {
    const std::string ref_dir = run.RefreshedAt(step + 1);
    R1_RETURN_IF_ERROR(run.worker->Save("policy", ref_dir, "", /*weights_only=*/true));
    R1_RETURN_IF_ERROR(run.worker->LoadModel("reference", ref_dir, nullptr, ""));
  }
  if (p.checkpoint_every > 0 && (step + 1) % p.checkpoint_every == 0 && step + 1 < p.steps) {
    std::map<std::string, std::string> extras;
    if (run.checkpoint_extras) {
      R1_ASSIGN_OR_RETURN(extras, run.checkpoint_extras());
    }
    R1_RETURN_IF_ERROR(SaveCheckpoint(run.context, "policy", step + 1, extras));
    if (run.refresh) {
      // A resume now starts at step + 1 or later: older references are not needed.
      const int64_t keep = (step + 1) / p.reference_refresh_every * p.reference_refresh_every;
      for (int64_t r = p.reference_refresh_every; r < keep; r += p.reference_refresh_every) {
        if (PathExists(run.RefreshedAt(r))) R1_RETURN_IF_ERROR(RemoveAll(run.RefreshedAt(r)));
      }
    }
  }
  return absl::OkStatus();
}

// One GRPO step; errors are annotated with the stage and step by the caller. With `ahead` (the
// step's rollouts, sampled during the previous step by asynchronous RL) the weights are not
// synced here: the asynchronous loop syncs them when the rollout engine is idle. `m` may hold
// metrics already (the loop's own); `t0` is when the step began.
absl::StatusOr<StepMetrics> RunGrpoStep(GrpoRun& run, int64_t step, double t0, StepMetrics m,
                                        std::optional<SampledRound> ahead) {
  const GrpoParams& p = run.p;
  const bool synchronous = !ahead.has_value();
  R1_ASSIGN_OR_RETURN(SampledGroups sampled, SampleAndScore(run, step, m, std::move(ahead)));
  const StepSequences seqs = TrainingSequences(run, sampled, m);
  if (!seqs.prompts.empty()) {
    const size_t total = seqs.prompts.size();
    const size_t mini = p.mini_batch_size > 0 ? static_cast<size_t>(p.mini_batch_size) : total;
    const bool on_policy = p.ppo_epochs == 1 && mini >= total;
    R1_ASSIGN_OR_RETURN(StepLogprobs lp, ComputeStepLogprobs(run, step, seqs, on_policy, m));
    R1_RETURN_IF_ERROR(UpdatePolicy(run, step, seqs, lp, mini, on_policy, m));
    if (synchronous) R1_RETURN_IF_ERROR(SyncRolloutWeights(run, m));
  }
  m["step_seconds"] = NowSeconds() - t0;
  R1_RETURN_IF_ERROR(LogAndCheckpoint(run, step, sampled, m));
  return m;
}

// Asynchronous RL's checkpoint file: the rollouts sampled ahead for the checkpoint's step.
constexpr char kPendingRolloutsFile[] = "pending_rollouts.json";

// `round` (the rollouts of `step`) as JSON. Floats go through double, which nlohmann prints
// exactly, so they read back to the same bits.
std::string RoundToJson(const SampledRound& round, int64_t step) {
  nlohmann::json groups = nlohmann::json::array();
  for (const Group& g : round.groups) {
    nlohmann::json rollouts = nlohmann::json::array();
    for (const Rollout& r : g.rollouts) {
      std::vector<double> logprobs(r.logprobs.begin(), r.logprobs.end());
      rollouts.push_back({{"response", r.response},
                          {"text", r.text},
                          {"logprobs", logprobs},
                          {"truncated", r.truncated}});
    }
    groups.push_back(std::move(rollouts));
  }
  nlohmann::json j = {{"step", step},
                      {"policy_step", round.policy_step},
                      {"generate_seconds", round.generate_seconds},
                      {"groups", std::move(groups)}};
  return j.dump() + "\n";
}

// The rollouts of `step` saved by RoundToJson at `path`, on the groups PrepareRound makes again
// (the prompts are a pure function of the step). DataLoss naming the file when it is missing,
// malformed, or does not fit the step.
absl::StatusOr<SampledRound> RoundFromJson(GrpoRun& run, const std::string& path, int64_t step) {
  R1_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat(path, ": ", why));
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (!j.contains("step") || !j["step"].is_number_integer() || j["step"].get<int64_t>() != step) {
    return bad(absl::StrCat("does not hold the rollouts of step ", step));
  }
  R1_ASSIGN_OR_RETURN(RoundRequests prepared, PrepareRound(run, step, 0, run.p.prompts_per_step));
  const nlohmann::json& groups = j.contains("groups") ? j["groups"] : nlohmann::json();
  if (!groups.is_array() || groups.size() != prepared.groups.size()) {
    return bad(absl::StrCat("expected ", prepared.groups.size(), " groups of rollouts"));
  }
  SampledRound out;
  try {
    out.policy_step = j.at("policy_step").get<int64_t>();
    out.generate_seconds = j.at("generate_seconds").get<double>();
    for (size_t g = 0; g < groups.size(); ++g) {
      if (!groups[g].is_array() || groups[g].size() != static_cast<size_t>(run.p.group_size)) {
        return bad(absl::StrCat("group ", g, " does not hold ", run.p.group_size, " rollouts"));
      }
      for (const nlohmann::json& r : groups[g]) {
        Rollout rollout;
        rollout.response = r.at("response").get<TokenSeq>();
        rollout.text = r.at("text").get<std::string>();
        for (double v : r.at("logprobs").get<std::vector<double>>()) {
          rollout.logprobs.push_back(static_cast<float>(v));
        }
        rollout.truncated = r.at("truncated").get<bool>();
        if (rollout.logprobs.size() != rollout.response.size()) {
          return bad(
              absl::StrCat("group ", g, ": a rollout's logprobs and tokens differ in count"));
        }
        out.rollout_tokens += static_cast<int64_t>(rollout.response.size());
        prepared.groups[g].rollouts.push_back(std::move(rollout));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  out.groups = std::move(prepared.groups);
  return out;
}

// Asynchronous RL's rollout side: samples one step's first round on a second thread while the
// caller trains. At most one round is in flight; the destructor waits for it. `scorer` as
// GenerateRound's.
class RoundPrefetcher {
 public:
  RoundPrefetcher(WorkerClient* worker, WorkerClient* scorer, const StageRewards* rewards,
                  int64_t group_size)
      : worker_(worker), scorer_(scorer), rewards_(rewards), group_size_(group_size) {}
  ~RoundPrefetcher() {
    if (pending_.valid()) pending_.wait();
  }
  RoundPrefetcher(const RoundPrefetcher&) = delete;
  RoundPrefetcher& operator=(const RoundPrefetcher&) = delete;

  // Starts sampling `prepared` with the rollout engine's current weights, those `policy_step`
  // started with. Nothing may be in flight.
  void Start(RoundRequests prepared, int64_t policy_step) {
    pending_ = std::async(std::launch::async,
                          [this, policy_step, prepared = std::move(prepared)]() mutable {
                            return GenerateRound(worker_, scorer_, *rewards_, group_size_,
                                                 std::move(prepared), policy_step);
                          });
  }
  bool pending() const { return pending_.valid(); }
  // The round started last (pending() must be true).
  absl::StatusOr<SampledRound> Wait() { return pending_.get(); }

 private:
  WorkerClient* worker_;
  WorkerClient* scorer_;
  const StageRewards* rewards_;
  int64_t group_size_;
  std::future<absl::StatusOr<SampledRound>> pending_;
};

// Asynchronous RL with reward models scored while decoding: the training thread and the sampling
// round's scoring thread both call the trainers, which take one call at a time, so every call but
// Generate and GenerateStreaming (which may run beside them, CanGenerateWhileTraining) takes
// turns here. Does not own `inner`.
class TrainerCallsInTurn : public WorkerClient {
 public:
  explicit TrainerCallsInTurn(WorkerClient* inner) : inner_(inner) {}

  absl::Status LoadModel(const std::string& slot, const std::string& model_dir,
                         const OptimizerOptions* optimizer,
                         const std::string& checkpoint_dir) override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->LoadModel(slot, model_dir, optimizer, checkpoint_dir);
  }
  absl::Status InitModel(const std::string& slot, const std::string& hf_config_json,
                         const std::string& tokenizer, uint64_t seed,
                         const OptimizerOptions* optimizer) override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->InitModel(slot, hf_config_json, tokenizer, seed, optimizer);
  }
  absl::StatusOr<std::vector<TokenSeq>> Tokenize(const std::vector<std::string>& texts) override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->Tokenize(texts);
  }
  absl::StatusOr<int32_t> EosId() override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->EosId();
  }
  absl::StatusOr<std::vector<Rollout>> Generate(
      const std::string& slot, const std::vector<RolloutRequest>& requests) override {
    return inner_->Generate(slot, requests);
  }
  absl::Status GenerateStreaming(const std::string& slot,
                                 const std::vector<RolloutRequest>& requests,
                                 const RolloutSink& sink) override {
    return inner_->GenerateStreaming(slot, requests, sink);
  }
  absl::StatusOr<std::vector<std::vector<float>>> Logprobs(const std::string& slot,
                                                           const std::vector<TokenSeq>& prompts,
                                                           const std::vector<TokenSeq>& responses,
                                                           float temperature) override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->Logprobs(slot, prompts, responses, temperature);
  }
  absl::StatusOr<StepMetrics> TrainStep(const std::string& slot, const TrainBatch& batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->TrainStep(slot, batch);
  }
  absl::StatusOr<std::vector<float>> Score(const std::string& slot,
                                           const std::vector<TokenSeq>& prompts,
                                           const std::vector<TokenSeq>& responses) override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->Score(slot, prompts, responses);
  }
  absl::Status Save(const std::string& slot, const std::string& dir,
                    const std::string& trainer_state_json, bool weights_only) override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->Save(slot, dir, trainer_state_json, weights_only);
  }
  absl::StatusOr<SyncStats> SyncWeights() override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->SyncWeights();
  }
  bool CanGenerateWhileTraining() const override { return inner_->CanGenerateWhileTraining(); }
  bool CanScoreWhileGenerating() const override { return inner_->CanScoreWhileGenerating(); }

 private:
  WorkerClient* inner_;
  std::mutex mu_;  // one call at a time, Generate aside
};

// Asynchronous RL (max_staleness > 0): each step first brings the idle rollout engine to the
// step's weights and starts it sampling the next step on a second thread, then trains on its own
// rollouts, which were sampled during the previous step with weights one update older (the first
// step's are sampled now). Metrics add staleness (updates between the sampling weights and the
// trained ones) and rollout_wait_seconds (time the trainers waited for the rollouts). A
// checkpoint stores the next step's rollouts beside the weights, so that a resumed stage trains
// on exactly what an uninterrupted one would. `on_step` receives each step's metrics.
absl::Status RunAsyncSteps(GrpoRun& run, int64_t start, const std::optional<ResumePoint>& resume,
                           const std::function<void(StepMetrics)>& on_step) {
  const GrpoParams& p = run.p;
  const std::string& name = run.context.stage->name;
  if (!run.worker->CanGenerateWhileTraining()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stage ", name,
                     ": grpo.max_staleness > 0 needs rollout workers apart from the trainers "
                     "(cluster.placement: disaggregated)"));
  }
  if (p.dynamic_sampling) {
    return absl::InvalidArgumentError(
        absl::StrCat("stage ", name, ": grpo.max_staleness > 0 does not support dynamic_sampling"));
  }
  int64_t step = start;
  auto at_step = [&](const absl::Status& s) {
    return Annotate(s, absl::StrCat("stage ", name, " step ", step, ": "));
  };
  // Reward models scored while decoding call the trainers from the sampling thread's scoring
  // thread: the loop's own calls then take turns with them (run.worker is restored on return).
  // SaveCheckpoint's call through context.worker is safe: checkpoint_extras has waited for the
  // round in flight first.
  WorkerClient* const worker = run.worker;
  std::unique_ptr<TrainerCallsInTurn> in_turn;
  if (worker->CanScoreWhileGenerating() && run.rewards->HasModels()) {
    in_turn = std::make_unique<TrainerCallsInTurn>(worker);
    run.worker = in_turn.get();
  }
  struct RestoreWorker {
    GrpoRun& run;
    WorkerClient* worker;
    ~RestoreWorker() { run.worker = worker; }
  } restore_worker{run, worker};
  RoundPrefetcher ahead(run.worker, ScorerWhileDecoding(run), run.rewards.get(), p.group_size);
  std::optional<SampledRound> ready;  // the next step's rollouts, once awaited
  if (resume.has_value()) {
    absl::StatusOr<SampledRound> saved =
        RoundFromJson(run, JoinPath(resume->dir, kPendingRolloutsFile), start);
    if (!saved.ok()) return at_step(saved.status());
    ready = *std::move(saved);
  }
  // A checkpoint after `step` holds the rollouts of step + 1, so it waits for them.
  run.checkpoint_extras = [&]() -> absl::StatusOr<std::map<std::string, std::string>> {
    if (!ready.has_value()) {
      if (!ahead.pending()) return absl::InternalError("no rollouts sampled ahead to checkpoint");
      R1_ASSIGN_OR_RETURN(ready, ahead.Wait());
    }
    return std::map<std::string, std::string>{
        {kPendingRolloutsFile, RoundToJson(*ready, step + 1)}};
  };
  struct Reset {
    GrpoRun& run;
    ~Reset() { run.checkpoint_extras = nullptr; }
  } reset{run};
  for (; step < p.steps; ++step) {
    const double t0 = NowSeconds();
    StepMetrics m;
    absl::StatusOr<SampledRound> round = absl::UnknownError("not sampled");
    if (ready.has_value()) {
      round = *std::move(ready);
      ready.reset();
    } else if (ahead.pending()) {
      round = ahead.Wait();
    } else {
      absl::StatusOr<RoundRequests> now = PrepareRound(run, step, 0, p.prompts_per_step);
      round = now.ok() ? GenerateRound(run.worker, ScorerWhileDecoding(run), *run.rewards,
                                       p.group_size, *std::move(now), step)
                       : absl::StatusOr<SampledRound>(now.status());
    }
    if (!round.ok()) return at_step(round.status());
    m["rollout_wait_seconds"] = NowSeconds() - t0;
    // The rollout engine is idle: the step's weights (it loaded them itself at the start), then
    // the next step's sampling with them.
    if (step > start) {
      if (absl::Status s = SyncRolloutWeights(run, m); !s.ok()) return at_step(s);
    }
    if (step + 1 < p.steps) {
      absl::StatusOr<RoundRequests> next = PrepareRound(run, step + 1, 0, p.prompts_per_step);
      if (!next.ok()) return at_step(next.status());
      ahead.Start(*std::move(next), step);
    }
    m["staleness"] = static_cast<double>(step - round->policy_step);
    absl::StatusOr<StepMetrics> done = RunGrpoStep(run, step, t0, std::move(m), *std::move(round));
    if (!done.ok()) return at_step(done.status());
    on_step(*std::move(done));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<StageResult> RunGrpoStage(const StageContext& context) {
  const StageConfig& stage = *context.stage;
  const GrpoParams& p = stage.grpo;
  const int64_t n = static_cast<int64_t>(context.examples.size());
  if (n == 0) return absl::InvalidArgumentError(absl::StrCat("stage ", stage.name, ": no prompts"));
  R1_ASSIGN_OR_RETURN(std::optional<ResumePoint> resume, FindResumePoint(context));
  R1_RETURN_IF_ERROR(DropLogsAfter(context, resume ? resume->step : 0));
  R1_ASSIGN_OR_RETURN(const PromptTemplate tmpl, StagePromptTemplate(context));
  GrpoRun run{context,
              p,
              tmpl,
              context.worker,
              nullptr,
              AdvantageEstimator{},
              DataCursor(n, context.seed),
              DataCursor(n, context.seed ^ 0xD1B54A32D192ED03ull),
              MetricsWriter(*context.run_dir, stage.name),
              SamplesWriter(context.run_dir->SamplesPath(stage.name)),
              p.reference_refresh_every > 0 && p.kl_coef > 0,
              JoinPath(context.run_dir->StageDir(stage.name), "reference")};
  R1_RETURN_IF_ERROR(LoadPolicyAndReference(run, resume));
  R1_ASSIGN_OR_RETURN(run.rewards, StageRewards::Create(context));
  run.estimator = p.advantage;

  std::vector<double> step_rewards;  // reward_mean of each step this run made
  StepMetrics last;
  const int64_t start = resume ? resume->step : 0;
  if (p.max_staleness > 0) {
    R1_RETURN_IF_ERROR(RunAsyncSteps(run, start, resume, [&](StepMetrics m) {
      step_rewards.push_back(m["reward_mean"]);
      last = std::move(m);
    }));
  } else {
    for (int64_t step = start; step < p.steps; ++step) {
      absl::StatusOr<StepMetrics> m = RunGrpoStep(run, step, NowSeconds(), {}, std::nullopt);
      if (!m.ok())
        return Annotate(m.status(), absl::StrCat("stage ", stage.name, " step ", step, ": "));
      step_rewards.push_back((*m)["reward_mean"]);
      last = *std::move(m);
    }
  }
  StageResult result;
  result.output = context.run_dir->OutputDir(stage.name);
  R1_RETURN_IF_ERROR(context.worker->Save("policy", result.output, "", /*weights_only=*/true));
  result.summary = last;
  // Mean reward over the first and last quarter of the steps this run made (R1-Zero's curve).
  const size_t q = std::max<size_t>(1, step_rewards.size() / 4);
  result.summary["reward_first_quarter"] =
      Mean(std::vector<double>(step_rewards.begin(), step_rewards.begin() + q));
  result.summary["reward_last_quarter"] =
      Mean(std::vector<double>(step_rewards.end() - q, step_rewards.end()));
  return result;
}

}  // namespace r1
