// Internal to pipeline/config*.cc: the one declaration of every key of the config's sections, from
// which parsing (config.cc), emission (config.cc) and the per-field range checks
// (config_validate.cc) all follow. Adding a field to one of these structs means one line here.
//
// ConfigFields(section, visitor) lists a section's keys in the order run.yaml writes them. A
// visitor V provides:
//   template <typename T> using Ref = T& (parsing) or const T& (emitting, checking);
//   Field(key, member, check)    a scalar, string, enum, ModelRef or free-form mapping
//   Pair(key, names, first, second, check)   a two-number list ("betas: [beta1, beta2]"); `names`
//                                one string naming the elements for messages ("beta1, beta2")
//   Section(key, member)         a nested mapping with its own ConfigFields
//   List(key, member)            a list of mappings, each with its own ConfigFields
// Keys whose value needs the whole config (model paths, datasets, stage inputs) and checks that
// relate several fields stay hand-written in config.cc and config_validate.cc.
#ifndef R1_PIPELINE_CONFIG_FIELDS_H_
#define R1_PIPELINE_CONFIG_FIELDS_H_

#include "pipeline/config.h"

namespace r1 {

// The range check of one field, applied by ValidateConfig with the field's key path in the error
// ("must be >= 1, got 0"). Integer fields print integers, floating-point fields RoundTripDouble.
struct FieldCheck {
  enum class Kind { kNone, kAtLeast, kPositive, kInRange };
  Kind kind = Kind::kNone;
  double lo = 0;                          // kAtLeast: the minimum; kInRange: the lower end
  double hi = 0;                          // kInRange: the upper end
  bool lo_open = false, hi_open = false;  // kInRange: ends excluded
};

inline FieldCheck NoCheck() { return {}; }
inline FieldCheck AtLeast(double min) { return {FieldCheck::Kind::kAtLeast, min}; }
inline FieldCheck Positive() { return {FieldCheck::Kind::kPositive}; }
// [lo, hi], with "(" / ")" ends when lo_open / hi_open.
inline FieldCheck InRange(double lo, double hi, bool lo_open, bool hi_open) {
  return {FieldCheck::Kind::kInRange, lo, hi, lo_open, hi_open};
}

// The section type T as visitor V sees it (T& or const T&).
template <typename V, typename T>
using FieldsOf = typename V::template Ref<T>;

template <typename V>
void ConfigFields(FieldsOf<V, RunConfig> r, V& v) {
  v.Field("name", r.name, NoCheck());  // its pattern: ValidateConfig
  v.Field("seed", r.seed, NoCheck());
  v.Field("run_dir", r.run_dir, NoCheck());
}

template <typename V>
void ConfigFields(FieldsOf<V, ArchitectureConfig> a, V& v) {
  v.Field("vocab_size", a.vocab_size, AtLeast(0));
  v.Field("hidden_size", a.hidden_size, AtLeast(1));
  v.Field("num_layers", a.num_layers, AtLeast(1));
  v.Field("num_heads", a.num_heads, AtLeast(1));
  v.Field("num_kv_heads", a.num_kv_heads, AtLeast(1));
  v.Field("intermediate_size", a.intermediate_size, AtLeast(1));
  v.Field("max_position_embeddings", a.max_position_embeddings, AtLeast(2));
  v.Field("rope_theta", a.rope_theta, Positive());
  v.Field("rms_norm_eps", a.rms_norm_eps, Positive());
  v.Field("tie_word_embeddings", a.tie_word_embeddings, NoCheck());
  v.Field("attention_bias", a.attention_bias, NoCheck());
}

template <typename V>
void ConfigFields(FieldsOf<V, ClusterConfig> c, V& v) {
  v.Field("mode", c.mode, NoCheck());
  v.Field("launcher", c.launcher, NoCheck());
  v.Field("scheduler_address", c.scheduler_address, NoCheck());  // HOST:PORT: ValidateConfig
  v.Field("metrics_address", c.metrics_address, NoCheck());      // HOST:PORT: ValidateConfig
  v.Field("placement", c.placement, NoCheck());
  v.Field("trainer_ranks", c.trainer_ranks, AtLeast(1));
  v.Field("rollout_workers", c.rollout_workers, NoCheck());  // minimum depends on placement
  v.Field("worker_groups", c.worker_groups, AtLeast(1));
  v.Field("backend", c.backend, NoCheck());
  v.Field("device", c.device, NoCheck());
  v.Field("heartbeat_interval_s", c.heartbeat_interval_s, Positive());
  v.Field("worker_timeout_s", c.worker_timeout_s, NoCheck());  // > heartbeat_interval_s
  v.Field("max_stage_attempts", c.max_stage_attempts, AtLeast(1));
  v.Field("rollout_max_batch", c.rollout_max_batch, AtLeast(0));
  v.Section("tls", c.tls);
}

template <typename V>
void ConfigFields(FieldsOf<V, TlsConfig> t, V& v) {
  v.Field("cert", t.cert, NoCheck());  // all three or none, and paths resolved: config.cc,
  v.Field("key", t.key, NoCheck());    // ValidateConfig; readable PEM: `r1 validate`, `r1 run`
  v.Field("ca", t.ca, NoCheck());
  v.Field("server_name", t.server_name, NoCheck());
}

template <typename V>
void ConfigFields(FieldsOf<V, OptimizerConfig> o, V& v) {
  v.Field("lr", o.lr, Positive());
  v.Pair("betas", "beta1, beta2", o.beta1, o.beta2, InRange(0, 1, false, true));
  v.Field("eps", o.eps, Positive());
  v.Field("weight_decay", o.weight_decay, AtLeast(0));
  v.Field("warmup_steps", o.warmup_steps, AtLeast(0));
  v.Field("schedule", o.schedule, NoCheck());
  v.Field("min_lr_ratio", o.min_lr_ratio, InRange(0, 1, false, false));
  v.Field("grad_clip", o.grad_clip, AtLeast(0));
}

// Sampling keys sit at the level of the stage parameters. `greedy_ok`: temperature 0 (greedy) is
// allowed (rejection sampling, eval), else the temperature must be > 0 (grpo).
template <typename V>
void SamplingFields(FieldsOf<V, SamplingConfig> s, V& v, bool greedy_ok) {
  v.Field("temperature", s.temperature, greedy_ok ? AtLeast(0) : Positive());
  v.Field("top_p", s.top_p, InRange(0, 1, true, false));
  v.Field("max_new_tokens", s.max_new_tokens, AtLeast(1));
}

template <typename V>
void ConfigFields(FieldsOf<V, TrainParams> t, V& v) {
  v.Section("optimizer", t.optimizer);
  v.Field("batch_size", t.batch_size, AtLeast(1));
  v.Field("micro_batch_size", t.micro_batch_size, AtLeast(0));
  v.Field("micro_batch_tokens", t.micro_batch_tokens, AtLeast(0));
  v.Field("max_seq_len", t.max_seq_len, AtLeast(2));
  v.Field("epochs", t.epochs, AtLeast(1));
  v.Field("steps", t.steps, AtLeast(0));
  v.Field("checkpoint_every", t.checkpoint_every, AtLeast(0));
  v.Field("log_every", t.log_every, AtLeast(1));
  v.Field("loss_on_prompt", t.loss_on_prompt, NoCheck());
}

template <typename V>
void ConfigFields(FieldsOf<V, RewardConfig> w, V& v) {
  v.Field("name", w.name, NoCheck());  // a registry name: ValidateConfig
  v.Field("weight", w.weight, NoCheck());
  v.Field("scope", w.scope, NoCheck());
  v.Field("applies_to", w.applies_to, NoCheck());
  v.Field("model", w.model, NoCheck());    // written only when set
  v.Field("params", w.params, NoCheck());  // written only when not empty
}

template <typename V>
void ConfigFields(FieldsOf<V, GrpoParams> g, V& v) {
  v.Section("optimizer", g.optimizer);
  v.Field("steps", g.steps, AtLeast(1));
  v.Field("prompts_per_step", g.prompts_per_step, AtLeast(1));
  v.Field("group_size", g.group_size, AtLeast(2));
  SamplingFields(g.sampling, v, /*greedy_ok=*/false);
  v.Field("clip_low", g.clip_low, InRange(0, 1, true, true));
  v.Field("clip_high", g.clip_high, Positive());
  v.Field("kl_coef", g.kl_coef, AtLeast(0));
  v.Field("kl_estimator", g.kl_estimator, NoCheck());
  v.Field("loss_aggregation", g.loss_aggregation, NoCheck());
  v.Field("advantage", g.advantage, NoCheck());
  v.Field("negative_advantage_scale", g.negative_advantage_scale, InRange(0, 1, false, false));
  v.Field("dynamic_sampling", g.dynamic_sampling, NoCheck());
  v.Field("overlong_filter", g.overlong_filter, NoCheck());
  v.Field("ppo_epochs", g.ppo_epochs, AtLeast(1));
  v.Field("mini_batch_size", g.mini_batch_size, AtLeast(0));
  v.Field("micro_batch_size", g.micro_batch_size, AtLeast(0));
  v.Field("micro_batch_tokens", g.micro_batch_tokens, AtLeast(0));
  v.Field("max_staleness", g.max_staleness, AtLeast(0));
  v.Field("importance_cap", g.importance_cap, AtLeast(1));
  v.List("rewards", g.rewards);
  v.Field("reference_refresh_every", g.reference_refresh_every, AtLeast(0));
  v.Field("checkpoint_every", g.checkpoint_every, AtLeast(0));
  v.Field("log_every", g.log_every, AtLeast(1));
}

template <typename V>
void ConfigFields(FieldsOf<V, RejectionFilters> f, V& v) {
  v.Field("require_format", f.require_format, NoCheck());
  v.Field("language_threshold", f.language_threshold, InRange(0, 1, false, false));
  v.Field("max_response_tokens", f.max_response_tokens, AtLeast(0));
}

template <typename V>
void ConfigFields(FieldsOf<V, RejectionSamplingParams> p, V& v) {
  v.Field("samples_per_prompt", p.samples_per_prompt, AtLeast(1));
  v.Field("max_kept_per_prompt", p.max_kept_per_prompt, AtLeast(1));
  SamplingFields(p.sampling, v, /*greedy_ok=*/true);
  v.Section("filters", p.filters);
  v.Field("dedupe", p.dedupe, NoCheck());
  v.Field("non_reasoning_ratio", p.non_reasoning_ratio, InRange(0, 1, false, true));
}

template <typename V>
void ConfigFields(FieldsOf<V, EvalParams> e, V& v) {
  v.Field("samples_per_prompt", e.samples_per_prompt, AtLeast(1));
  SamplingFields(e.sampling, v, /*greedy_ok=*/true);
  v.Field("max_examples", e.max_examples, AtLeast(0));
  v.Field("code", e.code, NoCheck());  // code reward params: checked when the stage starts
}

}  // namespace r1

#endif  // R1_PIPELINE_CONFIG_FIELDS_H_
