// The GRPO stage loop (see grpo_stage.h).
#include "stages/grpo_stage.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "pipeline/metrics.h"
#include "stages/advantages.h"
#include "stages/rewards/reward.h"
#include "stages/rewards/reward_model.h"
#include "stages/stage_util.h"

namespace r1 {
namespace {

// On-policy steps skip the old-policy forward, except one in this many (see step 3).
constexpr int64_t kMismatchCheckEvery = 10;

// The policy-loss names of workers/policy_loss.h for the config's aggregation names.
std::string LossAggregationFor(const std::string& config_name) {
  if (config_name == "token_mean") return "token-mean";
  if (config_name == "constant") return "seq-mean-token-sum-norm";
  return "seq-mean-token-mean";
}

// One prompt of a step with its G rollouts.
struct Group {
  const Example* example = nullptr;
  TokenSeq prompt;
  std::vector<Rollout> rollouts;
  // Filled by StageRewards::Score, one value per rollout; empty until scored.
  std::vector<double> rewards;                       // weighted total
  std::map<std::string, std::vector<double>> parts;  // unweighted, by reward name
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
                                specs[i].scope == "answer" ? RewardModelScope::kFinalAnswer
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

  // Scores the rollouts of every group not scored yet (each is scored once, however many
  // dynamic-sampling rounds it survives).
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
        const Rollout& r = g->rollouts[j];
        RewardInput input;
        input.prompt = g->example->prompt;
        input.response = r.text;
        input.reference = g->example->reference;
        input.response_length_tokens = static_cast<int64_t>(r.response.size());
        for (const RuleRewards& rules : rules_) {
          if (!Applies(rules.target, *g->example)) {
            for (const std::string& name : rules.names) g->parts[name].push_back(0.0);
            continue;
          }
          R1_ASSIGN_OR_RETURN(RewardBreakdown b, rules.reward->Compute(input));
          g->rewards[j] += b.total;
          for (const auto& [name, value] : b.parts) g->parts[name].push_back(value);
        }
      }
    }
    for (const ModelReward& m : models_) {
      std::vector<TokenSeq> prompts;
      std::vector<std::string> texts;
      for (const Group* g : todo) {
        if (!Applies(m.target, *g->example)) continue;
        for (const Rollout& r : g->rollouts) {
          prompts.push_back(g->prompt);
          texts.emplace_back(ScopedResponse(m.scope, r.text));
        }
      }
      std::vector<float> scores;
      if (!prompts.empty()) {
        R1_ASSIGN_OR_RETURN(std::vector<TokenSeq> responses, worker->Tokenize(texts));
        R1_ASSIGN_OR_RETURN(scores, worker->Score(m.slot, prompts, responses));
      }
      size_t i = 0;
      for (Group* g : todo) {
        const bool applies = Applies(m.target, *g->example);
        for (size_t j = 0; j < g->rollouts.size(); ++j) {
          const double score = applies ? scores[i++] : 0.0;
          g->rewards[j] += m.weight * score;
          g->parts[m.name].push_back(score);
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  enum class Target { kReasoning, kGeneral, kAll };
  static Target ResolveTarget(const RewardConfig& spec) {
    if (spec.applies_to == "reasoning") return Target::kReasoning;
    if (spec.applies_to == "general") return Target::kGeneral;
    if (spec.applies_to == "all") return Target::kAll;
    if (spec.name == "reward_model") return Target::kGeneral;  // auto
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

// reward_mean, reward/<part>, and accuracy and format rate over the reasoning prompts (general
// prompts are not graded by them), each prefixed by `prefix`.
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
}

}  // namespace

absl::StatusOr<StageResult> RunGrpoStage(const StageContext& context) {
  const StageConfig& stage = *context.stage;
  const GrpoParams& p = stage.grpo;
  const int64_t n = static_cast<int64_t>(context.examples.size());
  if (n == 0) return absl::InvalidArgumentError(absl::StrCat("stage ", stage.name, ": no prompts"));
  WorkerClient* worker = context.worker;
  const OptimizerOptions optimizer = ToOptimizerOptions(p.optimizer, p.steps);
  R1_ASSIGN_OR_RETURN(std::optional<ResumePoint> resume, FindResumePoint(context));
  R1_RETURN_IF_ERROR(DropLogsAfter(context, resume ? resume->step : 0));
  R1_RETURN_IF_ERROR(LoadTrainable(context, "policy", optimizer, resume));
  const std::string refreshed_dir = JoinPath(context.run_dir->StageDir(stage.name), "reference");
  // The reference refreshed at `step` (STAGE/reference/step-NNNNNN), kept until a checkpoint
  // past the next refresh makes it unreachable by a resume.
  auto refreshed_at = [&](int64_t step) {
    return JoinPath(refreshed_dir, absl::StrFormat("step-%06d", step));
  };
  const bool refresh = p.reference_refresh_every > 0 && p.kl_coef > 0;
  if (p.kl_coef > 0.0) {
    // The reference is the stage's starting model, or on resume the one refreshed last before
    // the checkpoint (so that a resumed run computes the same KL as an uninterrupted one).
    std::string ref_dir =
        context.model_dir.empty() && resume.has_value() ? resume->dir : context.model_dir;
    const int64_t last_refresh =
        refresh && resume.has_value()
            ? resume->step / p.reference_refresh_every * p.reference_refresh_every
            : 0;
    if (last_refresh > 0) ref_dir = refreshed_at(last_refresh);
    if (ref_dir.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stage ", stage.name, ": kl_coef > 0 needs an input model as reference"));
    }
    R1_RETURN_IF_ERROR(worker->LoadModel("reference", ref_dir, nullptr, ""));
  }
  R1_ASSIGN_OR_RETURN(std::unique_ptr<StageRewards> rewards, StageRewards::Create(context));
  R1_ASSIGN_OR_RETURN(AdvantageEstimator estimator, ParseAdvantageEstimator(p.advantage));
  MetricsWriter metrics(context.run_dir->MetricsPath(stage.name));
  SamplesWriter samples(context.run_dir->SamplesPath(stage.name));
  DataCursor cursor(n, context.seed);
  DataCursor refill_cursor(n, context.seed ^ 0xD1B54A32D192ED03ull);
  std::vector<double> last_rewards;
  StepMetrics last;

  for (int64_t step = resume ? resume->step : 0; step < p.steps; ++step) {
    const std::string where = absl::StrCat("stage ", stage.name, " step ", step, ": ");
    StepMetrics m;
    double t0 = NowSeconds();
    // 1. Prompts and rollouts (dynamic sampling refills dropped groups, at most twice).
    std::vector<Group> groups;
    std::vector<Group> first_round_copy;  // dynamic sampling: round 0 before the drop
    std::vector<double> totals;
    std::map<std::string, std::vector<double>> parts;
    AdvantageResult adv;
    double generate_s = 0.0, reward_s = 0.0;
    int64_t rollout_tokens = 0, dropped = 0, prompt_position = step * p.prompts_per_step;
    for (int round = 0; round < 3; ++round) {
      const int64_t want = p.prompts_per_step - static_cast<int64_t>(groups.size());
      if (want <= 0) break;
      std::vector<Group> fresh(static_cast<size_t>(want));
      std::vector<std::string> texts;
      for (int64_t i = 0; i < want; ++i) {
        const int64_t index = round == 0
                                  ? cursor.At(prompt_position + i)
                                  : refill_cursor.At((step * 3 + round) * p.prompts_per_step + i);
        fresh[static_cast<size_t>(i)].example = &context.examples[static_cast<size_t>(index)];
        texts.push_back(RenderStagePrompt(context.examples[static_cast<size_t>(index)].prompt));
      }
      R1_ASSIGN_OR_RETURN(std::vector<TokenSeq> prompt_ids, worker->Tokenize(texts));
      std::vector<RolloutRequest> requests;
      for (int64_t i = 0; i < want; ++i) {
        fresh[static_cast<size_t>(i)].prompt = prompt_ids[static_cast<size_t>(i)];
        for (int64_t g = 0; g < p.group_size; ++g) {
          RolloutRequest r;
          r.prompt = prompt_ids[static_cast<size_t>(i)];
          r.sampling.temperature = static_cast<float>(p.sampling.temperature);
          r.sampling.top_p = static_cast<float>(p.sampling.top_p);
          r.sampling.max_new_tokens = static_cast<int32_t>(p.sampling.max_new_tokens);
          r.sampling.seed = RequestSeed(context.seed, step * 3 + round, i * p.group_size + g);
          requests.push_back(std::move(r));
        }
      }
      double t = NowSeconds();
      auto rollouts = worker->Generate("policy", requests);
      if (!rollouts.ok()) return Annotate(rollouts.status(), where);
      generate_s += NowSeconds() - t;
      for (int64_t i = 0; i < want; ++i) {
        auto begin = rollouts->begin() + i * p.group_size;
        fresh[static_cast<size_t>(i)].rollouts.assign(begin, begin + p.group_size);
        for (auto it = begin; it != begin + p.group_size; ++it) {
          rollout_tokens += static_cast<int64_t>(it->response.size());
        }
      }
      for (auto& g : fresh) groups.push_back(std::move(g));
      // 2. Rewards and group advantages over everything sampled so far.
      t = NowSeconds();
      R1_RETURN_IF_ERROR(Annotate(rewards->Score(worker, &groups), where));
      Flatten(groups, &totals, &parts);
      AdvantageOptions options;
      options.estimator = estimator;
      options.group_size = p.group_size;
      options.drop_uniform_groups = p.dynamic_sampling;
      R1_ASSIGN_OR_RETURN(adv, ComputeGroupAdvantages(totals, options));
      reward_s += NowSeconds() - t;
      if (round == 0) {
        dropped = static_cast<int64_t>(adv.uniform_groups.size());
        if (p.dynamic_sampling) first_round_copy = groups;
      }
      if (!p.dynamic_sampling) break;
      // Keep the groups with signal and sample replacements for the others.
      std::vector<Group> kept;
      for (int64_t g : adv.kept_groups) kept.push_back(std::move(groups[static_cast<size_t>(g)]));
      groups = std::move(kept);
      Flatten(groups, &totals, &parts);
      R1_ASSIGN_OR_RETURN(adv, ComputeGroupAdvantages(totals, options));
    }
    // Reward, accuracy and format describe the policy's fresh samples (the first round): with
    // dynamic sampling the groups trained on are biased towards mixed outcomes.
    LogRewardMetrics(p.dynamic_sampling ? first_round_copy : groups, "", &m);
    if (p.dynamic_sampling) LogRewardMetrics(groups, "trained_", &m);
    m["uniform_groups"] = static_cast<double>(dropped);
    m["groups"] = static_cast<double>(groups.size());

    std::vector<TokenSeq> prompts, responses;
    std::vector<const std::vector<float>*> sampled_logprobs;  // the rollout engine's, per response
    std::vector<float> advantages;
    double length_sum = 0.0, length_max = 0.0;
    for (size_t g = 0; g < groups.size(); ++g) {
      for (size_t j = 0; j < groups[g].rollouts.size(); ++j) {
        const Rollout& r = groups[g].rollouts[j];
        const double len = static_cast<double>(r.response.size());
        length_sum += len;
        length_max = std::max(length_max, len);
        if (r.response.empty()) continue;
        prompts.push_back(groups[g].prompt);
        responses.push_back(r.response);
        sampled_logprobs.push_back(&r.logprobs);
        const double a = adv.advantages[g * groups[g].rollouts.size() + j];
        advantages.push_back(static_cast<float>(a < 0 ? a * p.negative_advantage_scale : a));
      }
    }
    const double num_rollouts = static_cast<double>(groups.size() * p.group_size);
    m["response_length_mean"] = num_rollouts > 0 ? length_sum / num_rollouts : 0.0;
    m["response_length_max"] = length_max;
    m["generate_seconds"] = generate_s;
    m["reward_seconds"] = reward_s;
    m["rollout_tokens_per_s"] =
        generate_s > 0 ? static_cast<double>(rollout_tokens) / generate_s : 0;

    if (!prompts.empty()) {
      // 3. Old-policy and reference log-probs. With a single update over the whole batch the
      // policy is still the one that sampled, so its log-probs come free with the update's own
      // forward (TrainBatch.old_logprobs empty) and the extra forward is skipped, except every
      // kMismatchCheckEvery steps, which compute them to check the rollout engine against them.
      const size_t total_seqs = prompts.size();
      const size_t mini =
          p.mini_batch_size > 0 ? static_cast<size_t>(p.mini_batch_size) : total_seqs;
      const bool on_policy = p.ppo_epochs == 1 && mini >= total_seqs;
      // Every log-prob is of the distribution that sampled, softmax(logits / temperature), as in
      // verl and TRL (the config requires temperature > 0 for RL).
      const float lp_temperature = static_cast<float>(p.sampling.temperature);
      double t = NowSeconds();
      std::vector<std::vector<float>> old_lp;
      if (!on_policy || step % kMismatchCheckEvery == 0) {
        auto computed = worker->Logprobs("policy", prompts, responses, lp_temperature);
        if (!computed.ok()) return Annotate(computed.status(), where);
        old_lp = std::move(*computed);
      }
      std::vector<std::vector<float>> ref_lp;
      if (p.kl_coef > 0.0) {
        R1_ASSIGN_OR_RETURN(ref_lp,
                            worker->Logprobs("reference", prompts, responses, lp_temperature));
      }
      m["logprobs_seconds"] = NowSeconds() - t;
      // Without top-p, the rollout engine's log-probs must equal the trainer's (a mismatch means
      // rollouts do not come from the policy being trained, and the gradient is biased).
      // Measured where the trainer's were computed anyway.
      if (!old_lp.empty() && p.sampling.top_p >= 1.0) {
        double diff = 0.0, count = 0.0;
        for (size_t i = 0; i < old_lp.size(); ++i) {
          const std::vector<float>& sampled = *sampled_logprobs[i];
          const std::vector<float>& trained = old_lp[i];
          for (size_t k = 0; k < sampled.size() && k < trained.size(); ++k) {
            diff += std::abs(static_cast<double>(sampled[k]) - trained[k]);
            count += 1.0;
          }
        }
        if (count > 0) m["logprob_mismatch"] = diff / count;
      }
      // 4. Policy updates over mini-batches.
      t = NowSeconds();
      std::map<std::string, double> sums;
      int updates = 0;
      double train_tokens = 0.0;
      for (int64_t epoch = 0; epoch < p.ppo_epochs; ++epoch) {
        for (size_t begin = 0; begin < total_seqs; begin += mini) {
          const size_t end = std::min(total_seqs, begin + mini);
          TrainBatch batch;
          batch.objective = TrainBatch::Objective::kPolicyGradient;
          batch.step = step;
          batch.prompts.assign(prompts.begin() + begin, prompts.begin() + end);
          batch.responses.assign(responses.begin() + begin, responses.begin() + end);
          batch.advantages.assign(advantages.begin() + begin, advantages.begin() + end);
          if (!on_policy) batch.old_logprobs.assign(old_lp.begin() + begin, old_lp.begin() + end);
          if (!ref_lp.empty())
            batch.ref_logprobs.assign(ref_lp.begin() + begin, ref_lp.begin() + end);
          batch.policy_loss.clip_low = p.clip_low;
          batch.policy_loss.clip_high = p.clip_high;
          batch.policy_loss.kl_coef = p.kl_coef;
          batch.policy_loss.kl_estimator = p.kl_estimator;
          batch.policy_loss.aggregation = LossAggregationFor(p.loss_aggregation);
          batch.policy_loss.temperature = lp_temperature;
          auto step_metrics = worker->TrainStep("policy", batch);
          if (!step_metrics.ok()) return Annotate(step_metrics.status(), where);
          for (const auto& [k, v] : *step_metrics) sums[k] += v;
          train_tokens += (*step_metrics)["tokens"];
          ++updates;
        }
      }
      for (const auto& [k, v] : sums) {
        if (k != "tokens" && k != "seconds") m[k] = v / updates;
      }
      m["train_seconds"] = NowSeconds() - t;
      m["train_tokens_per_s"] = m["train_seconds"] > 0 ? train_tokens / m["train_seconds"] : 0;
      // 5. Weight sync to the rollout engine.
      t = NowSeconds();
      auto sync = worker->SyncWeights();
      if (!sync.ok()) return Annotate(sync.status(), where);
      m["sync_seconds"] = NowSeconds() - t;
      m["sync_bytes"] = static_cast<double>(sync->bytes_moved);
    }
    m["step_seconds"] = NowSeconds() - t0;
    last_rewards.push_back(m["reward_mean"]);
    last = m;

    if (p.log_every > 0 && ((step + 1) % p.log_every == 0 || step + 1 == p.steps)) {
      R1_RETURN_IF_ERROR(metrics.Write(step + 1, m));
      std::vector<RolloutSample> sample;
      for (size_t g = 0; g < groups.size() && sample.size() < 4; ++g) {
        const Rollout& r = groups[g].rollouts[0];
        RolloutSample s{groups[g].example->prompt, r.text, totals[g * p.group_size], {}};
        for (const auto& [name, values] : parts) s.reward_terms[name] = values[g * p.group_size];
        sample.push_back(std::move(s));
      }
      R1_RETURN_IF_ERROR(samples.Write(step + 1, sample));
    }
    if (context.on_progress) context.on_progress(StageProgress{step + 1, p.steps, m});
    if (refresh && (step + 1) % p.reference_refresh_every == 0) {
      const std::string ref_dir = refreshed_at(step + 1);
      R1_RETURN_IF_ERROR(worker->Save("policy", ref_dir, "", /*weights_only=*/true));
      R1_RETURN_IF_ERROR(worker->LoadModel("reference", ref_dir, nullptr, ""));
    }
    if (p.checkpoint_every > 0 && (step + 1) % p.checkpoint_every == 0 && step + 1 < p.steps) {
      R1_RETURN_IF_ERROR(SaveCheckpoint(context, "policy", step + 1));
      if (refresh) {
        // A resume now starts at step + 1 or later: older references are not needed.
        const int64_t keep = (step + 1) / p.reference_refresh_every * p.reference_refresh_every;
        for (int64_t r = p.reference_refresh_every; r < keep; r += p.reference_refresh_every) {
          if (PathExists(refreshed_at(r))) R1_RETURN_IF_ERROR(RemoveAll(refreshed_at(r)));
        }
      }
    }
  }
  StageResult result;
  result.output = context.run_dir->OutputDir(stage.name);
  R1_RETURN_IF_ERROR(worker->Save("policy", result.output, "", /*weights_only=*/true));
  result.summary = last;
  // Mean reward over the first and last quarter of the steps this run made (R1-Zero's curve).
  const size_t q = std::max<size_t>(1, last_rewards.size() / 4);
  result.summary["reward_first_quarter"] =
      Mean(std::vector<double>(last_rewards.begin(), last_rewards.begin() + q));
  result.summary["reward_last_quarter"] =
      Mean(std::vector<double>(last_rewards.end() - q, last_rewards.end()));
  return result;
}

}  // namespace r1
