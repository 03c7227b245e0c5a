// The pipeline configuration: a YAML file parsed once into typed structs (one per concern, every
// field with its default and a comment), then checked as a whole. Nothing outside config*.cc
// touches YAML nodes.
#ifndef R1_PIPELINE_CONFIG_H_
#define R1_PIPELINE_CONFIG_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pipeline/config_types.h"

namespace r1 {

// ---- run ------------------------------------------------------------------------------------

struct RunConfig {
  std::string name = "r1";  // [A-Za-z0-9_.-]+; shown by status; default RUN_DIR "runs/<name>"
  uint64_t seed = 0;        // base seed; every stage derives its own from it and its name
  std::string run_dir;      // RUN_DIR; empty means "runs/<name>" (relative to the current dir)
};

// ---- model ----------------------------------------------------------------------------------

// An inline decoder-only architecture (Qwen2/Llama family) for tiny models trained from scratch.
struct ArchitectureConfig {
  int64_t vocab_size = 0;                 // 0: the tokenizer's vocab_size
  int64_t hidden_size = 64;               // model width C
  int64_t num_layers = 2;                 // transformer blocks
  int64_t num_heads = 4;                  // query heads; hidden_size % num_heads == 0
  int64_t num_kv_heads = 2;               // key/value heads (GQA); num_heads % num_kv_heads == 0
  int64_t intermediate_size = 176;        // SwiGLU hidden width
  int64_t max_position_embeddings = 512;  // longest sequence (prompt + response), tokens
  double rope_theta = 10000.0;            // rotary base
  double rms_norm_eps = 1e-6;             // RMSNorm epsilon
  bool tie_word_embeddings = true;        // share embedding and LM head
  bool attention_bias = false;            // bias on q/k/v projections (Qwen2 has it)
};

// The base model every stage starts from unless its inputs say otherwise. (Not model/
// model_config.h's ModelConfig, the transformer's hyperparameters.)
struct BaseModelConfig {
  std::string path;  // a Hugging Face model directory; exclusive with `architecture`
  // Inline architecture of a model trained from scratch (no weights: only a pretrain stage can
  // start from it). Set when the YAML has `architecture:`, or when neither it nor `path` is given.
  std::optional<ArchitectureConfig> architecture;
  // "byte" (the byte tokenizer) or a tokenizer.json / directory path. Empty: the model directory
  // (`path`) when set, else "byte".
  std::string tokenizer;
  // Parameter dtype: float32 | bfloat16 | float16. Workers compute in ModelComputeDtype() of it:
  // float16 is a storage dtype only (computed in float32).
  ModelDtype dtype = ModelDtype::kFloat32;
};

// The dtype workers compute the models in (`r1 worker --dtype`, LocalWorkerOptions::dtype):
// bfloat16 for bfloat16, float32 for float32 and float16 (no float16 compute: its range is too
// small for training without loss scaling).
ModelDtype ModelComputeDtype(const BaseModelConfig& model);

// ---- cluster --------------------------------------------------------------------------------

// TLS between nodes (cluster.tls): when cert, key and ca are set, the Scheduler and Worker
// services serve TLS and require a client certificate signed by `ca` (mutual TLS); workers,
// `r1 status` and `r1 cancel` present `cert`/`key`. One certificate per cluster is enough. The run
// token is still required. Paths are PEM files (relative ones: relative to the config file).
struct TlsConfig {
  std::string cert;  // this node's certificate chain (PEM); its SAN names the hosts dialed
  std::string key;   // its private key (PEM)
  std::string ca;    // the CA that signs every node's certificate (PEM)
  // Host name every client checks the peer's certificate against instead of the dialed host
  // (e.g. one DNS name in the cluster certificate's SAN); empty: the dialed host.
  std::string server_name;
  bool enabled() const { return !cert.empty() || !key.empty() || !ca.empty(); }
};

struct ClusterConfig {
  ClusterMode mode = ClusterMode::kLocal;  // local: `r1 run` launches workers | external: they join
  // How workers are started: mpirun | srun (local mode: `r1 run` spawns that one command),
  // k8s (external mode: an MPIJob), in_process (no worker processes: one colocated worker inside
  // `r1 run`, for debugging and single-process use).
  Launcher launcher = Launcher::kMpirun;
  std::string scheduler_address = "127.0.0.1:0";  // scheduler listen HOST:PORT (0: any port)
  // Where the scheduler serves GET /metrics (Prometheus text format): HOST:PORT (0: any port);
  // empty: no metrics endpoint.
  std::string metrics_address;
  Placement placement = Placement::kColocated;  // colocated (hybrid) | disaggregated
  int32_t trainer_ranks = 1;                    // trainer processes (data-parallel ranks)
  int32_t rollout_workers = 1;                  // rollout processes (disaggregated placement only)
  // Independent copies of that worker shape (trainer_ranks [+ rollout_workers] each, one launcher
  // job of worker_groups times as many ranks): stages that do not depend on each other run at the
  // same time, each on a group of its own.
  int32_t worker_groups = 1;
  // Collectives: mpi | nccl | auto (nccl when on GPUs).
  CollectiveBackend backend = CollectiveBackend::kAuto;
  DeviceKind device = DeviceKind::kCpu;  // cpu | cuda
  double heartbeat_interval_s = 2.0;     // worker -> scheduler heartbeat period, seconds
  double worker_timeout_s = 30.0;        // a worker silent this long is dead, seconds
  int32_t max_stage_attempts = 3;        // a failing stage is retried until this many attempts
  // Rows of each worker's decode batch (continuous batching, model/generate.h): at most this many
  // sequences decode together and a finished one's row goes to the next waiting request. 0 = every
  // request of a call at once.
  int32_t rollout_max_batch = 0;
  TlsConfig tls;  // TLS between nodes; off when empty
};

// ---- datasets -------------------------------------------------------------------------------

// A generated dataset (pipeline/synthetic): deterministic for a given seed.
struct SyntheticSpec {
  std::string kind;      // arithmetic | countdown | non_reasoning | preference | code
  int64_t count = 1000;  // examples to generate
  uint64_t seed = 0;     // generator seed
  nlohmann::json options = nlohmann::json::object();  // generator-specific knobs, passed through
};

// The record format a synthetic generator of `kind` writes ("prompt_answer", "chat",
// "preference", "code"); "" for an unknown kind.
absl::string_view SyntheticFormat(absl::string_view kind);

struct DatasetConfig {
  std::string name;  // key in the `datasets` map; what stage inputs refer to
  std::string path;  // a JSONL file (relative paths are relative to the config file)
  // Record format: gsm8k | prompt_answer | chat | preference | code (prompts with tests for the
  // code reward). For synthetic data it follows from the kind (arithmetic/countdown:
  // prompt_answer, non_reasoning: chat, preference: preference, code: code).
  std::string format;
  std::optional<SyntheticSpec> synthetic;  // exclusive with `path`
  int64_t limit = 0;                       // use only the first `limit` records; 0: all
  // YAML `template`: the prompt template of the stages reading this dataset, unless the stage
  // sets its own (see StageTemplate): plain | r1_zero | chatml | raw, or a custom text with one
  // "{prompt}". Empty: not set.
  std::string prompt_template;
};

// ---- stages ---------------------------------------------------------------------------------

enum class StageType { kPretrain, kSft, kGrpo, kRejectionSampling, kRewardModel, kEval };

// "pretrain", "sft", "grpo", "rejection_sampling", "reward_model", "eval".
absl::string_view StageTypeName(StageType type);
std::optional<StageType> ParseStageType(absl::string_view name);

// A reference to a model: the base model (`model:` section), a path, or a stage's output.
struct ModelRef {
  enum class Kind { kBase, kPath, kStage };
  Kind kind = Kind::kBase;
  std::string value;             // the path or the stage name; empty for kBase
  std::string ToString() const;  // "base", the path, or "stage:<name>"
};

// A reference to a dataset: a name in `datasets` or a stage's output.
struct DatasetRef {
  enum class Kind { kDataset, kStage };
  Kind kind = Kind::kDataset;
  std::string value;
  std::string ToString() const;  // the name or "stage:<name>"
};

// Supervised training: pretrain, sft and reward_model stages.
struct TrainParams {
  OptimizerConfig optimizer;
  int64_t batch_size = 8;          // sequences (or preference pairs) per optimizer step, global
  int64_t micro_batch_size = 0;    // sequences per forward/backward; 0: batch_size
  // Padded tokens per forward/backward (a pass's sequences x its longest, the sequences sorted
  // by length; TrainBatch::micro_batch_tokens); 0: no bound.
  int64_t micro_batch_tokens = 0;
  int64_t max_seq_len = 512;       // longer examples are truncated, tokens
  int64_t epochs = 1;              // passes over the data (used when steps == 0)
  int64_t steps = 0;               // optimizer steps; 0: derived from epochs
  int64_t checkpoint_every = 100;  // optimizer steps between checkpoints; 0: only at the end
  int64_t log_every = 1;           // steps between metrics lines
  bool loss_on_prompt = false;     // sft: also train on prompt tokens (pretrain always does)
};

// One term of the scalar reward: reward = sum_i weight_i * reward_i.
struct RewardConfig {
  std::string name;     // accuracy | format | language | overlong | reward_model
  double weight = 1.0;  // multiplier
  RewardScope scope = RewardScope::kResponse;  // response (reasoning included) | answer
  // Which prompts it scores: reasoning | general | all | auto (reward_model: general prompts,
  // overlong: all, the other rule rewards: reasoning prompts), as in R1's all-scenario RL.
  // Prompts of non-reasoning datasets (chat, synthetic non_reasoning) are general.
  RewardTarget applies_to = RewardTarget::kAuto;
  // reward_model only: a path or "stage:<reward_model stage>" (never kBase); unset for the others.
  std::optional<ModelRef> model;
  nlohmann::json params = nlohmann::json::object();  // reward-specific knobs, passed through
};

// Sampling settings shared by rollout-producing stages.
struct SamplingConfig {
  double temperature = 1.0;      // softmax temperature; 0 = greedy
  double top_p = 1.0;            // nucleus mass in (0, 1]
  int64_t max_new_tokens = 256;  // response length cap, tokens
};

struct GrpoParams {
  OptimizerConfig optimizer;
  int64_t steps = 100;           // policy-update steps (one batch of prompts each)
  int64_t prompts_per_step = 8;  // prompts per step
  int64_t group_size = 8;        // G: responses sampled per prompt (>= 2)
  SamplingConfig sampling;       // YAML: temperature, top_p, max_new_tokens at this level
  double clip_low = 0.2;         // epsilon: ratio clipped below at 1 - clip_low
  double clip_high = 0.2;        // ratio clipped above at 1 + clip_high (DAPO clip-higher)
  double kl_coef = 0.001;        // beta; 0 needs no reference model
  KlEstimator kl_estimator = KlEstimator::kK3;  // k1 | k2 | k3
  // sequence_mean (GRPO: mean over tokens, then sequences) | token_mean (DAPO: mean over all
  // tokens of the batch) | constant (Dr.GRPO: token sum / max_new_tokens).
  LossAggregation loss_aggregation = LossAggregation::kSeqMeanTokenMean;
  // grpo (r - mean) / std | dr_grpo (r - mean) | rloo
  AdvantageEstimator advantage = AdvantageEstimator::kGrpo;
  // Multiplies the advantages below 0: 1 is the plain estimator; below 1 weights the samples
  // worse than their group less than the better ones (0: learn only from the better ones, like
  // online rejection-sampling fine-tuning), which sharpens pass@1 at the cost of diversity.
  double negative_advantage_scale = 1.0;
  bool dynamic_sampling = false;  // drop groups whose rewards are all equal and refill
  // DAPO's overlong filtering: truncated rollouts (max_new_tokens reached) are left out of the
  // loss; they still count in their group's advantages. A step whose rollouts are all truncated
  // makes no update.
  bool overlong_filter = false;
  int64_t ppo_epochs = 1;       // optimizer passes over each rollout batch
  int64_t mini_batch_size = 0;  // responses per optimizer step; 0: the whole batch
  // Forward/backward passes inside an optimizer step, as TrainParams': responses per pass and
  // padded tokens per pass (length-sorted); 0: no bound.
  int64_t micro_batch_size = 0;
  int64_t micro_batch_tokens = 0;
  // Asynchronous (off-policy) RL under disaggregated placement: 0 is the on-policy loop (sample,
  // then train); K >= 1 lets the rollout workers sample step n+1 with the weights of step n while
  // the trainers train step n, so a step trains on rollouts at most one update old (the engine
  // keeps one batch in flight; larger K changes nothing today). The loss then weights each token
  // by min(π_old / π_behaviour, importance_cap) (truncated importance sampling).
  int64_t max_staleness = 0;
  double importance_cap = 2.0;  // C of the truncated importance weights; >= 1
  std::vector<RewardConfig> rewards = {{"accuracy", 1.0}, {"format", 0.5}};  // summed, weighted
  int64_t reference_refresh_every = 0;  // steps between reference := policy; 0: never
  int64_t checkpoint_every = 50;        // steps between checkpoints; 0: only at the end
  int64_t log_every = 1;                // steps between metrics/samples lines
};

struct RejectionFilters {
  bool require_format = true;       // keep only <think>...</think><answer>...</answer> responses
  double language_threshold = 0.0;  // min share of target-language words in the reasoning; 0: off
  int64_t max_response_tokens = 0;  // drop longer responses; 0: off
};

struct RejectionSamplingParams {
  int64_t samples_per_prompt = 4;   // k responses sampled per prompt
  int64_t max_kept_per_prompt = 1;  // correct responses kept per prompt, at most
  SamplingConfig sampling;          // YAML: temperature, top_p, max_new_tokens at this level
  RejectionFilters filters;
  bool dedupe = true;  // drop identical responses to the same prompt
  // Share of the output taken from the stage's non-reasoning (chat) input datasets, in [0, 1).
  double non_reasoning_ratio = 0.0;
};

struct EvalParams {
  int64_t samples_per_prompt = 4;  // k: pass@1 is mean correctness over k samples, plus maj@k
  SamplingConfig sampling{0.6, 0.95, 256};  // YAML: temperature, top_p, max_new_tokens
  int64_t max_examples = 0;                 // evaluate the first N prompts of each dataset; 0: all
  // Params of the code reward (stages/rewards/code.h) that grades code examples (task "code"): a
  // sample is correct when every test passes. YAML `code`; written only when not empty.
  nlohmann::json code = nlohmann::json::object();
};

struct StageInputs {
  ModelRef model;                    // where the stage's weights start (pretrain: base = fresh)
  std::vector<DatasetRef> datasets;  // training data / prompts / eval sets / preference pairs
};

struct StageConfig {
  // Unique, [A-Za-z0-9_.-]+ not starting with '.'; names RUN_DIR/<name>/ and "stage:<name>".
  std::string name;
  StageType type = StageType::kSft;
  std::vector<std::string> depends_on;  // stages that must succeed first
  StageInputs inputs;
  // YAML `template`: the prompt template the stage renders every prompt with (as
  // DatasetConfig::prompt_template); overrides its input datasets'. Empty: not set.
  std::string prompt_template;
  // Parameters, under a YAML key named after the type; only the one for `type` is meaningful.
  TrainParams train;                           // pretrain | sft | reward_model
  GrpoParams grpo;                             // grpo
  RejectionSamplingParams rejection_sampling;  // rejection_sampling
  EvalParams eval;                             // eval
};

struct PipelineConfig {
  RunConfig run;
  BaseModelConfig model;
  ClusterConfig cluster;
  std::vector<DatasetConfig> datasets;  // sorted by name
  std::vector<StageConfig> stages;      // in config order

  const DatasetConfig* FindDataset(absl::string_view name) const;  // null if absent
  const StageConfig* FindStage(absl::string_view name) const;      // null if absent
};

// ---- parsing --------------------------------------------------------------------------------

// One problem, at a key path such as "stages[1].grpo.group_size".
struct ConfigError {
  std::string path;
  std::string message;
  std::string ToString() const;  // "<path>: <message>"
};

struct ConfigParseResult {
  PipelineConfig config;            // meaningful only when errors is empty
  std::vector<ConfigError> errors;  // every problem found, in document order then check order
};

struct ConfigParseOptions {
  // Relative dataset/model/tokenizer paths are joined to this directory (the config file's);
  // empty leaves them as written. run.run_dir is never rewritten.
  std::string base_dir;
  std::string source_name = "config";  // used in YAML syntax errors ("<source>:3:5: ...")
};

// Parses `yaml_text` and validates the result (ValidateConfig). Never throws; never touches the
// filesystem. Unknown keys are errors naming the key path.
ConfigParseResult ParseConfigCollect(absl::string_view yaml_text,
                                     const ConfigParseOptions& options = {});

// Cross-field checks of a parsed config: stage types, names, dependencies (unknown, cycles),
// inputs (unknown, not a dependency, wrong kind) and numeric ranges. Appends to `errors`.
void ValidateConfig(const PipelineConfig& config, std::vector<ConfigError>* errors);

// As ParseConfigCollect; InvalidArgument listing every error, one per line, on failure.
absl::StatusOr<PipelineConfig> ParseConfig(absl::string_view yaml_text,
                                           const ConfigParseOptions& options = {});

// Reads and parses a config file (relative paths in it are relative to its directory). NotFound
// if the file is missing; InvalidArgument listing every error, one per line, if it is invalid.
absl::StatusOr<PipelineConfig> LoadConfig(const std::string& path);
// As LoadConfig, but config errors come back as a list; a Status only when the file can't be read.
absl::StatusOr<ConfigParseResult> LoadConfigCollect(const std::string& path);

// The prompt template `stage` renders prompts with: its own `template`, else the one its named
// input datasets set (validation requires those that set one to agree), else "plain". Datasets
// produced by stages carry no template.
std::string StageTemplate(const PipelineConfig& config, const StageConfig& stage);

// The resolved config as YAML (every field, defaults filled in): what RUN_DIR/run.yaml holds.
// ParseConfig(ConfigToYaml(c)) gives back `c`.
std::string ConfigToYaml(const PipelineConfig& config);

// The run directory of `config`: run.run_dir, or "runs/<run.name>" when empty.
std::string ResolvedRunDir(const PipelineConfig& config);

// configs/tiny-r1.yaml, embedded at build time: the pipeline `r1 run` uses with no config.
absl::string_view DefaultConfigYaml();

}  // namespace r1

#endif  // R1_PIPELINE_CONFIG_H_
