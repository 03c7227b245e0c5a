// In-process worker (see local_worker.h): models in slots, generation, log-probs, optimizer steps
// (alone or as one data-parallel rank), weight sync and checkpoints on this process's CPU or GPU.
#include "workers/local_worker.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/exceptions.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "model/dtype.h"
#include "model/generate.h"
#include "model/hf_dir.h"
#include "model/logprobs.h"
#include "model/model_config.h"
#include "model/pretrained.h"
#include "model/tokenizers/tokenizer.h"
#include "model/transformer.h"
#include "workers/comm/data_parallel.h"
#include "workers/lr_schedule.h"
#include "workers/policy_loss.h"
#include "workers/reward_model_loss.h"
#include "workers/torch_save.h"

namespace r1 {

// Every tensor of a slot lives on the worker's device, in its compute dtype (the optimizer's master
// weights and state: float32).
struct LocalWorker::Slot {
  std::string name;
  ModelConfig config;  // config.torch_dtype: the dtype the weights are saved in
  CausalLm model{nullptr};
  at::Tensor score_weight;  // [1, C] reward head; undefined for a plain LM
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<torch::optim::AdamW> optimizer;  // null unless trainable; steps TrainedParameters
  OptimizerOptions optimizer_options;
  // Trainable slots computing in a reduced precision: float32 copies of Parameters() (same order)
  // that the optimizer steps and that are copied into the model after each step. Empty otherwise.
  std::vector<at::Tensor> master;

  std::vector<at::Tensor> Parameters() const {
    std::vector<at::Tensor> params = model->parameters();
    if (score_weight.defined()) params.push_back(score_weight);
    return params;
  }
  // What gradients are all-reduced on, clipped on and stepped: the master weights when there are.
  std::vector<at::Tensor> TrainedParameters() const {
    return master.empty() ? Parameters() : master;
  }
};

namespace {

constexpr char kScoreWeight[] = "score.weight";
constexpr char kOptimizerFile[] = "optimizer.pt";
constexpr char kMasterWeightsFile[] = "master_weights.pt";  // float32 masters of a bf16 slot
constexpr char kTrainerStateFile[] = "trainer_state.json";

// "float32" | "bfloat16" | "float64" -> the compute dtype.
absl::StatusOr<at::ScalarType> ComputeDtype(const std::string& name) {
  const std::optional<Dtype> dtype = DtypeByName(name);
  if (!dtype || *dtype == Dtype::kFloat16) {
    return absl::InvalidArgumentError(
        absl::StrCat("model dtype \"", name, "\" (want float32 or bfloat16)"));
  }
  return ToScalarType(*dtype);
}

bool IsReducedPrecision(at::ScalarType t) { return t == at::kBFloat16 || t == at::kHalf; }

// Where a communicator's tensors must live: the device for "nccl", the host for the others.
at::Device CommDevice(const Communicator& comm, at::Device device) {
  return comm.backend() == "nccl" ? device : at::Device(at::kCPU);
}

// A right-padded [B, T] batch of whole sequences (prompt + response) for scoring.
struct SequenceBatch {
  at::Tensor input_ids;       // [B, T] i64
  at::Tensor attention_mask;  // [B, T] i64
  at::Tensor last_index;      // [B] i64: position of each sequence's last token
};

absl::StatusOr<SequenceBatch> BuildSequenceBatch(const std::vector<TokenSeq>& prompts,
                                                 const std::vector<TokenSeq>& responses,
                                                 int64_t vocab_size, int64_t context) {
  if (prompts.size() != responses.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prompts.size(), " prompts but ", responses.size(), " responses"));
  }
  const int64_t batch = static_cast<int64_t>(prompts.size());
  if (batch == 0) return absl::InvalidArgumentError("empty batch");
  int64_t longest = 0;
  for (int64_t i = 0; i < batch; ++i) {
    int64_t n = static_cast<int64_t>(prompts[i].size() + responses[i].size());
    if (n == 0) return absl::InvalidArgumentError(absl::StrCat("sequence ", i, " is empty"));
    if (n > context) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", i, ": ", n,
                                                     " tokens exceeds the model's context ",
                                                     "(max_position_embeddings=", context, ")"));
    }
    longest = std::max(longest, n);
  }
  SequenceBatch out;
  out.input_ids = torch::zeros({batch, longest}, torch::kInt64);
  out.attention_mask = torch::zeros({batch, longest}, torch::kInt64);
  out.last_index = torch::zeros({batch}, torch::kInt64);
  auto ids = out.input_ids.accessor<int64_t, 2>();
  auto mask = out.attention_mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < batch; ++i) {
    int64_t t = 0;
    for (const TokenSeq* part : {&prompts[i], &responses[i]}) {
      for (int32_t id : *part) {
        if (id < 0 || id >= vocab_size) {
          return absl::InvalidArgumentError(
              absl::StrCat("sequence ", i, ": token id ", id, " outside [0, ", vocab_size, ")"));
        }
        ids[i][t] = id;
        mask[i][t] = 1;
        ++t;
      }
    }
    out.last_index[i] = t - 1;
  }
  return out;
}

// Scores [B] (float32 at least) of whole sequences: the reward head applied to the last token's
// hidden state. The batch is built on the host and moved to `device` here.
at::Tensor ScoreSequences(LocalWorker::Slot& slot, const SequenceBatch& host_batch,
                          at::Device device) {
  const at::Tensor ids = host_batch.input_ids.to(device);
  const at::Tensor mask = host_batch.attention_mask.to(device);
  at::Tensor hidden = slot.model->Hidden(ids, mask, PositionIdsFromMask(mask));
  at::Tensor rows = torch::arange(hidden.size(0), ids.options());
  at::Tensor last = hidden.index({rows, host_batch.last_index.to(device)});  // [B, C]
  // Losses in float32 at least, as for log-probs.
  return LogitsForLogprobs(last.matmul(slot.score_weight.t()).squeeze(-1));  // [B]
}

// [B, R] f32 on `device` from ragged rows, zero-padded to `width` columns.
at::Tensor PadRows(const std::vector<std::vector<float>>& rows, int64_t width, at::Device device) {
  at::Tensor out = torch::zeros({static_cast<int64_t>(rows.size()), width}, torch::kFloat32);
  auto acc = out.accessor<float, 2>();
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t t = 0; t < rows[i].size() && static_cast<int64_t>(t) < width; ++t) {
      acc[static_cast<int64_t>(i)][static_cast<int64_t>(t)] = rows[i][t];
    }
  }
  return out.to(device);
}

double GlobalGradNorm(const std::vector<at::Tensor>& params) {
  double sum = 0.0;
  for (const auto& p : params) {
    if (p.grad().defined()) sum += p.grad().pow(2).sum().item<double>();
  }
  return std::sqrt(sum);
}

// Gives each master weight the float32 gradient of its model parameter (zeros when it has none).
void GradientsToMaster(const std::vector<at::Tensor>& params, std::vector<at::Tensor>& master) {
  for (size_t i = 0; i < master.size(); ++i) {
    const at::Tensor& g = params[i].grad();
    master[i].mutable_grad() = g.defined() ? g.to(at::kFloat) : at::zeros_like(master[i]);
  }
}

// Copies the stepped master weights into the model's parameters (rounding to the compute dtype).
void MasterToParameters(const std::vector<at::Tensor>& master, std::vector<at::Tensor>& params) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < master.size(); ++i) params[i].copy_(master[i]);
}

// Sequences with an empty prompt (pretraining text) give their first token to the prompt, since
// the first token has no context to be predicted from.
void SplitForLanguageModel(TokenSeq* prompt, TokenSeq* response) {
  if (prompt->empty() && !response->empty()) {
    prompt->push_back(response->front());
    response->erase(response->begin());
  }
}

// The counts of one shard (or, summed over ranks, of the global batch) that normalise the losses.
struct ShardCounts {
  double sequences_in_batch = 0;  // sequences (pairs) in the shard, empty ones included
  double tokens = 0;              // response tokens that count (language model: after the split)
  double sequences = 0;           // sequences with at least one response token
  double pairs = 0;               // reward-model pairs
  double max_response = 0;        // longest response (max over ranks, not summed)
};

// Checks the batch's structure and counts it. An empty batch is refused unless `allow_empty` (a
// data-parallel shard may be empty).
absl::StatusOr<ShardCounts> CountShard(const TrainBatch& batch, bool allow_empty) {
  const size_t n = batch.prompts.size();
  if (n == 0 && !allow_empty) return absl::InvalidArgumentError("TrainStep: empty batch");
  if (batch.responses.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("TrainStep: ", n, " prompts but ", batch.responses.size(), " responses"));
  }
  ShardCounts counts;
  counts.sequences_in_batch = static_cast<double>(n);
  switch (batch.objective) {
    case TrainBatch::Objective::kLanguageModel:
      for (size_t i = 0; i < n; ++i) {
        // SplitForLanguageModel gives the first token to an empty prompt.
        const size_t tokens =
            batch.responses[i].size() - (batch.prompts[i].empty() && !batch.responses[i].empty());
        counts.tokens += static_cast<double>(tokens);
        counts.sequences += tokens > 0;
      }
      break;
    case TrainBatch::Objective::kPolicyGradient:
      if (batch.advantages.size() != n ||
          (!batch.old_logprobs.empty() && batch.old_logprobs.size() != n)) {
        return absl::InvalidArgumentError(
            "TrainStep: policy gradient needs one advantage per sequence and one old_logprobs "
            "row per sequence (or none: on-policy)");
      }
      if (batch.policy_loss.kl_coef > 0.0 && batch.ref_logprobs.size() != n) {
        return absl::InvalidArgumentError("TrainStep: kl_coef > 0 needs ref_logprobs");
      }
      if (!batch.behaviour_logprobs.empty()) {
        if (batch.behaviour_logprobs.size() != n) {
          return absl::InvalidArgumentError(
              absl::StrCat("TrainStep: ", batch.behaviour_logprobs.size(),
                           " behaviour_logprobs rows for ", n, " sequences"));
        }
        for (size_t i = 0; i < n; ++i) {
          if (batch.behaviour_logprobs[i].size() != batch.responses[i].size()) {
            return absl::InvalidArgumentError(
                absl::StrCat("TrainStep: behaviour_logprobs row ", i, " has ",
                             batch.behaviour_logprobs[i].size(), " values for a response of ",
                             batch.responses[i].size(), " tokens"));
          }
        }
      }
      R1_RETURN_IF_ERROR(
          CheckLogprobTemperature(static_cast<float>(batch.policy_loss.temperature)));
      for (size_t i = 0; i < n; ++i) {
        const double tokens = static_cast<double>(batch.responses[i].size());
        counts.tokens += tokens;
        counts.sequences += tokens > 0;
        counts.max_response = std::max(counts.max_response, tokens);
      }
      break;
    case TrainBatch::Objective::kRewardModel:
      if (batch.rejected.size() != n) {
        return absl::InvalidArgumentError("TrainStep: one rejected response per pair needed");
      }
      counts.pairs = static_cast<double>(n);
      break;
  }
  return counts;
}

// The metrics each objective sums across data-parallel ranks (each rank holding its share), in a
// fixed order so that every rank packs the same vector.
std::vector<std::string> MetricKeys(TrainBatch::Objective objective) {
  switch (objective) {
    case TrainBatch::Objective::kLanguageModel:
      return {"loss", "tokens"};
    case TrainBatch::Objective::kPolicyGradient:
      return {"loss", "pg_loss", "kl", "clip_fraction", "approx_kl", "entropy", "tokens"};
    case TrainBatch::Objective::kRewardModel:
      return {"loss", "accuracy", "margin"};
  }
  return {};
}

// Sums `values` (in place, f64) across the ranks of `comm` together with the number of ranks whose
// `local` status failed; every rank must call it with vectors of the same length. Returns `local`
// when it failed, Aborted when only another rank failed, the collective's error (DeadlineExceeded,
// ...) when it failed, else OK.
absl::Status SumAcrossRanks(Communicator& comm, const absl::Status& local,
                            std::vector<double>& values, absl::Duration timeout,
                            at::Device device) {
  std::vector<double> packed = {local.ok() ? 0.0 : 1.0};
  packed.insert(packed.end(), values.begin(), values.end());
  std::vector<at::Tensor> tensors = {
      torch::tensor(packed, torch::kFloat64).to(CommDevice(comm, device))};
  AllReduceOptions options;
  options.op = ReduceOp::kSum;
  options.timeout = timeout;
  absl::Status reduced = comm.AllReduce(tensors, options)->Wait();
  if (!local.ok()) return local;
  R1_RETURN_IF_ERROR(reduced);
  const at::Tensor result = tensors[0].cpu();
  const double failed = result[0].item<double>();
  if (failed > 0) {
    return absl::AbortedError(absl::StrCat("TrainStep: ", failed, " other rank(s) of group '",
                                           comm.group_name(), "' failed this step"));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = result[static_cast<int64_t>(i) + 1].item<double>();
  }
  return absl::OkStatus();
}

absl::StatusOr<double> MaxAcrossRanks(Communicator& comm, double value, absl::Duration timeout,
                                      at::Device device) {
  std::vector<at::Tensor> tensors = {
      torch::tensor({value}, torch::kFloat64).to(CommDevice(comm, device))};
  AllReduceOptions options;
  options.op = ReduceOp::kMax;
  options.timeout = timeout;
  R1_RETURN_IF_ERROR(comm.AllReduce(tensors, options)->Wait());
  return tensors[0][0].item<double>();
}

// A training forward over prompt + response sequences that keeps the response logits (for the
// entropy diagnostic), all of softmax(logits / temperature). Same values as
// ComputeResponseLogProbs.
struct ResponseForward {
  at::Tensor logprobs;  // [B, R] f32, differentiable; 0 where mask is 0
  at::Tensor mask;      // [B, R] f32: 1 = a real response token
  at::Tensor logits;    // [B, R, V] f32: logits[b, r] predict response token r
};

absl::StatusOr<ResponseForward> ForwardResponses(CausalLmImpl& model,
                                                 const std::vector<TokenSeq>& prompts,
                                                 const std::vector<TokenSeq>& responses,
                                                 float temperature, at::Device device) {
  R1_ASSIGN_OR_RETURN(PackedSequences host,
                      PackSequences(prompts, responses, model.config().vocab_size,
                                    model.config().max_position_embeddings));
  const PackedSequences packed = host.To(device);
  at::Tensor hidden = model.Hidden(packed.input_ids, packed.attention_mask, packed.position_ids);
  // The LM head only at the R predicting positions: [B, R, C] -> [B, R, V], in float32 at least.
  const int64_t c = hidden.size(2);
  ResponseForward out;
  out.logits = LogitsForLogprobs(
      model.LmHead(hidden.gather(1, packed.target_index.unsqueeze(-1).expand({-1, -1, c}))));
  if (temperature != 1.0f) out.logits = out.logits / temperature;
  // log p(token) = logit(token) - logsumexp(logits), without GatherTokenLogProbs' re-gather of
  // positions (a second [B, R, V] copy: these logits are already the predicting positions).
  const at::Tensor chosen = out.logits.gather(2, packed.target_ids.unsqueeze(-1)).squeeze(-1);
  out.mask = packed.response_mask.to(out.logits.scalar_type());
  out.logprobs = (chosen - out.logits.logsumexp(-1)) * out.mask;
  return out;
}

// Σ over response tokens of the entropy of the policy's next-token distribution, without
// gradient. logits: [B, R, V]; mask: [B, R]. One row at a time, so the temporaries are [R, V].
absl::StatusOr<double> ResponseEntropySum(const at::Tensor& logits, const at::Tensor& mask) {
  torch::NoGradGuard no_grad;
  at::Tensor sum;  // [] f64 on the logits' device
  for (int64_t b = 0; b < logits.size(0); ++b) {
    R1_ASSIGN_OR_RETURN(at::Tensor entropy, TokenEntropy(logits[b].detach()));  // [R]
    const at::Tensor row = (entropy * mask[b]).sum().to(torch::kFloat64);
    sum = sum.defined() ? sum + row : row;
  }
  return sum.defined() ? sum.item<double>() : 0.0;
}

// "f32[32,64];f32[64];..." — what two ranks must agree on before parameters are broadcast.
std::string ParameterLayout(const std::vector<at::Tensor>& params) {
  std::string layout;
  for (const at::Tensor& p : params) {
    absl::StrAppend(&layout, c10::toString(p.scalar_type()), "[", absl::StrJoin(p.sizes(), ","),
                    "];");
  }
  return layout;
}

// What one objective's forward and backward on this rank's shard needs (see TrainStep).
struct ShardStep {
  LocalWorker::Slot* slot;
  const TrainBatch* batch;
  ShardCounts counts;  // this shard's
  ShardCounts global;  // summed over the data-parallel ranks
  double world = 1;    // data-parallel ranks
  at::Device device{at::kCPU};
};

// Each objective's forward and backward on the shard: the loss is scaled by W · (this shard's
// share of the normalising count), so that the gradients averaged over the W ranks are the global
// batch's. Writes this shard's share of each metric of MetricKeys (summed over ranks later).
absl::Status LanguageModelBackward(const ShardStep& c, StepMetrics& metrics) {
  if (c.counts.tokens == 0) return absl::OkStatus();
  std::vector<TokenSeq> prompts, responses;
  for (size_t i = 0; i < c.batch->prompts.size(); ++i) {
    TokenSeq prompt = c.batch->prompts[i], response = c.batch->responses[i];
    SplitForLanguageModel(&prompt, &response);
    if (response.empty()) continue;
    prompts.push_back(std::move(prompt));
    responses.push_back(std::move(response));
  }
  R1_ASSIGN_OR_RETURN(ResponseLogProbs lp,
                      ComputeResponseLogProbs(*c.slot->model, prompts, responses));
  // Token mean over the whole global batch, whatever the micro-batch and shard split.
  at::Tensor loss = -(lp.logprobs * lp.mask).sum() / c.global.tokens;
  (loss * c.world).backward();
  metrics["loss"] = loss.item<double>();
  metrics["tokens"] = c.counts.tokens;
  return absl::OkStatus();
}

absl::Status PolicyGradientBackward(const ShardStep& c, StepMetrics& metrics) {
  if (c.counts.tokens == 0) return absl::OkStatus();
  PolicyLossOptions loss_options;
  loss_options.clip_low = c.batch->policy_loss.clip_low;
  loss_options.clip_high = c.batch->policy_loss.clip_high;
  loss_options.kl_coef = c.batch->policy_loss.kl_coef;
  loss_options.kl_estimator = c.batch->policy_loss.kl_estimator;
  loss_options.aggregation = c.batch->policy_loss.aggregation;
  // Dr.GRPO's constant: the configured one (max_new_tokens), else the padded response length of
  // the GLOBAL batch.
  loss_options.token_sum_norm = c.batch->policy_loss.token_sum_norm > 0.0
                                    ? c.batch->policy_loss.token_sum_norm
                                    : c.global.max_response;
  loss_options.importance_cap = c.batch->policy_loss.importance_cap;
  R1_ASSIGN_OR_RETURN(
      ResponseForward fwd,
      ForwardResponses(*c.slot->model, c.batch->prompts, c.batch->responses,
                       static_cast<float>(c.batch->policy_loss.temperature), c.device));
  const int64_t width = fwd.logprobs.size(1);
  PolicyLossInputs inputs;
  inputs.logprobs = fwd.logprobs;
  inputs.old_logprobs = c.batch->old_logprobs.empty()
                            ? fwd.logprobs.detach()
                            : PadRows(c.batch->old_logprobs, width, c.device);
  inputs.advantages = torch::tensor(c.batch->advantages, torch::kFloat32).to(c.device);
  inputs.response_mask = fwd.mask;
  if (loss_options.kl_coef > 0.0) {
    inputs.ref_logprobs = PadRows(c.batch->ref_logprobs, width, c.device);
  }
  const bool off_policy = !c.batch->behaviour_logprobs.empty();
  if (off_policy) inputs.behaviour_logprobs = PadRows(c.batch->behaviour_logprobs, width, c.device);
  R1_ASSIGN_OR_RETURN(PolicyLossResult result, ComputePolicyLoss(inputs, loss_options));
  // This shard's share of the count the aggregation divides by, and of the tokens.
  const double share = loss_options.aggregation == LossAggregation::kTokenMean
                           ? c.counts.tokens / c.global.tokens
                           : c.counts.sequences / c.global.sequences;
  const double token_share = c.counts.tokens / c.global.tokens;
  (result.loss * (c.world * share)).backward();
  R1_ASSIGN_OR_RETURN(const double entropy_sum, ResponseEntropySum(fwd.logits, fwd.mask));
  metrics["loss"] = result.loss.item<double>() * share;
  metrics["pg_loss"] = result.pg_loss * share;
  metrics["kl"] = result.kl * token_share;
  metrics["clip_fraction"] = result.clip_fraction * token_share;
  metrics["approx_kl"] = result.approx_kl * token_share;
  if (off_policy) {
    metrics["importance_weight_mean"] = result.importance_weight_mean * token_share;
    metrics["importance_truncated_fraction"] = result.importance_truncated_fraction * token_share;
  }
  metrics["entropy"] = entropy_sum / c.global.tokens;
  metrics["tokens"] = c.counts.tokens;
  return absl::OkStatus();
}

absl::Status RewardModelBackward(const ShardStep& c, StepMetrics& metrics) {
  if (c.counts.pairs == 0) return absl::OkStatus();
  const int64_t vocab = c.slot->config.vocab_size;
  const int64_t context = c.slot->config.max_position_embeddings;
  R1_ASSIGN_OR_RETURN(SequenceBatch chosen,
                      BuildSequenceBatch(c.batch->prompts, c.batch->responses, vocab, context));
  R1_ASSIGN_OR_RETURN(SequenceBatch rejected,
                      BuildSequenceBatch(c.batch->prompts, c.batch->rejected, vocab, context));
  R1_ASSIGN_OR_RETURN(RewardModelLossResult result,
                      BradleyTerryLoss(ScoreSequences(*c.slot, chosen, c.device),
                                       ScoreSequences(*c.slot, rejected, c.device)));
  const double share = c.counts.pairs / c.global.pairs;
  (result.loss * (c.world * share)).backward();
  metrics["loss"] = result.loss.item<double>() * share;
  metrics["accuracy"] = result.accuracy * share;
  metrics["margin"] = result.mean_margin * share;
  return absl::OkStatus();
}

// TrainBatch::micro_batch_*'s passes over this shard: row indices of `batch`, length-sorted.
std::vector<std::vector<size_t>> PlanMicroBatches(const TrainBatch& batch) {
  std::vector<int64_t> lengths(batch.prompts.size());
  for (size_t i = 0; i < lengths.size(); ++i) {
    size_t response = batch.responses[i].size();
    if (batch.objective == TrainBatch::Objective::kRewardModel) {
      response = std::max(response, batch.rejected[i].size());
    }
    lengths[i] = static_cast<int64_t>(batch.prompts[i].size() + response);
  }
  return PlanLogprobChunks(lengths, batch.micro_batch_tokens, batch.micro_batch_size);
}

// The rows `rows` of every per-sequence field of a batch CountShard accepted.
TrainBatch SelectRows(const TrainBatch& batch, const std::vector<size_t>& rows) {
  auto pick = [&](const auto& v) {
    std::decay_t<decltype(v)> out;
    if (v.empty()) return out;  // an optional field left empty
    for (size_t i : rows) out.push_back(v[i]);
    return out;
  };
  TrainBatch out;
  out.objective = batch.objective;
  out.step = batch.step;
  out.policy_loss = batch.policy_loss;
  out.prompts = pick(batch.prompts);
  out.responses = pick(batch.responses);
  out.advantages = pick(batch.advantages);
  out.old_logprobs = pick(batch.old_logprobs);
  out.ref_logprobs = pick(batch.ref_logprobs);
  out.behaviour_logprobs = pick(batch.behaviour_logprobs);
  out.rejected = pick(batch.rejected);
  return out;
}

// TrainStep's end: sums this shard's metrics across the ranks of `comm` (null: one process) into
// the global ones, hands bf16 gradients to the float32 masters, averages the gradients across
// ranks, clips them and steps the optimizer (copying the masters back into the model). Every rank
// joins the collectives even when its `shard_status` failed; returns the step's status.
absl::Status SyncAndStep(LocalWorker::Slot& slot, Communicator* comm,
                         TrainBatch::Objective objective, absl::Status shard_status,
                         absl::Duration timeout, at::Device device, StepMetrics& metrics) {
  const std::vector<std::string> keys = MetricKeys(objective);
  absl::Status status = shard_status;
  if (comm != nullptr && status.ok()) {
    std::vector<double> sums;
    for (const std::string& key : keys) sums.push_back(metrics[key]);
    status = SumAcrossRanks(*comm, status, sums, timeout, device);
    for (size_t i = 0; i < keys.size(); ++i) metrics[keys[i]] = sums[i];
  } else if (comm != nullptr) {
    std::vector<double> ignored(keys.size(), 0.0);
    status = SumAcrossRanks(*comm, status, ignored, timeout, device);
  }
  std::vector<at::Tensor> model_params = slot.Parameters();
  if (!slot.master.empty() && status.ok()) {
    status = CatchExceptions("master gradients", [&]() -> absl::Status {
      GradientsToMaster(model_params, slot.master);
      return absl::OkStatus();
    });
  }
  std::vector<at::Tensor> params = slot.TrainedParameters();
  if (comm != nullptr && status.ok()) {
    GradSyncOptions grad_sync;
    grad_sync.timeout = timeout;
    status = AllReduceGradients(params, *comm, grad_sync).status();
  }
  if (!status.ok()) return status;
  return CatchExceptions("optimizer step", [&]() -> absl::Status {
    const double clip = slot.optimizer_options.grad_clip;
    metrics["grad_norm"] =
        clip > 0.0 ? torch::nn::utils::clip_grad_norm_(params, clip) : GlobalGradNorm(params);
    slot.optimizer->step();
    if (!slot.master.empty()) MasterToParameters(slot.master, model_params);
    return absl::OkStatus();
  });
}

}  // namespace

LocalWorker::LocalWorker(LocalWorkerOptions options) : options_(options) {
  absl::StatusOr<at::ScalarType> dtype = ComputeDtype(options_.dtype);
  placement_ = dtype.status();
  if (dtype.ok()) dtype_ = *dtype;
  try {
    device_ = at::Device(options_.device);
  } catch (const std::exception& e) {
    placement_ = absl::InvalidArgumentError(
        absl::StrCat("worker device \"", options_.device, "\" (want cpu or cuda:N)"));
  }
}
LocalWorker::~LocalWorker() = default;

void LocalWorker::Unload(const std::string& slot) { slots_.erase(slot); }

absl::StatusOr<LocalWorker::Slot*> LocalWorker::FindSlot(const std::string& slot) {
  auto it = slots_.find(slot);
  if (it == slots_.end()) {
    return absl::FailedPreconditionError(absl::StrCat("no model loaded in slot \"", slot, "\""));
  }
  return it->second.get();
}

absl::Status LocalWorker::LoadModel(const std::string& slot_name, const std::string& model_dir,
                                    const OptimizerOptions* optimizer,
                                    const std::string& checkpoint_dir) {
  const std::string& weights_dir = checkpoint_dir.empty() ? model_dir : checkpoint_dir;
  R1_ASSIGN_OR_RETURN(HfModelFiles files, LoadHfModelDir(weights_dir));
  R1_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(files.config));
  auto slot = std::make_unique<Slot>();
  slot->name = slot_name;
  slot->config = config;
  R1_ASSIGN_OR_RETURN(slot->tokenizer, LoadTokenizer(model_dir));
  R1_ASSIGN_OR_RETURN(slot->model, NewCausalLm(config, /*seed=*/0));
  auto score = files.tensors.find(kScoreWeight);
  if (score != files.tensors.end()) {
    slot->score_weight = score->second.to(torch::kFloat32).clone();
    files.tensors.erase(score);
  }
  R1_RETURN_IF_ERROR(ImportStateDict(*slot->model, files.tensors));
  if (slot_name == "reward" && !slot->score_weight.defined()) {
    slot->score_weight = torch::zeros({1, config.hidden_size}, torch::kFloat32);
  }
  if (slot->score_weight.defined() &&
      (slot->score_weight.dim() != 2 || slot->score_weight.size(0) != 1 ||
       slot->score_weight.size(1) != config.hidden_size)) {
    return absl::InvalidArgumentError(
        absl::StrCat(weights_dir, ": ", kScoreWeight, " must be [1, ", config.hidden_size, "]"));
  }
  return Install(std::move(slot), optimizer, checkpoint_dir);
}

absl::Status LocalWorker::InitModel(const std::string& slot_name, const std::string& hf_config_json,
                                    const std::string& tokenizer, uint64_t seed,
                                    const OptimizerOptions* optimizer) {
  auto slot = std::make_unique<Slot>();
  slot->name = slot_name;
  R1_ASSIGN_OR_RETURN(slot->tokenizer, LoadTokenizer(tokenizer));
  nlohmann::json json = nlohmann::json::parse(hf_config_json, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError("InitModel: the model config is not a JSON object");
  }
  if (json.value("vocab_size", 0) == 0) json["vocab_size"] = slot->tokenizer->vocab_size();
  R1_ASSIGN_OR_RETURN(slot->config, ParseModelConfig(json));
  if (slot->config.vocab_size < slot->tokenizer->vocab_size()) {
    return absl::InvalidArgumentError(absl::StrCat("InitModel: vocab_size ",
                                                   slot->config.vocab_size, " is smaller than the ",
                                                   "tokenizer's ", slot->tokenizer->vocab_size()));
  }
  R1_ASSIGN_OR_RETURN(slot->model, NewCausalLm(slot->config, seed));
  if (slot_name == "reward") {
    slot->score_weight = torch::zeros({1, slot->config.hidden_size}, torch::kFloat32);
  }
  return Install(std::move(slot), optimizer, /*checkpoint_dir=*/"");
}

absl::Status LocalWorker::Install(std::unique_ptr<Slot> slot, const OptimizerOptions* optimizer,
                                  const std::string& checkpoint_dir) {
  R1_RETURN_IF_ERROR(placement_);
  return CatchExceptions("load model", [&]() -> absl::Status {
    // The one move of a slot onto the worker's device and compute dtype.
    slot->model->to(device_, dtype_);
    if (slot->score_weight.defined()) slot->score_weight = slot->score_weight.to(device_, dtype_);
    if (slot->score_weight.defined()) slot->score_weight.set_requires_grad(optimizer != nullptr);
    for (auto& p : slot->model->parameters()) p.set_requires_grad(optimizer != nullptr);
    slot->model->eval();
    if (optimizer != nullptr) {
      if (IsReducedPrecision(dtype_)) {
        for (const at::Tensor& p : slot->Parameters()) {
          slot->master.push_back(p.detach().to(at::kFloat).clone().set_requires_grad(true));
        }
        const std::string path = JoinPath(checkpoint_dir, kMasterWeightsFile);
        if (!checkpoint_dir.empty() && PathExists(path)) {
          // Exact resume: the float32 masters, not the rounded weights of model.safetensors.
          std::vector<at::Tensor> saved;
          torch::load(saved, path, device_);
          if (saved.size() != slot->master.size()) {
            return absl::DataLossError(absl::StrCat(
                path, " holds ", saved.size(), " tensors; the model has ", slot->master.size()));
          }
          at::NoGradGuard no_grad;
          for (size_t i = 0; i < saved.size(); ++i) slot->master[i].copy_(saved[i]);
          std::vector<at::Tensor> params = slot->Parameters();
          MasterToParameters(slot->master, params);
        }
      }
      slot->optimizer_options = *optimizer;
      slot->optimizer = std::make_unique<torch::optim::AdamW>(
          slot->TrainedParameters(), torch::optim::AdamWOptions(optimizer->lr)
                                         .betas({optimizer->beta1, optimizer->beta2})
                                         .eps(optimizer->eps)
                                         .weight_decay(optimizer->weight_decay));
      if (!checkpoint_dir.empty()) {
        std::string path = JoinPath(checkpoint_dir, kOptimizerFile);
        if (!PathExists(path)) {
          return absl::DataLossError(
              absl::StrCat("checkpoint ", checkpoint_dir, " has no ", kOptimizerFile));
        }
        torch::load(*slot->optimizer, path, device_);  // state onto this worker's device
      }
    }
    std::string name = slot->name;
    slots_[name] = std::move(slot);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<TokenSeq>> LocalWorker::Tokenize(const std::vector<std::string>& texts) {
  Slot* slot = nullptr;
  for (const char* name : {"policy", "reward", "reference"}) {
    auto it = slots_.find(name);
    if (it != slots_.end()) {
      slot = it->second.get();
      break;
    }
  }
  if (slot == nullptr) return absl::FailedPreconditionError("Tokenize: no model loaded");
  std::vector<TokenSeq> out;
  out.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    auto ids = slot->tokenizer->Encode(texts[i]);
    if (!ids.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("text ", i, ": ", ids.status().message()));
    }
    out.push_back(*std::move(ids));
  }
  return out;
}

absl::StatusOr<int32_t> LocalWorker::EosId() {
  for (const char* name : {"policy", "reward", "reference"}) {
    auto it = slots_.find(name);
    if (it != slots_.end()) return it->second->tokenizer->eos_id();
  }
  return absl::FailedPreconditionError("EosId: no model loaded");
}

absl::StatusOr<std::vector<Rollout>> LocalWorker::Generate(
    const std::string& slot_name, const std::vector<RolloutRequest>& requests) {
  return CollectStreamed(slot_name, requests);
}

absl::Status LocalWorker::GenerateStreaming(const std::string& slot_name,
                                            const std::vector<RolloutRequest>& requests,
                                            const RolloutSink& sink) {
  R1_ASSIGN_OR_RETURN(Slot * slot, FindSlot(slot_name));
  const int32_t eos = slot->tokenizer->eos_id();
  std::vector<GenerationRequest> model_requests;
  model_requests.reserve(requests.size());
  for (const RolloutRequest& r : requests) {
    GenerationRequest g;
    g.prompt_ids = r.prompt;
    g.sampling.temperature = r.sampling.temperature;
    g.sampling.top_k = r.sampling.top_k;
    g.sampling.top_p = r.sampling.top_p;
    g.sampling.seed = r.sampling.seed;
    g.max_new_tokens = r.sampling.max_new_tokens;
    if (r.sampling.stop_at_eos) g.stop_token_ids.push_back(eos);
    model_requests.push_back(std::move(g));
  }
  GenerateOptions options;
  options.per_request = options_.per_request_generation;
  options.max_batch = options_.generation_batch;
  // The first failure (decoding or the sink) is kept; later sequences still finish but are not
  // handed over (generation has no cancellation point).
  absl::Status failed;
  options.on_finished = [&](size_t i, const GenerationResult& result) {
    if (!failed.ok()) return;
    Rollout out;
    out.response = result.token_ids;
    out.logprobs = result.logprobs;
    out.truncated = result.finish_reason == FinishReason::kLength;
    TokenSeq visible = result.token_ids;
    if (!visible.empty() && visible.back() == eos && !out.truncated) visible.pop_back();
    absl::StatusOr<std::string> text = slot->tokenizer->Decode(visible);
    if (!text.ok()) {
      failed = text.status();
      return;
    }
    out.text = ToValidUtf8(*text);
    failed = sink(i, std::move(out));
  };
  R1_RETURN_IF_ERROR(r1::Generate(*slot->model, model_requests, options).status());
  return failed;
}

absl::StatusOr<std::vector<std::vector<float>>> LocalWorker::Logprobs(
    const std::string& slot_name, const std::vector<TokenSeq>& prompts,
    const std::vector<TokenSeq>& responses, float temperature) {
  R1_ASSIGN_OR_RETURN(Slot * slot, FindSlot(slot_name));
  R1_ASSIGN_OR_RETURN(ResponseLogProbs lp,
                      ComputeResponseLogProbsNoGrad(*slot->model, prompts, responses, temperature));
  at::Tensor values = lp.logprobs.to(at::kCPU, at::kFloat).contiguous();  // the one host copy
  std::vector<std::vector<float>> rows(responses.size());
  auto acc = values.accessor<float, 2>();
  for (size_t i = 0; i < responses.size(); ++i) {
    rows[i].resize(responses[i].size());
    for (size_t t = 0; t < responses[i].size(); ++t) {
      rows[i][t] = acc[static_cast<int64_t>(i)][static_cast<int64_t>(t)];
    }
  }
  return rows;
}

absl::StatusOr<StepMetrics> LocalWorker::TrainStep(const std::string& slot_name,
                                                   const TrainBatch& batch) {
  const auto start = std::chrono::steady_clock::now();
  Communicator* comm = options_.trainer_comm != nullptr && options_.trainer_comm->size() > 1
                           ? options_.trainer_comm
                           : nullptr;
  const absl::Duration timeout = options_.collective_timeout;

  // 1. This shard's checks and counts; across ranks, the global counts (every rank joins, even
  // one that failed, so that all of them return instead of waiting on each other).
  absl::StatusOr<Slot*> found = FindSlot(slot_name);
  Slot* slot = found.ok() ? *found : nullptr;
  absl::Status local = found.status();
  if (local.ok() && slot->optimizer == nullptr) {
    local = absl::FailedPreconditionError(
        absl::StrCat("slot \"", slot_name, "\" was not loaded as trainable"));
  }
  if (local.ok() && batch.objective == TrainBatch::Objective::kRewardModel &&
      !slot->score_weight.defined()) {
    local = absl::FailedPreconditionError("TrainStep: reward objective needs a reward slot");
  }
  ShardCounts counts;
  if (local.ok()) {
    absl::StatusOr<ShardCounts> counted = CountShard(batch, /*allow_empty=*/comm != nullptr);
    local = counted.status();
    if (counted.ok()) counts = *counted;
  }
  ShardCounts global = counts;
  if (comm != nullptr) {
    std::vector<double> sums = {counts.sequences_in_batch, counts.tokens, counts.sequences,
                                counts.pairs};
    R1_RETURN_IF_ERROR(SumAcrossRanks(*comm, local, sums, timeout, device_));
    global.sequences_in_batch = sums[0];
    global.tokens = sums[1];
    global.sequences = sums[2];
    global.pairs = sums[3];
    R1_ASSIGN_OR_RETURN(global.max_response,
                        MaxAcrossRanks(*comm, counts.max_response, timeout, device_));
  } else {
    R1_RETURN_IF_ERROR(local);
  }
  if (global.sequences_in_batch == 0) return absl::InvalidArgumentError("TrainStep: empty batch");
  if (batch.objective != TrainBatch::Objective::kRewardModel && global.tokens == 0) {
    return absl::InvalidArgumentError("TrainStep: no response tokens");
  }

  // 2. Forward and backward on this shard (one function per objective, above).
  const double world = comm != nullptr ? comm->size() : 1;
  const double lr = LearningRateAt(slot->optimizer_options, batch.step);
  for (auto& group : slot->optimizer->param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  }
  slot->model->train();
  slot->optimizer->zero_grad();
  if (!slot->master.empty()) {
    for (at::Tensor& p : slot->Parameters()) {
      if (p.grad().defined()) p.mutable_grad().reset();
    }
  }
  // Each micro-batch is scaled like a shard of its own: gradients and metric shares add up.
  StepMetrics metrics;  // this shard's share of each global metric (summed over ranks below)
  absl::Status status = CatchExceptions("train step", [&]() -> absl::Status {
    for (const std::vector<size_t>& rows : PlanMicroBatches(batch)) {
      const bool whole = rows.size() == batch.prompts.size();  // one pass: no copy
      const TrainBatch micro = whole ? TrainBatch() : SelectRows(batch, rows);
      const TrainBatch& part = whole ? batch : micro;
      R1_ASSIGN_OR_RETURN(ShardCounts part_counts, CountShard(part, /*allow_empty=*/true));
      ShardStep shard{slot, &part, part_counts, global, world, device_};
      StepMetrics part_metrics;
      switch (batch.objective) {
        case TrainBatch::Objective::kLanguageModel:
          R1_RETURN_IF_ERROR(LanguageModelBackward(shard, part_metrics));
          break;
        case TrainBatch::Objective::kPolicyGradient:
          R1_RETURN_IF_ERROR(PolicyGradientBackward(shard, part_metrics));
          break;
        case TrainBatch::Objective::kRewardModel:
          R1_RETURN_IF_ERROR(RewardModelBackward(shard, part_metrics));
          break;
      }
      for (const auto& [key, value] : part_metrics) metrics[key] += value;
    }
    return absl::OkStatus();
  });

  // 3. The global metrics and gradients, then one clipped optimizer step (identical everywhere).
  status = SyncAndStep(*slot, comm, batch.objective, status, timeout, device_, metrics);
  slot->model->eval();
  R1_RETURN_IF_ERROR(status);
  metrics["lr"] = lr;
  metrics["seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return metrics;
}

absl::StatusOr<std::vector<float>> LocalWorker::Score(const std::string& slot_name,
                                                      const std::vector<TokenSeq>& prompts,
                                                      const std::vector<TokenSeq>& responses) {
  R1_ASSIGN_OR_RETURN(Slot * slot, FindSlot(slot_name));
  if (!slot->score_weight.defined()) {
    return absl::FailedPreconditionError(
        absl::StrCat("slot \"", slot_name, "\" has no reward head"));
  }
  R1_ASSIGN_OR_RETURN(SequenceBatch batch,
                      BuildSequenceBatch(prompts, responses, slot->config.vocab_size,
                                         slot->config.max_position_embeddings));
  return CatchExceptions("score", [&]() -> absl::StatusOr<std::vector<float>> {
    torch::NoGradGuard no_grad;
    at::Tensor scores = ScoreSequences(*slot, batch, device_).to(at::kCPU, at::kFloat).contiguous();
    return std::vector<float>(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
  });
}

absl::Status LocalWorker::Save(const std::string& slot_name, const std::string& dir,
                               const std::string& trainer_state_json, bool weights_only) {
  R1_ASSIGN_OR_RETURN(Slot * slot, FindSlot(slot_name));
  R1_ASSIGN_OR_RETURN(std::string staging, MakeTempDirBeside(dir));
  absl::Status status = CatchExceptions("save", [&]() -> absl::Status {
    // Host copies in the dtype the model was loaded with (config.torch_dtype), from the float32
    // masters when the slot has them.
    NamedTensors tensors = ExportStateDict(*slot->model, slot->config.torch_dtype);
    if (!slot->master.empty()) {
      size_t i = 0;
      for (const auto& p : slot->model->named_parameters(/*recurse=*/true)) {
        at::Tensor& out = tensors.at(p.key());
        out = slot->master[i++].detach().to(at::kCPU, out.scalar_type()).contiguous();
      }
    }
    nlohmann::json config = ModelConfigToJson(slot->config);
    if (slot->score_weight.defined()) {
      const at::Tensor& score = slot->master.empty() ? slot->score_weight : slot->master.back();
      tensors[kScoreWeight] = score.detach().to(at::kCPU, at::kFloat).contiguous().clone();
      config["architectures"] = {slot->config.model_type == "llama"
                                     ? "LlamaForSequenceClassification"
                                     : "Qwen2ForSequenceClassification"};
      config["id2label"] = {{"0", "LABEL_0"}};
      config["label2id"] = {{"LABEL_0", 0}};
    }
    R1_RETURN_IF_ERROR(SaveHfModelDir(staging, config, tensors, slot->tokenizer.get()));
    if (!weights_only) {
      if (slot->optimizer != nullptr) {
        R1_RETURN_IF_ERROR(SaveOptimizerFile(*slot->optimizer, JoinPath(staging, kOptimizerFile)));
      }
      if (!slot->master.empty()) {
        R1_RETURN_IF_ERROR(SaveTensorsFile(slot->master, JoinPath(staging, kMasterWeightsFile)));
      }
      R1_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(staging, kTrainerStateFile), trainer_state_json));
    }
    return absl::OkStatus();
  });
  if (status.ok()) {
    // Replace `dir` without a moment where neither the old nor the new copy is complete.
    std::string old;
    if (PathExists(dir)) {
      auto aside = MakeTempDirBeside(dir + ".old");
      status = aside.status();
      if (status.ok()) {
        old = *aside;
        status = RemoveAll(old);
        if (status.ok() && std::rename(dir.c_str(), old.c_str()) != 0) {
          status = absl::InternalError(absl::StrCat("rename ", dir, " aside failed"));
        }
      }
    }
    if (status.ok()) status = RenameDirAtomic(staging, dir);
    if (status.ok() && !old.empty()) status = RemoveAll(old);
  }
  if (!status.ok()) RemoveAll(staging).IgnoreError();
  return status;
}

absl::StatusOr<SyncStats> LocalWorker::SyncWeights() {
  Communicator* comm = options_.weight_sync_comm;
  // Colocated: the rollout engine generates from the trained module itself. A group of one has
  // nobody to send to.
  if (comm == nullptr || comm->size() <= 1) return SyncStats{};
  const absl::Time start = absl::Now();
  // Every member describes its "policy" parameters; all must agree before a byte moves, so that a
  // missing or different model fails on every rank at once instead of in a mismatched broadcast.
  auto it = slots_.find("policy");
  std::vector<at::Tensor> params;
  if (it != slots_.end()) params = it->second->Parameters();
  const std::string layout = it != slots_.end() ? ParameterLayout(params) : "";
  AllGatherOptions gather;
  gather.timeout = options_.collective_timeout;
  R1_ASSIGN_OR_RETURN(std::vector<std::string> layouts, comm->AllGatherBytes(layout, gather));
  for (size_t r = 0; r < layouts.size(); ++r) {
    if (layouts[r].empty()) {
      return absl::FailedPreconditionError(absl::StrCat("SyncWeights: rank ", r, " of group '",
                                                        comm->group_name(),
                                                        "' holds no \"policy\" model"));
    }
    if (layouts[r] != layouts[0]) {
      return absl::FailedPreconditionError(
          absl::StrCat("SyncWeights: the \"policy\" model of rank ", r, " of group '",
                       comm->group_name(), "' differs from rank 0's (parameter shapes or dtypes)"));
    }
  }
  ParamSyncOptions sync;
  sync.root = 0;
  sync.timeout = options_.collective_timeout;
  R1_ASSIGN_OR_RETURN(CommStats stats, BroadcastParameters(params, *comm, sync));
  return SyncStats{stats.bytes, absl::ToDoubleSeconds(absl::Now() - start)};
}

}  // namespace r1
