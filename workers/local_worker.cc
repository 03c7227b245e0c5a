// In-process worker (see local_worker.h): models in slots, generation, log-probs, optimizer steps
// and checkpoints on this process's CPU or GPU.
#include "workers/local_worker.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "model/generate.h"
#include "model/hf_dir.h"
#include "model/logprobs.h"
#include "model/model_config.h"
#include "model/pretrained.h"
#include "model/tokenizers/tokenizer.h"
#include "model/transformer.h"
#include "workers/lr_schedule.h"
#include "workers/policy_loss.h"
#include "workers/reward_model_loss.h"

namespace r1 {

struct LocalWorker::Slot {
  std::string name;
  ModelConfig config;
  CausalLm model{nullptr};
  at::Tensor score_weight;  // [1, C] f32 reward head; undefined for a plain LM
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<torch::optim::AdamW> optimizer;  // null unless trainable
  OptimizerOptions optimizer_options;

  std::vector<at::Tensor> Parameters() const {
    std::vector<at::Tensor> params = model->parameters();
    if (score_weight.defined()) params.push_back(score_weight);
    return params;
  }
};

namespace {

constexpr char kScoreWeight[] = "score.weight";
constexpr char kOptimizerFile[] = "optimizer.pt";
constexpr char kTrainerStateFile[] = "trainer_state.json";

// Runs `fn`, turning LibTorch's exceptions into an Internal status with the message.
template <typename Fn>
auto CatchTorch(const char* what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  }
}

// A right-padded [B, T] batch of whole sequences (prompt + response) for scoring.
struct SequenceBatch {
  at::Tensor input_ids;       // [B, T] i64
  at::Tensor attention_mask;  // [B, T] i64
  at::Tensor last_index;      // [B] i64: position of each sequence's last token
};

absl::StatusOr<SequenceBatch> BuildSequenceBatch(const std::vector<TokenSeq>& prompts,
                                                 const std::vector<TokenSeq>& responses,
                                                 int64_t vocab_size) {
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

// Scores [B] f32 of whole sequences: the reward head applied to the last token's hidden state.
at::Tensor ScoreSequences(LocalWorker::Slot& slot, const SequenceBatch& batch) {
  at::Tensor positions = PositionIdsFromMask(batch.attention_mask);
  at::Tensor hidden = slot.model->Hidden(batch.input_ids, batch.attention_mask, positions);
  at::Tensor rows = torch::arange(hidden.size(0), torch::kInt64);
  at::Tensor last = hidden.index({rows, batch.last_index});  // [B, C]
  return last.matmul(slot.score_weight.t()).squeeze(-1);     // [B]
}

// [B, R] f32 from ragged rows, zero-padded to `width` columns.
at::Tensor PadRows(const std::vector<std::vector<float>>& rows, int64_t width) {
  at::Tensor out = torch::zeros({static_cast<int64_t>(rows.size()), width}, torch::kFloat32);
  auto acc = out.accessor<float, 2>();
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t t = 0; t < rows[i].size() && static_cast<int64_t>(t) < width; ++t) {
      acc[static_cast<int64_t>(i)][static_cast<int64_t>(t)] = rows[i][t];
    }
  }
  return out;
}

double GlobalGradNorm(const std::vector<at::Tensor>& params) {
  double sum = 0.0;
  for (const auto& p : params) {
    if (p.grad().defined()) sum += p.grad().pow(2).sum().item<double>();
  }
  return std::sqrt(sum);
}

// Sequences with an empty prompt (pretraining text) give their first token to the prompt, since
// the first token has no context to be predicted from.
void SplitForLanguageModel(TokenSeq* prompt, TokenSeq* response) {
  if (prompt->empty() && !response->empty()) {
    prompt->push_back(response->front());
    response->erase(response->begin());
  }
}

}  // namespace

LocalWorker::LocalWorker(LocalWorkerOptions options) : options_(options) {}
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
  return CatchTorch("load model", [&]() -> absl::Status {
    if (slot->score_weight.defined()) slot->score_weight.set_requires_grad(optimizer != nullptr);
    for (auto& p : slot->model->parameters()) p.set_requires_grad(optimizer != nullptr);
    slot->model->eval();
    if (optimizer != nullptr) {
      slot->optimizer_options = *optimizer;
      slot->optimizer = std::make_unique<torch::optim::AdamW>(
          slot->Parameters(), torch::optim::AdamWOptions(optimizer->lr)
                                  .betas({optimizer->beta1, optimizer->beta2})
                                  .eps(optimizer->eps)
                                  .weight_decay(optimizer->weight_decay));
      if (!checkpoint_dir.empty()) {
        std::string path = JoinPath(checkpoint_dir, kOptimizerFile);
        if (!PathExists(path)) {
          return absl::DataLossError(
              absl::StrCat("checkpoint ", checkpoint_dir, " has no ", kOptimizerFile));
        }
        torch::load(*slot->optimizer, path);
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
  R1_ASSIGN_OR_RETURN(std::vector<GenerationResult> results,
                      r1::Generate(*slot->model, model_requests, options));
  std::vector<Rollout> out(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    out[i].response = results[i].token_ids;
    out[i].logprobs = results[i].logprobs;
    out[i].truncated = results[i].finish_reason == FinishReason::kLength;
    TokenSeq visible = results[i].token_ids;
    if (!visible.empty() && visible.back() == eos && !out[i].truncated) visible.pop_back();
    R1_ASSIGN_OR_RETURN(std::string text, slot->tokenizer->Decode(visible));
    out[i].text = ToValidUtf8(text);
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<float>>> LocalWorker::Logprobs(
    const std::string& slot_name, const std::vector<TokenSeq>& prompts,
    const std::vector<TokenSeq>& responses) {
  R1_ASSIGN_OR_RETURN(Slot * slot, FindSlot(slot_name));
  R1_ASSIGN_OR_RETURN(ResponseLogProbs lp,
                      ComputeResponseLogProbsNoGrad(*slot->model, prompts, responses));
  at::Tensor values = lp.logprobs.to(torch::kFloat32).contiguous();
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
  R1_ASSIGN_OR_RETURN(Slot * slot, FindSlot(slot_name));
  if (slot->optimizer == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("slot \"", slot_name, "\" was not loaded as trainable"));
  }
  const size_t n = batch.prompts.size();
  if (n == 0) return absl::InvalidArgumentError("TrainStep: empty batch");
  if (batch.responses.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("TrainStep: ", n, " prompts but ", batch.responses.size(), " responses"));
  }
  const auto start = std::chrono::steady_clock::now();
  const double lr = LearningRateAt(slot->optimizer_options, batch.step);
  for (auto& group : slot->optimizer->param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  }
  slot->model->train();
  slot->optimizer->zero_grad();
  StepMetrics metrics;

  absl::Status status = CatchTorch("train step", [&]() -> absl::Status {
    switch (batch.objective) {
      case TrainBatch::Objective::kLanguageModel: {
        std::vector<TokenSeq> prompts = batch.prompts, responses = batch.responses;
        std::vector<size_t> keep;
        int64_t total_tokens = 0;
        for (size_t i = 0; i < n; ++i) {
          SplitForLanguageModel(&prompts[i], &responses[i]);
          if (!responses[i].empty()) {
            keep.push_back(i);
            total_tokens += static_cast<int64_t>(responses[i].size());
          }
        }
        if (keep.empty()) return absl::InvalidArgumentError("TrainStep: no response tokens");
        const size_t micro = options_.micro_batch_size > 0
                                 ? static_cast<size_t>(options_.micro_batch_size)
                                 : keep.size();
        double loss_sum = 0.0;
        for (size_t begin = 0; begin < keep.size(); begin += micro) {
          std::vector<TokenSeq> p, r;
          for (size_t j = begin; j < std::min(keep.size(), begin + micro); ++j) {
            p.push_back(prompts[keep[j]]);
            r.push_back(responses[keep[j]]);
          }
          R1_ASSIGN_OR_RETURN(ResponseLogProbs lp, ComputeResponseLogProbs(*slot->model, p, r));
          // Token mean over the whole batch, whatever the micro-batch split.
          at::Tensor loss = -(lp.logprobs * lp.mask).sum() / static_cast<double>(total_tokens);
          loss.backward();
          loss_sum += loss.item<double>();
        }
        metrics["loss"] = loss_sum;
        metrics["tokens"] = static_cast<double>(total_tokens);
        break;
      }
      case TrainBatch::Objective::kPolicyGradient: {
        if (batch.advantages.size() != n || batch.old_logprobs.size() != n) {
          return absl::InvalidArgumentError(
              "TrainStep: policy gradient needs one advantage and one old_logprobs row per "
              "sequence");
        }
        PolicyLossOptions loss_options;
        loss_options.clip_low = batch.policy_loss.clip_low;
        loss_options.clip_high = batch.policy_loss.clip_high;
        loss_options.kl_coef = batch.policy_loss.kl_coef;
        R1_ASSIGN_OR_RETURN(loss_options.kl_estimator,
                            ParseKlEstimator(batch.policy_loss.kl_estimator));
        R1_ASSIGN_OR_RETURN(loss_options.aggregation,
                            ParseLossAggregation(batch.policy_loss.aggregation));
        R1_ASSIGN_OR_RETURN(ResponseLogProbs lp,
                            ComputeResponseLogProbs(*slot->model, batch.prompts, batch.responses));
        const int64_t width = lp.logprobs.size(1);
        PolicyLossInputs inputs;
        inputs.logprobs = lp.logprobs;
        inputs.old_logprobs = PadRows(batch.old_logprobs, width);
        inputs.advantages = torch::tensor(batch.advantages, torch::kFloat32);
        inputs.response_mask = lp.mask;
        if (loss_options.kl_coef > 0.0) {
          if (batch.ref_logprobs.size() != n) {
            return absl::InvalidArgumentError("TrainStep: kl_coef > 0 needs ref_logprobs");
          }
          inputs.ref_logprobs = PadRows(batch.ref_logprobs, width);
        }
        R1_ASSIGN_OR_RETURN(PolicyLossResult result, ComputePolicyLoss(inputs, loss_options));
        result.loss.backward();
        metrics["loss"] = result.loss.item<double>();
        metrics["pg_loss"] = result.pg_loss;
        metrics["kl"] = result.kl;
        metrics["clip_fraction"] = result.clip_fraction;
        metrics["approx_kl"] = result.approx_kl;
        metrics["tokens"] = static_cast<double>(result.num_tokens);
        break;
      }
      case TrainBatch::Objective::kRewardModel: {
        if (!slot->score_weight.defined()) {
          return absl::FailedPreconditionError("TrainStep: reward objective needs a reward slot");
        }
        if (batch.rejected.size() != n) {
          return absl::InvalidArgumentError("TrainStep: one rejected response per pair needed");
        }
        const int64_t vocab = slot->config.vocab_size;
        R1_ASSIGN_OR_RETURN(SequenceBatch chosen,
                            BuildSequenceBatch(batch.prompts, batch.responses, vocab));
        R1_ASSIGN_OR_RETURN(SequenceBatch rejected,
                            BuildSequenceBatch(batch.prompts, batch.rejected, vocab));
        R1_ASSIGN_OR_RETURN(
            RewardModelLossResult result,
            BradleyTerryLoss(ScoreSequences(*slot, chosen), ScoreSequences(*slot, rejected)));
        result.loss.backward();
        metrics["loss"] = result.loss.item<double>();
        metrics["accuracy"] = result.accuracy;
        metrics["margin"] = result.mean_margin;
        break;
      }
    }
    std::vector<at::Tensor> params = slot->Parameters();
    const double clip = slot->optimizer_options.grad_clip;
    metrics["grad_norm"] =
        clip > 0.0 ? torch::nn::utils::clip_grad_norm_(params, clip) : GlobalGradNorm(params);
    slot->optimizer->step();
    return absl::OkStatus();
  });
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
                      BuildSequenceBatch(prompts, responses, slot->config.vocab_size));
  return CatchTorch("score", [&]() -> absl::StatusOr<std::vector<float>> {
    torch::NoGradGuard no_grad;
    at::Tensor scores = ScoreSequences(*slot, batch).to(torch::kFloat32).contiguous();
    return std::vector<float>(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
  });
}

absl::Status LocalWorker::Save(const std::string& slot_name, const std::string& dir,
                               const std::string& trainer_state_json, bool weights_only) {
  R1_ASSIGN_OR_RETURN(Slot * slot, FindSlot(slot_name));
  R1_ASSIGN_OR_RETURN(std::string staging, MakeTempDirBeside(dir));
  absl::Status status = CatchTorch("save", [&]() -> absl::Status {
    NamedTensors tensors = ExportStateDict(*slot->model, slot->config.torch_dtype);
    nlohmann::json config = ModelConfigToJson(slot->config);
    if (slot->score_weight.defined()) {
      tensors[kScoreWeight] = slot->score_weight.detach().clone();
      config["architectures"] = {slot->config.model_type == "llama"
                                     ? "LlamaForSequenceClassification"
                                     : "Qwen2ForSequenceClassification"};
      config["id2label"] = {{"0", "LABEL_0"}};
      config["label2id"] = {{"LABEL_0", 0}};
    }
    R1_RETURN_IF_ERROR(SaveHfModelDir(staging, config, tensors, slot->tokenizer.get()));
    if (!weights_only) {
      if (slot->optimizer != nullptr) {
        torch::save(*slot->optimizer, JoinPath(staging, kOptimizerFile));
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
  // Colocated: the rollout engine generates from the trained module itself.
  return SyncStats{};
}

}  // namespace r1
