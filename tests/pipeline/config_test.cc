// Tests of config parsing and validation: defaults, unknown keys, every validation error kind
// with its exact message, the example configs, and the resolved-YAML round trip.
#include "pipeline/config.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A base model with weights and one dataset of each format.
constexpr char kHeader[] = R"(
model: {path: /models/base}
datasets:
  gsm: {path: /data/gsm.jsonl, format: gsm8k}
  chat: {path: /data/chat.jsonl, format: chat}
  prefs: {path: /data/prefs.jsonl, format: preference}
)";

std::vector<std::string> Errors(const std::string& yaml) {
  ConfigParseResult result = ParseConfigCollect(yaml);
  std::vector<std::string> out;
  for (const auto& e : result.errors) out.push_back(e.ToString());
  return out;
}

// Errors of kHeader + `stages`.
std::vector<std::string> StageErrors(const std::string& stages) {
  return Errors(absl::StrCat(kHeader, "stages:\n", stages));
}

TEST(ConfigTest, MinimalConfigGetsDefaults) {
  ConfigParseResult r = ParseConfigCollect(absl::StrCat(kHeader, R"(
stages:
  - {name: rl, type: grpo, inputs: {datasets: [gsm]}}
)"));
  ASSERT_THAT(r.errors, IsEmpty());
  const PipelineConfig& c = r.config;
  EXPECT_EQ(c.run.name, "r1");
  EXPECT_EQ(c.run.seed, 0u);
  EXPECT_EQ(ResolvedRunDir(c), "runs/r1");
  EXPECT_EQ(c.model.path, "/models/base");
  EXPECT_FALSE(c.model.architecture.has_value());
  EXPECT_EQ(c.model.tokenizer, "/models/base");  // defaults to the model directory
  EXPECT_EQ(c.cluster.mode, ClusterMode::kLocal);
  EXPECT_EQ(c.cluster.launcher, Launcher::kMpirun);
  EXPECT_EQ(c.cluster.scheduler_address, "127.0.0.1:0");
  EXPECT_EQ(c.cluster.placement, Placement::kColocated);
  EXPECT_EQ(c.cluster.backend, CollectiveBackend::kAuto);
  EXPECT_EQ(c.cluster.max_stage_attempts, 3);
  EXPECT_EQ(c.cluster.rollout_max_batch, 0);
  ASSERT_EQ(c.datasets.size(), 3u);
  EXPECT_EQ(c.datasets[0].name, "chat");  // sorted by name
  ASSERT_EQ(c.stages.size(), 1u);
  const StageConfig& s = c.stages[0];
  EXPECT_EQ(s.type, StageType::kGrpo);
  EXPECT_EQ(s.inputs.model.kind, ModelRef::Kind::kBase);
  EXPECT_EQ(s.grpo.group_size, 8);
  EXPECT_EQ(s.grpo.kl_estimator, KlEstimator::kK3);
  EXPECT_DOUBLE_EQ(s.grpo.kl_coef, 0.001);
  EXPECT_DOUBLE_EQ(s.grpo.clip_low, 0.2);
  EXPECT_DOUBLE_EQ(s.grpo.sampling.temperature, 1.0);
  EXPECT_EQ(s.grpo.advantage, AdvantageEstimator::kGrpo);
  ASSERT_EQ(s.grpo.rewards.size(), 2u);
  EXPECT_EQ(s.grpo.rewards[0].name, "accuracy");
  EXPECT_EQ(s.grpo.rewards[1].name, "format");
  EXPECT_DOUBLE_EQ(s.grpo.rewards[1].weight, 0.5);
}

TEST(ConfigTest, NoModelSectionMeansDefaultTinyArchitectureAndByteTokenizer) {
  ConfigParseResult r = ParseConfigCollect(R"(
datasets: {t: {synthetic: {kind: arithmetic, count: 10}}}
stages: [{name: p, type: pretrain, inputs: {datasets: [t]}}]
)");
  ASSERT_THAT(r.errors, IsEmpty());
  ASSERT_TRUE(r.config.model.architecture.has_value());
  EXPECT_EQ(r.config.model.architecture->hidden_size, 64);
  EXPECT_EQ(r.config.model.tokenizer, "byte");
  EXPECT_EQ(r.config.datasets[0].format, "prompt_answer");  // from the synthetic kind
}

TEST(ConfigTest, ParsesEveryGrpoField) {
  ConfigParseResult r = ParseConfigCollect(absl::StrCat(kHeader, R"(
stages:
  - name: rm
    type: reward_model
    inputs: {datasets: [prefs]}
  - name: rl
    type: grpo
    depends_on: rm
    inputs: {model: /models/other, datasets: [gsm, chat]}
    grpo:
      optimizer: {lr: 3e-6, betas: [0.9, 0.99], weight_decay: 0.1, warmup_steps: 5,
                  schedule: cosine, grad_clip: 0.5}
      steps: 7
      prompts_per_step: 4
      group_size: 16
      temperature: 0.7
      top_p: 0.9
      max_new_tokens: 64
      clip_low: 0.2
      clip_high: 0.28
      kl_coef: 0
      kl_estimator: k1
      loss_aggregation: constant
      advantage: rloo
      negative_advantage_scale: 0.25
      dynamic_sampling: true
      ppo_epochs: 2
      mini_batch_size: 16
      micro_batch_size: 4
      micro_batch_tokens: 2048
      importance_cap: 3
      reference_refresh_every: 10
      rewards:
        - {name: accuracy, weight: 2}
        - {name: reward_model, scope: answer, model: "stage:rm", params: {margin: 0.5}}
)"));
  ASSERT_THAT(r.errors, IsEmpty());
  const StageConfig& s = r.config.stages[1];
  EXPECT_THAT(s.depends_on, ElementsAre("rm"));  // a single name is a one-element list
  EXPECT_EQ(s.inputs.model.kind, ModelRef::Kind::kPath);
  EXPECT_EQ(s.inputs.model.value, "/models/other");
  const GrpoParams& g = s.grpo;
  EXPECT_DOUBLE_EQ(g.optimizer.lr, 3e-6);
  EXPECT_DOUBLE_EQ(g.optimizer.beta2, 0.99);
  EXPECT_EQ(g.optimizer.schedule, LrSchedule::kCosine);
  EXPECT_EQ(g.steps, 7);
  EXPECT_EQ(g.group_size, 16);
  EXPECT_DOUBLE_EQ(g.sampling.top_p, 0.9);
  EXPECT_EQ(g.sampling.max_new_tokens, 64);
  EXPECT_DOUBLE_EQ(g.clip_high, 0.28);
  EXPECT_DOUBLE_EQ(g.kl_coef, 0.0);
  EXPECT_EQ(g.loss_aggregation, LossAggregation::kSeqMeanTokenSumNorm);
  EXPECT_EQ(g.advantage, AdvantageEstimator::kRloo);
  EXPECT_DOUBLE_EQ(g.negative_advantage_scale, 0.25);
  EXPECT_TRUE(g.dynamic_sampling);
  EXPECT_EQ(g.ppo_epochs, 2);
  EXPECT_EQ(g.micro_batch_size, 4);
  EXPECT_EQ(g.micro_batch_tokens, 2048);
  EXPECT_EQ(g.max_staleness, 0);  // on-policy unless asked
  EXPECT_DOUBLE_EQ(g.importance_cap, 3.0);
  EXPECT_EQ(g.reference_refresh_every, 10);
  ASSERT_EQ(g.rewards.size(), 2u);
  EXPECT_DOUBLE_EQ(g.rewards[0].weight, 2.0);
  EXPECT_EQ(g.rewards[1].scope, RewardScope::kAnswer);
  ASSERT_TRUE(g.rewards[1].model.has_value());
  EXPECT_EQ(g.rewards[1].model->kind, ModelRef::Kind::kStage);
  EXPECT_EQ(g.rewards[1].model->value, "rm");
  EXPECT_DOUBLE_EQ(g.rewards[1].params["margin"].get<double>(), 0.5);
}

TEST(ConfigTest, UnknownKeysAreErrorsNamingThePath) {
  EXPECT_THAT(Errors("clsuter: {mode: local}\n"),
              ElementsAre("clsuter: unknown key (did you mean \"cluster\"?)"));
  EXPECT_THAT(StageErrors(R"(
  - name: rl
    type: grpo
    inputs: {datasets: [gsm]}
    grpo: {gruop_size: 4, optimizer: {learning_rate: 1}}
)"),
              ElementsAre("stages[0].grpo.optimizer.learning_rate: unknown key",
                          "stages[0].grpo.gruop_size: unknown key (did you mean \"group_size\"?)"));
  EXPECT_THAT(Errors("model: {path: /m, architecture: {hiden_size: 3}}\n"),
              ElementsAre("model.architecture.hiden_size: unknown key (did you mean "
                          "\"hidden_size\"?)"));
}

TEST(ConfigTest, WrongValueTypesNameKeyAndValue) {
  EXPECT_THAT(StageErrors(R"(
  - {name: rl, type: grpo, inputs: {datasets: [gsm]}, grpo: {group_size: eight, top_p: [1]}}
)"),
              ElementsAre("stages[0].grpo.group_size: expected an integer, got \"eight\"",
                          "stages[0].grpo.top_p: expected a number, got a list"));
  EXPECT_THAT(Errors("cluster: {trainer_ranks: 1.5, backend: {a: 1}}\nstages: 3\n"),
              ElementsAre("cluster.trainer_ranks: expected a 32-bit integer, got \"1.5\"",
                          "cluster.backend: expected a string, got a mapping",
                          "stages: expected a list of stages, got \"3\""));
}

TEST(ConfigTest, YamlSyntaxErrorNamesLine) {
  std::vector<std::string> errors = Errors("run:\n  name: [unclosed\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("config:3:"));
  EXPECT_THAT(errors[0], HasSubstr("YAML syntax error"));
}

TEST(ConfigTest, UnknownStageType) {
  EXPECT_THAT(StageErrors("  - {name: x, type: ppo, ppo: {a: 1}}\n"),
              ElementsAre("stages[0].type: unknown stage type \"ppo\" (expected pretrain, sft, "
                          "grpo, rejection_sampling, reward_model, eval)",
                          "stages[0].ppo: unknown key (did you mean \"grpo\"?)"));
  EXPECT_THAT(StageErrors("  - {name: x}\n"), ElementsAre("stages[0].type: required"));
}

TEST(ConfigTest, ParametersForAnotherType) {
  EXPECT_THAT(
      StageErrors("  - {name: x, type: sft, inputs: {datasets: [chat]}, grpo: {steps: 3}}\n"),
      ElementsAre("stages[0].grpo: parameters for a grpo stage, but this stage's type is sft"));
}

TEST(ConfigTest, StageNames) {
  EXPECT_THAT(StageErrors(R"(
  - {name: a, type: sft, inputs: {datasets: [chat]}}
  - {name: a, type: sft, inputs: {datasets: [chat]}}
  - {type: sft, inputs: {datasets: [chat]}}
  - {name: "b/c", type: sft, inputs: {datasets: [chat]}}
  - {name: journal, type: sft, inputs: {datasets: [chat]}}
  - {name: tensorboard, type: sft, inputs: {datasets: [chat]}}
)"),
              ElementsAre("stages[1].name: duplicate stage name \"a\" (also stages[0])",
                          "stages[2].name: required",
                          "stages[3].name: must match [A-Za-z0-9_.-]+ and not start with '.' (it "
                          "names a directory), got \"b/c\"",
                          "stages[4].name: \"journal\" is reserved (RUN_DIR/journal is the "
                          "journal file)",
                          "stages[5].name: \"tensorboard\" is reserved (RUN_DIR/tensorboard "
                          "holds every stage's TensorBoard event files)"));
}

TEST(ConfigTest, UnknownDependency) {
  EXPECT_THAT(StageErrors(R"(
  - {name: sft, type: sft, inputs: {datasets: [chat]}}
  - {name: ev, type: eval, inputs: {datasets: [gsm]}}
  - {name: rs, type: rejection_sampling, depends_on: [rl, sft, sft], inputs: {datasets: [gsm]}}
)"),
              ElementsAre("stages[2].depends_on: unknown stage \"rl\"",
                          "stages[2].depends_on: stage \"sft\" listed twice"));
}

TEST(ConfigTest, CycleIsNamed) {
  EXPECT_THAT(StageErrors(R"(
  - {name: a, type: sft, depends_on: [c], inputs: {datasets: [chat]}}
  - {name: b, type: sft, depends_on: [a], inputs: {datasets: [chat]}}
  - {name: c, type: sft, depends_on: [b], inputs: {datasets: [chat]}}
  - {name: d, type: sft, depends_on: [d], inputs: {datasets: [chat]}}
)"),
              ElementsAre("stages: dependency cycle a -> c -> b -> a"));
}

TEST(ConfigTest, InputThatIsNotADependency) {
  EXPECT_THAT(StageErrors(R"(
  - {name: sft, type: sft, inputs: {datasets: [chat]}}
  - {name: rl, type: grpo, inputs: {model: "stage:sft", datasets: [gsm]}}
  - {name: ev, type: eval, depends_on: [sft], inputs: {datasets: [gsm]}}
  - {name: rl2, type: grpo, depends_on: [ev], inputs: {model: "stage:sft", datasets: [gsm]}}
)"),  // rl2 reaches sft through ev: fine
              ElementsAre("stages[1].inputs.model: stage \"sft\" is not in depends_on (directly "
                          "or transitively)"));
}

TEST(ConfigTest, UnknownInputs) {
  EXPECT_THAT(StageErrors(R"(
  - {name: sft, type: sft, inputs: {model: "stage:nope", datasets: [chat, gsm9k, "stage:x"]}}
)"),
              ElementsAre("stages[0].inputs.model: unknown stage \"nope\"",
                          "stages[0].inputs.datasets[1]: unknown dataset \"gsm9k\"",
                          "stages[0].inputs.datasets[2]: unknown stage \"x\""));
  EXPECT_THAT(StageErrors("  - {name: sft, type: sft}\n"),
              ElementsAre("stages[0].inputs.datasets: an sft stage needs at least one dataset"));
}

TEST(ConfigTest, WrongInputKinds) {
  EXPECT_THAT(
      StageErrors(R"(
  - {name: base_sft, type: sft, inputs: {datasets: [chat]}}
  - {name: rs, type: rejection_sampling, depends_on: [base_sft],
     inputs: {model: "stage:base_sft", datasets: [gsm]}}
  - {name: sft2, type: sft, depends_on: [rs], inputs: {datasets: ["stage:base_sft", prefs]}}
  - {name: rl, type: grpo, depends_on: [rs], inputs: {model: "stage:rs", datasets: [gsm]}}
  - {name: rm, type: reward_model, inputs: {datasets: [chat]}}
  - {name: ev, type: eval, depends_on: [rm], inputs: {model: "stage:rm", datasets: [chat]}}
)"),
      ElementsAre(
          "stages[2].inputs.datasets[0]: stage \"base_sft\" (sft) produces a model, not a dataset",
          "stages[2].inputs.datasets[1]: dataset \"prefs\" has format preference; an sft stage "
          "reads gsm8k, prompt_answer, chat or code",
          "stages[3].inputs.model: stage \"rs\" (rejection_sampling) produces a dataset, not a "
          "model",
          "stages[4].inputs.datasets[0]: dataset \"chat\" has format chat; a reward_model stage "
          "reads preference",
          "stages[5].inputs.model: stage \"rm\" (reward_model) produces a reward_model, not a "
          "model"));
}

TEST(ConfigTest, BaseModelWithoutWeights) {
  EXPECT_THAT(Errors(R"(
model: {architecture: {hidden_size: 32}}
datasets: {t: {synthetic: {kind: arithmetic}}}
stages:
  - {name: p, type: pretrain, inputs: {datasets: [t]}}
  - {name: s, type: sft, depends_on: [p], inputs: {datasets: [t]}}
)"),
              ElementsAre("stages[1].inputs.model: the base model has no weights "
                          "(model.architecture); an sft stage needs a path or \"stage:<name>\" of "
                          "a model"));
}

TEST(ConfigTest, RewardModelRewards) {
  EXPECT_THAT(StageErrors(R"(
  - {name: rm, type: reward_model, inputs: {datasets: [prefs]}}
  - {name: sft, type: sft, inputs: {datasets: [chat]}}
  - name: rl
    type: grpo
    depends_on: [rm, sft]
    inputs: {datasets: [gsm]}
    grpo:
      rewards:
        - {name: reward_model}
        - {name: reward_model, model: "stage:sft"}
        - {name: format, model: /m}
        - {name: reward_model, model: "stage:rm"}
        - {name: vibes}
)"),
              ElementsAre("stages[2].grpo.rewards[2].model: only the reward_model reward takes a "
                          "model, got \"/m\"",
                          "stages[2].grpo.rewards[4].name: must be one of accuracy, code, "
                          "format, language, overlong, reward_model; got \"vibes\"",
                          "stages[2].grpo.rewards[0].model: required for the reward_model reward "
                          "(a path or \"stage:<reward_model stage>\")",
                          "stages[2].grpo.rewards[1].model: stage \"sft\" (sft) produces a model, "
                          "not a reward_model"));
}

TEST(ConfigTest, NumericRanges) {
  EXPECT_THAT(StageErrors(R"(
  - {name: a, type: sft, inputs: {datasets: [chat]}}
  - name: rl
    type: grpo
    inputs: {datasets: [gsm]}
    grpo: {group_size: 1, top_p: 1.5, clip_low: 1, mini_batch_size: 5, prompts_per_step: 2,
           temperature: 0, optimizer: {lr: 0, betas: [0.9, 1.0]}, negative_advantage_scale: -0.5}
)"),
              ElementsAre("stages[1].grpo.optimizer.lr: must be > 0, got 0",
                          "stages[1].grpo.optimizer.betas[1]: must be in [0, 1), got 1",
                          "stages[1].grpo.group_size: must be >= 2, got 1",
                          "stages[1].grpo.temperature: must be > 0, got 0",
                          "stages[1].grpo.top_p: must be in (0, 1], got 1.5",
                          "stages[1].grpo.clip_low: must be in (0, 1), got 1",
                          "stages[1].grpo.negative_advantage_scale: must be in [0, 1], got -0.5",
                          "stages[1].grpo.mini_batch_size: must divide prompts_per_step * "
                          "group_size (2), got 5"));
  EXPECT_THAT(StageErrors(R"(
  - name: rs
    type: rejection_sampling
    inputs: {datasets: [gsm]}
    rejection_sampling: {samples_per_prompt: 2, max_kept_per_prompt: 3, non_reasoning_ratio: 0.2}
  - {name: s, type: sft, inputs: {datasets: [chat]}, sft: {batch_size: 8, micro_batch_size: 3,
                                                          micro_batch_tokens: -1}}
)"),
              ElementsAre("stages[0].rejection_sampling.max_kept_per_prompt: must be <= "
                          "samples_per_prompt (2), got 3",
                          "stages[0].rejection_sampling.non_reasoning_ratio: is 0.2 but no input "
                          "dataset is non-reasoning (format chat)",
                          "stages[1].sft.micro_batch_tokens: must be >= 0, got -1",
                          "stages[1].sft.micro_batch_size: must divide batch_size (8), got 3"));
}

// Asynchronous RL needs rollout workers of its own and cannot refill groups.
TEST(ConfigTest, MaxStalenessNeedsDisaggregatedPlacementAndNoDynamicSampling) {
  EXPECT_THAT(StageErrors(R"(
  - name: rl
    type: grpo
    inputs: {datasets: [gsm]}
    grpo: {max_staleness: 1, dynamic_sampling: true, importance_cap: 0.5}
)"),
              ElementsAre("stages[0].grpo.importance_cap: must be >= 1, got 0.5",
                          "stages[0].grpo.max_staleness: asynchronous RL needs cluster.placement "
                          "\"disaggregated\" (rollout workers sample the next step while the "
                          "trainers train), got 1 with placement \"colocated\"",
                          "stages[0].grpo.max_staleness: asynchronous RL does not refill groups: "
                          "set dynamic_sampling false or max_staleness 0"));
  EXPECT_THAT(
      Errors(absl::StrCat(kHeader, R"(cluster: {placement: disaggregated, rollout_workers: 1}
stages:
  - name: rl
    type: grpo
    inputs: {datasets: [gsm]}
    grpo: {max_staleness: 1}
)")),
      IsEmpty());
  EXPECT_THAT(StageErrors(R"(
  - {name: rl, type: grpo, inputs: {datasets: [gsm]}, grpo: {max_staleness: -1}}
)"),
              ElementsAre("stages[0].grpo.max_staleness: must be >= 0, got -1"));
}

// Worker groups are copies of the worker shape; the in-process launcher has only one worker.
TEST(ConfigTest, WorkerGroupsNeedWorkerProcesses) {
  EXPECT_THAT(Errors(absl::StrCat(kHeader, R"(cluster: {launcher: in_process, worker_groups: 2}
stages:
  - {name: s, type: sft, inputs: {datasets: [chat]}}
)")),
              ElementsAre("cluster.worker_groups: \"in_process\" is one worker: worker_groups "
                          "must be 1, got 2"));
  ConfigParseResult r = ParseConfigCollect(absl::StrCat(kHeader, R"(cluster: {worker_groups: 3}
stages:
  - {name: s, type: sft, inputs: {datasets: [chat]}}
)"));
  ASSERT_THAT(r.errors, IsEmpty());
  EXPECT_EQ(r.config.cluster.worker_groups, 3);
  EXPECT_EQ(ParseConfigCollect(absl::StrCat(kHeader,
                                            "stages:\n  - {name: s, type: sft, inputs: "
                                            "{datasets: [chat]}}\n"))
                .config.cluster.worker_groups,
            1);
}

// Names of a closed set are checked while parsing: the error names the key path, the value and
// every accepted name, and (a parse error) stops the cross-field checks, so one typo is one error.
TEST(ConfigTest, UnknownEnumNamesAreParseErrors) {
  EXPECT_THAT(Errors(R"(
model: {path: /m, dtype: fp8}
cluster: {mode: cloud, launcher: docker, placement: split, backend: gloo, device: tpu}
stages:
  - name: rl
    type: grpo
    inputs: {datasets: [gsm]}
    grpo:
      optimizer: {schedule: step}
      kl_estimator: k4
      loss_aggregation: mean
      advantage: ppo
      rewards: [{name: format, scope: thinking, applies_to: some}]
)"),
              ElementsAre("model.dtype: must be one of float32, bfloat16, float16; got \"fp8\"",
                          "cluster.mode: must be one of local, external; got \"cloud\"",
                          "cluster.launcher: must be one of mpirun, srun, k8s, in_process; got "
                          "\"docker\"",
                          "cluster.placement: must be one of colocated, disaggregated; got "
                          "\"split\"",
                          "cluster.backend: must be one of mpi, nccl, auto; got \"gloo\"",
                          "cluster.device: must be one of cpu, cuda; got \"tpu\"",
                          "stages[0].grpo.optimizer.schedule: must be one of constant, linear, "
                          "cosine; got \"step\"",
                          "stages[0].grpo.kl_estimator: must be one of k1, k2, k3; got \"k4\"",
                          "stages[0].grpo.loss_aggregation: must be one of sequence_mean, "
                          "token_mean, constant; got \"mean\"",
                          "stages[0].grpo.advantage: must be one of grpo, dr_grpo, rloo; got "
                          "\"ppo\"",
                          "stages[0].grpo.rewards[0].scope: must be one of response, answer; got "
                          "\"thinking\"",
                          "stages[0].grpo.rewards[0].applies_to: must be one of auto, reasoning, "
                          "general, all; got \"some\""));
}

TEST(ConfigTest, ClusterModelAndDatasetChecks) {
  EXPECT_THAT(
      Errors(R"(
model: {path: /m, architecture: {num_heads: 3}}
cluster: {scheduler_address: "localhost", backend: nccl, worker_timeout_s: 1,
          placement: disaggregated, rollout_workers: 0, rollout_max_batch: -1, worker_groups: 0}
datasets:
  both: {path: /x, synthetic: {kind: arithmetic}}
  neither: {format: chat}
  bad: {path: /x, format: csv}
  syn: {synthetic: {kind: sudoku, count: 0}}
stages: []
)"),
      ElementsAre("model: give either path (a Hugging Face directory) or architecture (a model "
                  "trained from scratch), not both",
                  "model.architecture.num_heads: must divide hidden_size (64), got 3",
                  "model.architecture.num_kv_heads: must divide num_heads (3), got 2",
                  "cluster.worker_groups: must be >= 1, got 0",
                  "cluster.rollout_max_batch: must be >= 0, got -1",
                  "cluster.scheduler_address: must be HOST:PORT with PORT in [0, 65535], got "
                  "\"localhost\"",
                  "cluster.rollout_workers: must be >= 1, got 0",
                  "cluster.backend: \"nccl\" needs device \"cuda\" (use mpi or auto on CPUs)",
                  "cluster.worker_timeout_s: must be greater than heartbeat_interval_s (2), got 1",
                  "datasets.bad.format: must be one of gsm8k, prompt_answer, chat, preference, "
                  "code; got \"csv\"",
                  "datasets.both: give either path (a JSONL file) or synthetic (a generator), "
                  "exactly one",
                  "datasets.neither: give either path (a JSONL file) or synthetic (a generator), "
                  "exactly one",
                  "datasets.syn.synthetic.kind: must be one of arithmetic, countdown, "
                  "non_reasoning, preference, code; got \"sudoku\"",
                  "datasets.syn.synthetic.count: must be >= 1, got 0",
                  "stages: at least one stage is required"));
}

TEST(ConfigTest, MetricsAddressIsOffByDefaultAndMustBeHostPort) {
  ConfigParseResult off = ParseConfigCollect(absl::StrCat(kHeader, R"(
stages: [{name: rl, type: grpo, inputs: {datasets: [gsm]}}]
)"));
  ASSERT_THAT(off.errors, IsEmpty());
  EXPECT_EQ(off.config.cluster.metrics_address, "");
  ConfigParseResult on = ParseConfigCollect(absl::StrCat(kHeader, R"(
cluster: {metrics_address: "0.0.0.0:9464"}
stages: [{name: rl, type: grpo, inputs: {datasets: [gsm]}}]
)"));
  ASSERT_THAT(on.errors, IsEmpty());
  EXPECT_EQ(on.config.cluster.metrics_address, "0.0.0.0:9464");
  // The resolved YAML carries it, set or empty.
  absl::StatusOr<PipelineConfig> again = ParseConfig(ConfigToYaml(on.config));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->cluster.metrics_address, "0.0.0.0:9464");
  absl::StatusOr<PipelineConfig> again_off = ParseConfig(ConfigToYaml(off.config));
  ASSERT_TRUE(again_off.ok()) << again_off.status();
  EXPECT_EQ(again_off->cluster.metrics_address, "");
  for (const char* bad : {"9464", "127.0.0.1:", ":9464", "127.0.0.1:65536", "host:http"}) {
    EXPECT_THAT(Errors(absl::StrCat(kHeader, "cluster: {metrics_address: \"", bad,
                                    "\"}\nstages: [{name: rl, type: grpo, inputs: {datasets: "
                                    "[gsm]}}]\n")),
                ElementsAre(absl::StrCat("cluster.metrics_address: must be HOST:PORT with PORT in "
                                         "[0, 65535], got \"",
                                         bad, "\"")));
  }
}

TEST(ConfigTest, SeveralErrorsAtOnceAndParseConfigStatus) {
  std::string yaml = absl::StrCat(kHeader, R"(
stages:
  - {name: a, type: grpo, depends_on: [rl], inputs: {datasets: [gsm]}, grpo: {group_size: 1}}
)");
  EXPECT_THAT(Errors(yaml), ElementsAre("stages[0].depends_on: unknown stage \"rl\"",
                                        "stages[0].grpo.group_size: must be >= 2, got 1"));
  absl::StatusOr<PipelineConfig> c = ParseConfig(yaml);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(c.status().message()),
            "config: invalid config:\nstages[0].depends_on: unknown stage \"rl\"\n"
            "stages[0].grpo.group_size: must be >= 2, got 1");
}

TEST(ConfigTest, RelativePathsAreResolvedAgainstBaseDir) {
  ConfigParseOptions options;
  options.base_dir = "/work/configs";
  absl::StatusOr<PipelineConfig> c = ParseConfig(R"(
run: {run_dir: out/x}
model: {path: ../models/m, tokenizer: byte}
datasets: {g: {path: ./data/g.jsonl, format: gsm8k}, a: {path: /abs.jsonl, format: chat}}
stages: [{name: s, type: sft, inputs: {model: ckpt, datasets: [g]}}]
)",
                                                 options);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->model.path, "/work/models/m");
  EXPECT_EQ(c->model.tokenizer, "byte");
  EXPECT_EQ(c->FindDataset("g")->path, "/work/configs/data/g.jsonl");
  EXPECT_EQ(c->FindDataset("a")->path, "/abs.jsonl");
  EXPECT_EQ(c->stages[0].inputs.model.value, "/work/configs/ckpt");
  EXPECT_EQ(ResolvedRunDir(*c), "out/x");  // relative to the current directory, not rewritten
}

std::string ReadRepoFile(const std::string& rel) {
  absl::StatusOr<std::string> text = ReadFile(JoinPath(R1_SOURCE_DIR, rel));
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

TEST(ConfigTest, TinyR1ExampleIsValidAndIsTheEmbeddedDefault) {
  EXPECT_EQ(DefaultConfigYaml(), ReadRepoFile("configs/tiny-r1.yaml"));
  absl::StatusOr<PipelineConfig> c = LoadConfig(JoinPath(R1_SOURCE_DIR, "configs/tiny-r1.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<std::string> types;
  for (const auto& s : c->stages) types.push_back(std::string(StageTypeName(s.type)));
  // The recipe: pretrain -> cold-start SFT -> reasoning GRPO -> rejection sampling -> SFT ->
  // reward model -> all-scenario GRPO, with evals (the base and the final model also on the
  // non-reasoning tasks).
  EXPECT_THAT(types, ElementsAre("pretrain", "eval", "eval", "sft", "eval", "grpo", "eval",
                                 "rejection_sampling", "sft", "eval", "reward_model", "grpo",
                                 "eval", "eval"));
  const StageConfig* sft_rs = c->FindStage("sft_rs");
  ASSERT_NE(sft_rs, nullptr);
  EXPECT_EQ(sft_rs->inputs.model.ToString(), "stage:pretrain");  // from the base, as in R1
  EXPECT_TRUE(ParseConfig(DefaultConfigYaml()).ok());
}

TEST(ConfigTest, QwenExampleIsValid) {
  absl::StatusOr<PipelineConfig> c =
      LoadConfig(JoinPath(R1_SOURCE_DIR, "configs/qwen2.5-0.5b-gsm8k.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->model.path.empty());
  EXPECT_EQ(c->cluster.mode, ClusterMode::kExternal);
  EXPECT_EQ(c->cluster.device, DeviceKind::kCuda);
  const DatasetConfig* train = c->FindDataset("gsm8k_train");
  ASSERT_NE(train, nullptr);
  EXPECT_EQ(train->format, "gsm8k");
  EXPECT_TRUE(PathExists(train->path)) << train->path;  // resolved against configs/
}

TEST(ConfigTest, R1ZeroAndDistillExamplesAreValid) {
  absl::StatusOr<PipelineConfig> zero = LoadConfig(JoinPath(R1_SOURCE_DIR, "configs/r1-zero.yaml"));
  ASSERT_TRUE(zero.ok()) << zero.status();
  for (const StageConfig& stage : zero->stages) {
    EXPECT_NE(stage.type, StageType::kSft) << "R1-Zero has no supervised fine-tuning";
  }
  absl::StatusOr<PipelineConfig> distill =
      LoadConfig(JoinPath(R1_SOURCE_DIR, "configs/distill.yaml"));
  ASSERT_TRUE(distill.ok()) << distill.status();
  const StageConfig* teacher = distill->FindStage("teacher_samples");
  ASSERT_NE(teacher, nullptr);
  EXPECT_EQ(teacher->inputs.model.kind, ModelRef::Kind::kPath);  // another run's output
  EXPECT_EQ(distill->FindStage("student")->inputs.datasets[0].ToString(), "stage:teacher_samples");
}

TEST(ConfigTest, ResolvedYamlRoundTrips) {
  absl::StatusOr<PipelineConfig> c = ParseConfig(DefaultConfigYaml());
  ASSERT_TRUE(c.ok()) << c.status();
  std::string yaml = ConfigToYaml(*c);
  absl::StatusOr<PipelineConfig> again = ParseConfig(yaml);
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << yaml;
  EXPECT_EQ(ConfigToYaml(*again), yaml);
  EXPECT_EQ(ResolvedRunDir(*again), "runs/tiny-r1");
  EXPECT_DOUBLE_EQ(again->FindStage("grpo_reasoning")->grpo.clip_high, 0.28);
  EXPECT_EQ(again->FindStage("grpo_all_scenarios")->grpo.rewards[2].model->ToString(),
            "stage:reward_model");
  EXPECT_EQ(again->FindDataset("reasoning_prompts")->synthetic->options["max_digits"], 2);
  // Quoted values that look like numbers stay strings through the round trip.
  absl::StatusOr<PipelineConfig> q = ParseConfig(absl::StrCat(kHeader, R"(
run: {name: "007"}
stages: [{name: rl, type: grpo, inputs: {datasets: [gsm]},
          grpo: {rewards: [{name: accuracy, params: {tag: "12", n: 12}}]}}]
)"));
  ASSERT_TRUE(q.ok()) << q.status();
  absl::StatusOr<PipelineConfig> q2 = ParseConfig(ConfigToYaml(*q));
  ASSERT_TRUE(q2.ok()) << q2.status();
  EXPECT_EQ(q2->run.name, "007");
  EXPECT_TRUE(q2->stages[0].grpo.rewards[0].params["tag"].is_string());
  EXPECT_TRUE(q2->stages[0].grpo.rewards[0].params["n"].is_number_integer());
}

TEST(ConfigTest, ModelComputeDtypeComputesFloat16InFloat32) {
  BaseModelConfig model;
  EXPECT_EQ(ModelComputeDtype(model), ModelDtype::kFloat32);
  model.dtype = ModelDtype::kBFloat16;
  EXPECT_EQ(ModelComputeDtype(model), ModelDtype::kBFloat16);
  model.dtype = ModelDtype::kFloat16;  // a storage dtype only
  EXPECT_EQ(ModelComputeDtype(model), ModelDtype::kFloat32);
}

}  // namespace
}  // namespace r1
