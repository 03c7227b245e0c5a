// The stage loops' view of a worker group: the Worker service (proto/r1/v1/worker.proto) as a
// plain C++ interface over domain structs. Implementations: an in-process worker (workers/
// local_worker.h, colocated placement), a gRPC client (later), and fakes in tests. Stages never
// see LibTorch, gRPC or MPI.
#ifndef R1_WORKER_API_WORKER_CLIENT_H_
#define R1_WORKER_API_WORKER_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pipeline/config_types.h"  // OptimizerConfig and the loss-setting enums

namespace r1 {

using TokenSeq = std::vector<int32_t>;

// Sampling parameters of one request. Same request + same seed => same tokens, whatever else
// shares the batch.
struct Sampling {
  float temperature = 1.0f;  // 0 = greedy
  int32_t top_k = 0;         // 0 = off
  float top_p = 1.0f;        // 1 = off
  int32_t max_new_tokens = 64;
  bool stop_at_eos = true;  // stop on the tokenizer's end-of-sequence id
  uint64_t seed = 0;
};

struct RolloutRequest {
  TokenSeq prompt;
  Sampling sampling;
};

struct Rollout {
  TokenSeq response;            // sampled ids, a final end-of-sequence id included (the policy
                                // must learn to stop, so trainers see it)
  std::string text;             // decoded response without the end-of-sequence token (invalid
                                // UTF-8 replaced by U+FFFD)
  std::vector<float> logprobs;  // one per response id, under the sampling policy
  bool truncated = false;       // true when max_new_tokens was reached ("length")
};

// Optimizer settings for a trainable model: the config's AdamW settings (pipeline/config_types.h)
// plus the one thing the config does not say, the length of the learning-rate schedule, which the
// stage derives from its steps or epochs. LocalWorker turns them into LibTorch's AdamWOptions.
struct OptimizerOptions : OptimizerConfig {
  int64_t total_steps = 0;  // for the schedule; 0 = constant after warm-up
};

// Policy-gradient loss settings (see workers/losses.h for the math).
struct PolicyLossConfig {
  double clip_low = 0.2;
  double clip_high = 0.2;
  double kl_coef = 0.0;
  KlEstimator kl_estimator = KlEstimator::kK3;
  LossAggregation aggregation = LossAggregation::kTokenMean;
  double temperature = 1.0;  // the policy trained is softmax(logits / temperature), > 0
  // The constant kSeqMeanTokenSumNorm divides each response's token sum by (Dr.GRPO: the
  // stage's max_new_tokens); 0: the padded response length of the global batch. >= 0.
  double token_sum_norm = 0.0;
  // C of truncated importance sampling, used with TrainBatch::behaviour_logprobs: each token's
  // policy-gradient term is weighted by min(π_old / π_behaviour, C). > 0.
  double importance_cap = 2.0;
};

// The Worker protocol's names of the loss settings (PolicyLossConfig in worker.proto), which
// differ from the config's: "seq-mean-token-mean" | "token-mean" | "seq-mean-token-sum-norm", and
// "k1" | "k2" | "k3" (aliases "kl", "mse", "low_var_kl", as verl spells them). The Parse functions
// return InvalidArgument naming the value and the accepted names.
absl::string_view LossAggregationName(LossAggregation mode);
absl::StatusOr<LossAggregation> ParseLossAggregation(absl::string_view name);
absl::string_view KlEstimatorName(KlEstimator estimator);
absl::StatusOr<KlEstimator> ParseKlEstimator(absl::string_view name);

// One optimisation step on a batch. Sequence i is prompts[i] followed by responses[i]; the loss
// is on response tokens only.
struct TrainBatch {
  enum class Objective { kLanguageModel, kPolicyGradient, kRewardModel };
  Objective objective = Objective::kLanguageModel;
  int64_t step = 0;  // global step (for the learning-rate schedule)
  std::vector<TokenSeq> prompts;
  std::vector<TokenSeq> responses;  // reward model: the chosen responses
  std::vector<float> advantages;    // policy gradient: one per sequence
  // Policy gradient: log π_old, one per response token; empty = on-policy (the weights being
  // trained sampled the responses and have not been updated since), so the ratio is taken against
  // this step's own log-probs, detached: it is 1 and the gradient is the plain policy gradient.
  std::vector<std::vector<float>> old_logprobs;
  std::vector<std::vector<float>> ref_logprobs;  // policy gradient with kl_coef > 0
  // Policy gradient, off-policy (asynchronous RL): log π_behaviour of each response token, as the
  // rollout engine returned them (Rollout::logprobs) when it sampled with weights older than
  // π_old; one row per sequence, as long as its response. Empty = the sampler was π_old.
  std::vector<std::vector<float>> behaviour_logprobs;
  std::vector<TokenSeq> rejected;  // reward model: rejected responses
  PolicyLossConfig policy_loss;
  // How a trainer splits its shard into forward/backward passes whose gradients accumulate into
  // the one step (the same step up to float rounding): the sequences sorted by prompt + response
  // length (reward model: the longer of the pair), longest first, and cut so that a pass holds at
  // most micro_batch_size sequences and at most micro_batch_tokens padded cells (its size x its
  // longest length; a pass holds at least one sequence). 0 leaves that bound off; both 0: one pass.
  // Short passes of similar length waste less on padding and keep the attention temporaries in
  // cache (CPU), and bound activation memory (GPU).
  int64_t micro_batch_size = 0;
  int64_t micro_batch_tokens = 0;
};

// Named scalars of a step ("loss", "grad_norm", "lr", "clip_fraction", "kl", "entropy", ...).
using StepMetrics = std::map<std::string, double>;

struct SyncStats {
  int64_t bytes_moved = 0;
  double seconds = 0.0;
};

// Thread-safety: implementations need not be thread-safe; a stage loop calls one at a time, but
// for the exceptions that CanGenerateWhileTraining and CanScoreWhileGenerating allow.
// Errors: Unavailable when the worker is gone (retry the stage from a checkpoint),
// InvalidArgument for a malformed request, FailedPrecondition when no model is loaded.
class WorkerClient {
 public:
  virtual ~WorkerClient() = default;

  // Loads the Hugging Face directory `model_dir` into `slot` ("policy", "reference", "reward").
  // With `optimizer`, the slot is trainable; `checkpoint_dir` (may be empty) restores weights and
  // optimizer state written by Save. There is no RNG state: see Save.
  virtual absl::Status LoadModel(const std::string& slot, const std::string& model_dir,
                                 const OptimizerOptions* optimizer,
                                 const std::string& checkpoint_dir) = 0;

  // Creates a model with random weights in `slot`: `hf_config_json` is a Hugging Face config.json
  // (vocab_size 0 = the tokenizer's), `tokenizer` a LoadTokenizer spec ("byte", a path), `seed`
  // fixes the weights. Trainable when `optimizer` is given. For pretraining a tiny base.
  virtual absl::Status InitModel(const std::string& slot, const std::string& hf_config_json,
                                 const std::string& tokenizer, uint64_t seed,
                                 const OptimizerOptions* optimizer) = 0;

  // Token ids of each text under the loaded model's tokenizer (special tokens matched).
  virtual absl::StatusOr<std::vector<TokenSeq>> Tokenize(const std::vector<std::string>& texts) = 0;

  // The end-of-sequence id of the loaded tokenizer.
  virtual absl::StatusOr<int32_t> EosId() = 0;

  // One Rollout per request, in order.
  virtual absl::StatusOr<std::vector<Rollout>> Generate(
      const std::string& slot, const std::vector<RolloutRequest>& requests) = 0;

  // Receives the Rollout of request `index`; an error ends the Generate call that feeds it.
  using RolloutSink = std::function<absl::Status(size_t index, Rollout rollout)>;

  // Generate, handing each Rollout to `sink` as soon as it is complete (in the order the
  // requests finish, on the calling thread), so that a caller can score or forward it while the
  // others still decode. Each index is handed over exactly once when the call succeeds. This
  // default waits for Generate and hands them over in request order; workers that decode with
  // continuous batching stream them.
  virtual absl::Status GenerateStreaming(const std::string& slot,
                                         const std::vector<RolloutRequest>& requests,
                                         const RolloutSink& sink) {
    absl::StatusOr<std::vector<Rollout>> rollouts = Generate(slot, requests);
    if (!rollouts.ok()) return rollouts.status();
    for (size_t i = 0; i < rollouts->size(); ++i) {
      absl::Status s = sink(i, std::move((*rollouts)[i]));
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // log p(responses[i][t] | prompts[i], responses[i][:t]) under softmax(logits / temperature) of
  // `slot`, one row per pair. RL passes its rollout temperature (> 0).
  virtual absl::StatusOr<std::vector<std::vector<float>>> Logprobs(
      const std::string& slot, const std::vector<TokenSeq>& prompts,
      const std::vector<TokenSeq>& responses, float temperature) = 0;

  // One optimizer step of the trainable "policy" (or "reward") slot.
  virtual absl::StatusOr<StepMetrics> TrainStep(const std::string& slot,
                                                const TrainBatch& batch) = 0;

  // Reward-model scores of (prompt, response) pairs under `slot`.
  virtual absl::StatusOr<std::vector<float>> Score(const std::string& slot,
                                                   const std::vector<TokenSeq>& prompts,
                                                   const std::vector<TokenSeq>& responses) = 0;

  // Writes `slot` to `dir` atomically: weights in Hugging Face layout plus, unless `weights_only`,
  // the optimizer state and `trainer_state_json` (the stage's own cursor). No RNG state is saved,
  // and none is needed for an exact resume: every sampled token is a pure function of its
  // request's seed (RequestSeed of stage seed, step, index) and decode position, data order of
  // the stage seed and step, initial weights of the run seed; the models have no dropout.
  virtual absl::Status Save(const std::string& slot, const std::string& dir,
                            const std::string& trainer_state_json, bool weights_only) = 0;

  // Makes the rollout copy of the policy equal to the trained one. Colocated: nothing moves.
  virtual absl::StatusOr<SyncStats> SyncWeights() = 0;

  // Whether Generate may run on a second thread while the first calls Tokenize, EosId, Logprobs,
  // Score, TrainStep, Save, or LoadModel of a slot other than "policy" (separate rollout workers:
  // asynchronous RL). The exception to "one call at a time"; SyncWeights and the "policy" slot's
  // LoadModel still wait for Generate to return.
  virtual bool CanGenerateWhileTraining() const { return false; }

  // Whether Tokenize and Score may run on a second thread while the first is inside Generate or
  // GenerateStreaming (the workers that score are not those that decode: disaggregated
  // placement), so that reward models can score the complete groups of a batch while the rest
  // still decode. Only those two calls; everything else still waits for Generate to return.
  virtual bool CanScoreWhileGenerating() const { return false; }

 protected:
  // Generate for workers whose GenerateStreaming is the real implementation: its rollouts, in
  // request order.
  absl::StatusOr<std::vector<Rollout>> CollectStreamed(
      const std::string& slot, const std::vector<RolloutRequest>& requests) {
    std::vector<Rollout> out(requests.size());
    absl::Status s = GenerateStreaming(slot, requests, [&](size_t i, Rollout r) {
      out[i] = std::move(r);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }
};

}  // namespace r1

#endif  // R1_WORKER_API_WORKER_CLIENT_H_
