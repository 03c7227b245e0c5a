// Worker message conversions (see worker_proto.h).
#include "worker_api/worker_proto.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace r1 {

absl::string_view LossAggregationName(LossAggregation mode) {
  switch (mode) {
    case LossAggregation::kSeqMeanTokenMean:
      return "seq-mean-token-mean";
    case LossAggregation::kTokenMean:
      return "token-mean";
    case LossAggregation::kSeqMeanTokenSumNorm:
      return "seq-mean-token-sum-norm";
  }
  return "?";
}

absl::StatusOr<LossAggregation> ParseLossAggregation(absl::string_view name) {
  if (name == "seq-mean-token-mean") return LossAggregation::kSeqMeanTokenMean;
  if (name == "token-mean") return LossAggregation::kTokenMean;
  if (name == "seq-mean-token-sum-norm") return LossAggregation::kSeqMeanTokenSumNorm;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown loss aggregation '", name,
                   "' (expected seq-mean-token-mean, token-mean or seq-mean-token-sum-norm)"));
}

absl::string_view KlEstimatorName(KlEstimator estimator) { return ToString(estimator); }

absl::StatusOr<KlEstimator> ParseKlEstimator(absl::string_view name) {
  if (name == "k1" || name == "kl") return KlEstimator::kK1;
  if (name == "k2" || name == "mse") return KlEstimator::kK2;
  if (name == "k3" || name == "low_var_kl") return KlEstimator::kK3;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown KL estimator '", name, "' (expected k1 (kl), k2 (mse) or k3 (low_var_kl))"));
}

grpc::Status CheckRunToken(const grpc::ServerContext& context, const std::string& token) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kTokenMetadataKey);
  bool same = it != metadata.end() && it->second.size() == token.size() && !token.empty();
  if (same) {
    unsigned char diff = 0;  // no early exit: the time does not tell how much of it matched
    for (size_t i = 0; i < token.size(); ++i) diff |= it->second.data()[i] ^ token[i];
    same = diff == 0;
  }
  if (!same) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing or wrong run token (metadata \"r1-token\")");
  }
  return grpc::Status::OK;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

void ToProto(const std::vector<TokenSeq>& seqs,
             google::protobuf::RepeatedPtrField<v1::TokenIds>* out) {
  for (const TokenSeq& s : seqs) out->Add()->mutable_ids()->Assign(s.begin(), s.end());
}

std::vector<TokenSeq> FromProto(const google::protobuf::RepeatedPtrField<v1::TokenIds>& ids) {
  std::vector<TokenSeq> out;
  out.reserve(ids.size());
  for (const auto& s : ids) out.emplace_back(s.ids().begin(), s.ids().end());
  return out;
}

void ToProto(const std::vector<std::vector<float>>& rows,
             google::protobuf::RepeatedPtrField<v1::FloatRow>* out) {
  for (const auto& r : rows) out->Add()->mutable_values()->Assign(r.begin(), r.end());
}

std::vector<std::vector<float>> FromProto(
    const google::protobuf::RepeatedPtrField<v1::FloatRow>& rows) {
  std::vector<std::vector<float>> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.emplace_back(r.values().begin(), r.values().end());
  return out;
}

void ToProto(const Sampling& s, v1::SamplingParams* out) {
  out->set_temperature(s.temperature);
  out->set_top_k(s.top_k);
  out->set_top_p(s.top_p);
  out->set_max_new_tokens(s.max_new_tokens);
  out->set_stop_at_eos(s.stop_at_eos);
  out->set_seed(s.seed);
}

Sampling FromProto(const v1::SamplingParams& p) {
  Sampling s;
  s.temperature = p.temperature();
  s.top_k = p.top_k();
  s.top_p = p.top_p();
  s.max_new_tokens = p.max_new_tokens();
  s.stop_at_eos = p.stop_at_eos();
  s.seed = p.seed();
  return s;
}

void ToProto(const OptimizerOptions& o, v1::OptimizerConfig* out) {
  out->set_lr(o.lr);
  out->set_beta1(o.beta1);
  out->set_beta2(o.beta2);
  out->set_eps(o.eps);
  out->set_weight_decay(o.weight_decay);
  out->set_grad_clip(o.grad_clip);
  out->set_warmup_steps(o.warmup_steps);
  out->set_total_steps(o.total_steps);
  out->set_schedule(std::string(ToString(o.schedule)));
  out->set_min_lr_ratio(o.min_lr_ratio);
}

absl::StatusOr<OptimizerOptions> FromProto(const v1::OptimizerConfig& c) {
  OptimizerOptions o;
  o.lr = c.lr();
  o.beta1 = c.beta1();
  o.beta2 = c.beta2();
  o.eps = c.eps();
  o.weight_decay = c.weight_decay();
  o.grad_clip = c.grad_clip();
  o.warmup_steps = c.warmup_steps();
  o.total_steps = c.total_steps();
  std::optional<LrSchedule> schedule = ParseEnum<LrSchedule>(c.schedule());
  if (!schedule) {
    return absl::InvalidArgumentError(absl::StrCat("unknown learning-rate schedule \"",
                                                   c.schedule(), "\" (", EnumNameList<LrSchedule>(),
                                                   ")"));
  }
  o.schedule = *schedule;
  o.min_lr_ratio = c.min_lr_ratio();
  return o;
}

namespace {

const char* ObjectiveName(TrainBatch::Objective objective) {
  switch (objective) {
    case TrainBatch::Objective::kLanguageModel:
      return "lm";
    case TrainBatch::Objective::kPolicyGradient:
      return "grpo";
    case TrainBatch::Objective::kRewardModel:
      return "reward_model";
  }
  return "";
}

}  // namespace

void ToProto(const std::string& slot, const TrainBatch& b, v1::TrainStepRequest* out) {
  out->set_slot(slot);
  out->set_objective(ObjectiveName(b.objective));
  out->set_step(b.step);
  ToProto(b.prompts, out->mutable_prompts());
  ToProto(b.responses, out->mutable_responses());
  out->mutable_advantages()->Assign(b.advantages.begin(), b.advantages.end());
  ToProto(b.old_logprobs, out->mutable_old_logprobs());
  ToProto(b.ref_logprobs, out->mutable_ref_logprobs());
  ToProto(b.behaviour_logprobs, out->mutable_behaviour_logprobs());
  ToProto(b.rejected, out->mutable_rejected());
  v1::PolicyLossConfig* loss = out->mutable_policy_loss();
  loss->set_clip_low(b.policy_loss.clip_low);
  loss->set_clip_high(b.policy_loss.clip_high);
  loss->set_kl_coef(b.policy_loss.kl_coef);
  loss->set_kl_estimator(std::string(KlEstimatorName(b.policy_loss.kl_estimator)));
  loss->set_aggregation(std::string(LossAggregationName(b.policy_loss.aggregation)));
  loss->set_temperature(b.policy_loss.temperature);
  loss->set_token_sum_norm(b.policy_loss.token_sum_norm);
  loss->set_importance_cap(b.policy_loss.importance_cap);
  out->set_micro_batch_size(b.micro_batch_size);
  out->set_micro_batch_tokens(b.micro_batch_tokens);
}

absl::Status FromProto(const v1::TrainStepRequest& r, TrainBatch* b) {
  if (r.objective() == "lm") {
    b->objective = TrainBatch::Objective::kLanguageModel;
  } else if (r.objective() == "grpo") {
    b->objective = TrainBatch::Objective::kPolicyGradient;
  } else if (r.objective() == "reward_model") {
    b->objective = TrainBatch::Objective::kRewardModel;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("TrainStep: unknown objective \"", r.objective(),
                                                   "\" (lm, grpo, reward_model)"));
  }
  b->step = r.step();
  b->prompts = FromProto(r.prompts());
  b->responses = FromProto(r.responses());
  b->advantages.assign(r.advantages().begin(), r.advantages().end());
  b->old_logprobs = FromProto(r.old_logprobs());
  b->ref_logprobs = FromProto(r.ref_logprobs());
  b->behaviour_logprobs = FromProto(r.behaviour_logprobs());
  b->rejected = FromProto(r.rejected());
  b->policy_loss.clip_low = r.policy_loss().clip_low();
  b->policy_loss.clip_high = r.policy_loss().clip_high();
  b->policy_loss.kl_coef = r.policy_loss().kl_coef();
  // The names are parsed here, once per request: the worker sees only the enums.
  R1_ASSIGN_OR_RETURN(b->policy_loss.kl_estimator,
                      ParseKlEstimator(r.policy_loss().kl_estimator()));
  R1_ASSIGN_OR_RETURN(b->policy_loss.aggregation,
                      ParseLossAggregation(r.policy_loss().aggregation()));
  // 0 (unset, an older client) means the model's own distribution.
  b->policy_loss.temperature =
      r.policy_loss().temperature() == 0.0 ? 1.0 : r.policy_loss().temperature();
  const double norm = r.policy_loss().token_sum_norm();
  if (!(norm >= 0.0 && std::isfinite(norm))) {
    return absl::InvalidArgumentError(
        absl::StrCat("TrainStep: policy_loss.token_sum_norm must be finite and >= 0, got ", norm));
  }
  b->policy_loss.token_sum_norm = norm;
  // 0 (unset, an older client) means verl's default cap.
  const double cap = r.policy_loss().importance_cap();
  if (!(cap >= 0.0 && std::isfinite(cap))) {
    return absl::InvalidArgumentError(
        absl::StrCat("TrainStep: policy_loss.importance_cap must be finite and > 0, got ", cap));
  }
  b->policy_loss.importance_cap = cap == 0.0 ? 2.0 : cap;
  if (r.micro_batch_size() < 0 || r.micro_batch_tokens() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("TrainStep: micro_batch_size and micro_batch_tokens must be >= 0, got ",
                     r.micro_batch_size(), " and ", r.micro_batch_tokens()));
  }
  b->micro_batch_size = r.micro_batch_size();
  b->micro_batch_tokens = r.micro_batch_tokens();
  return absl::OkStatus();
}

void ToProto(const StepMetrics& metrics, google::protobuf::RepeatedPtrField<v1::Metric>* out) {
  for (const auto& [name, value] : metrics) {
    v1::Metric* m = out->Add();
    m->set_name(name);
    m->set_value(value);
  }
}

StepMetrics FromProto(const google::protobuf::RepeatedPtrField<v1::Metric>& metrics) {
  StepMetrics out;
  for (const auto& m : metrics) out[m.name()] = m.value();
  return out;
}

}  // namespace r1
