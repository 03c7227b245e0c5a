// Config parsing (YAML -> typed structs, unknown keys are errors) and emission (structs -> the
// resolved YAML of run.yaml). Cross-field checks live in config_validate.cc.
#include "pipeline/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "base/str_util.h"

namespace r1 {

// ---- small public helpers --------------------------------------------------------------------

namespace {

constexpr std::pair<StageType, absl::string_view> kStageTypeNames[] = {
    {StageType::kPretrain, "pretrain"},
    {StageType::kSft, "sft"},
    {StageType::kGrpo, "grpo"},
    {StageType::kRejectionSampling, "rejection_sampling"},
    {StageType::kRewardModel, "reward_model"},
    {StageType::kEval, "eval"},
};

constexpr absl::string_view kStagePrefix = "stage:";

}  // namespace

absl::string_view StageTypeName(StageType type) {
  for (const auto& [t, name] : kStageTypeNames) {
    if (t == type) return name;
  }
  return "unknown";
}

std::optional<StageType> ParseStageType(absl::string_view name) {
  for (const auto& [t, n] : kStageTypeNames) {
    if (n == name) return t;
  }
  return std::nullopt;
}

std::string ModelRef::ToString() const {
  switch (kind) {
    case Kind::kBase:
      return "base";
    case Kind::kPath:
      return value;
    case Kind::kStage:
      return absl::StrCat(kStagePrefix, value);
  }
  return value;
}

std::string DatasetRef::ToString() const {
  return kind == Kind::kStage ? absl::StrCat(kStagePrefix, value) : value;
}

absl::string_view SyntheticFormat(absl::string_view kind) {
  if (kind == "arithmetic" || kind == "countdown") return "prompt_answer";
  if (kind == "non_reasoning") return "chat";
  if (kind == "preference") return "preference";
  return "";
}

std::string ConfigError::ToString() const { return absl::StrCat(path, ": ", message); }

const DatasetConfig* PipelineConfig::FindDataset(absl::string_view name) const {
  for (const auto& d : datasets) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

const StageConfig* PipelineConfig::FindStage(absl::string_view name) const {
  for (const auto& s : stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

ModelDtype ModelComputeDtype(const BaseModelConfig& model) {
  return model.dtype == ModelDtype::kBFloat16 ? ModelDtype::kBFloat16 : ModelDtype::kFloat32;
}

std::string ResolvedRunDir(const PipelineConfig& config) {
  if (!config.run.run_dir.empty()) return config.run.run_dir;
  return JoinPath("runs", config.run.name);
}

// ---- YAML reading ----------------------------------------------------------------------------

namespace {

using Errors = std::vector<ConfigError>;

void AddError(Errors* errors, std::string path, std::string message) {
  errors->push_back(ConfigError{std::move(path), std::move(message)});
}

// What a node is, for "expected X, got Y" messages.
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return Quoted(node.Scalar());
    default:
      return "nothing";
  }
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Present and not null ("key:" with no value means "use the default").
bool Present(const YAML::Node& node) { return node.IsDefined() && !node.IsNull(); }

bool ParseValue(const YAML::Node& n, const std::string& path, std::string* out, Errors* errors) {
  if (!n.IsScalar()) {
    AddError(errors, path, absl::StrCat("expected a string, got ", Describe(n)));
    return false;
  }
  *out = n.Scalar();
  return true;
}

bool ParseValue(const YAML::Node& n, const std::string& path, int64_t* out, Errors* errors) {
  int64_t v = 0;
  if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v)) {
    AddError(errors, path, absl::StrCat("expected an integer, got ", Describe(n)));
    return false;
  }
  *out = v;
  return true;
}

bool ParseValue(const YAML::Node& n, const std::string& path, int32_t* out, Errors* errors) {
  int32_t v = 0;
  if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v)) {
    AddError(errors, path, absl::StrCat("expected a 32-bit integer, got ", Describe(n)));
    return false;
  }
  *out = v;
  return true;
}

bool ParseValue(const YAML::Node& n, const std::string& path, uint64_t* out, Errors* errors) {
  uint64_t v = 0;
  if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v)) {
    AddError(errors, path, absl::StrCat("expected a non-negative integer, got ", Describe(n)));
    return false;
  }
  *out = v;
  return true;
}

bool ParseValue(const YAML::Node& n, const std::string& path, double* out, Errors* errors) {
  double v = 0;
  if (!n.IsScalar() || !absl::SimpleAtod(n.Scalar(), &v) || !std::isfinite(v)) {
    AddError(errors, path, absl::StrCat("expected a number, got ", Describe(n)));
    return false;
  }
  *out = v;
  return true;
}

bool ParseValue(const YAML::Node& n, const std::string& path, bool* out, Errors* errors) {
  std::string s = n.IsScalar() ? absl::AsciiStrToLower(n.Scalar()) : "";
  if (s == "true" || s == "yes" || s == "on") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "no" || s == "off") {
    *out = false;
    return true;
  }
  AddError(errors, path, absl::StrCat("expected true or false, got ", Describe(n)));
  return false;
}

// One of the names of an enum (pipeline/config_types.h).
template <typename E, typename = decltype(EnumEntries(E{}))>
bool ParseValue(const YAML::Node& n, const std::string& path, E* out, Errors* errors) {
  std::string name;
  if (!ParseValue(n, path, &name, errors)) return false;
  std::optional<E> value = ParseEnum<E>(name);
  if (!value) {
    AddError(errors, path,
             absl::StrCat("must be one of ", EnumNameList<E>(), "; got ", Quoted(name)));
    return false;
  }
  *out = *value;
  return true;
}

// A list of strings; a single string is a one-element list.
bool ParseValue(const YAML::Node& n, const std::string& path, std::vector<std::string>* out,
                Errors* errors) {
  out->clear();
  if (n.IsScalar()) {
    out->push_back(n.Scalar());
    return true;
  }
  if (!n.IsSequence()) {
    AddError(errors, path, absl::StrCat("expected a list of strings, got ", Describe(n)));
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string s;
    if (ParseValue(n[i], absl::StrCat(path, "[", i, "]"), &s, errors)) {
      out->push_back(std::move(s));
    } else {
      ok = false;
    }
  }
  return ok;
}

// Free-form values (generator options, reward params) as JSON. Quoted scalars stay strings;
// plain ones become integers, numbers or booleans when they read as such.
nlohmann::json YamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json obj = nlohmann::json::object();
      for (const auto& kv : n) obj[kv.first.Scalar()] = YamlToJson(kv.second);
      return obj;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& item : n) arr.push_back(YamlToJson(item));
      return arr;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      int64_t i;
      if (absl::SimpleAtoi(s, &i)) return i;
      double d;
      if (absl::SimpleAtod(s, &d) && std::isfinite(d)) return d;
      std::string lower = absl::AsciiStrToLower(s);
      if (lower == "true") return true;
      if (lower == "false") return false;
      return s;
    }
    default:
      return nullptr;
  }
}

bool ParseValue(const YAML::Node& n, const std::string& path, nlohmann::json* out, Errors* errors) {
  if (!n.IsMap()) {
    AddError(errors, path, absl::StrCat("expected a mapping, got ", Describe(n)));
    return false;
  }
  *out = YamlToJson(n);
  return true;
}

// Reads the keys of one mapping; Finish() reports the keys nobody asked for.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, Errors* errors)
      : node_(node), path_(std::move(path)), errors_(errors) {
    if (Present(node_) && !node_.IsMap()) {
      AddError(errors_, path_.empty() ? "config" : path_,
               absl::StrCat("expected a mapping, got ", Describe(node_)));
    }
  }

  const std::string& path() const { return path_; }
  Errors* errors() const { return errors_; }

  std::string KeyPath(absl::string_view key) const {
    return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
  }

  // The value under `key` (undefined when absent); marks the key as known.
  YAML::Node Take(const std::string& key) {
    known_.push_back(key);
    if (!node_.IsDefined() || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    return node_[key];
  }

  // Parses `key` into `out` when present; true if it was present and valid.
  template <typename T>
  bool Get(const std::string& key, T* out) {
    YAML::Node n = Take(key);
    if (!Present(n)) return false;
    return ParseValue(n, KeyPath(key), out, errors_);
  }

  // Marks every key as known (for a block whose contents are reported elsewhere).
  void AcceptAll() { accept_all_ = true; }

  void Finish() {
    if (accept_all_ || !node_.IsDefined() || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
      std::string message = "unknown key";
      std::string best;
      size_t best_distance = 3;
      for (const auto& k : known_) {
        size_t d = EditDistance(key, k);
        if (d < best_distance) {
          best_distance = d;
          best = k;
        }
      }
      if (!best.empty()) absl::StrAppend(&message, " (did you mean \"", best, "\"?)");
      AddError(errors_, KeyPath(key), message);
    }
  }

 private:
  const YAML::Node node_;
  std::string path_;
  Errors* errors_;
  std::vector<std::string> known_;
  bool accept_all_ = false;
};

std::string ResolvePath(const std::string& path, const ConfigParseOptions& options) {
  if (path.empty() || options.base_dir.empty() || path[0] == '/') return path;
  return NormalizePath(JoinPath(options.base_dir, path));
}

void ParseRun(MapReader r, RunConfig* run) {
  r.Get("name", &run->name);
  r.Get("seed", &run->seed);
  r.Get("run_dir", &run->run_dir);
  r.Finish();
}

void ParseArchitecture(MapReader r, ArchitectureConfig* a) {
  r.Get("vocab_size", &a->vocab_size);
  r.Get("hidden_size", &a->hidden_size);
  r.Get("num_layers", &a->num_layers);
  r.Get("num_heads", &a->num_heads);
  r.Get("num_kv_heads", &a->num_kv_heads);
  r.Get("intermediate_size", &a->intermediate_size);
  r.Get("max_position_embeddings", &a->max_position_embeddings);
  r.Get("rope_theta", &a->rope_theta);
  r.Get("rms_norm_eps", &a->rms_norm_eps);
  r.Get("tie_word_embeddings", &a->tie_word_embeddings);
  r.Get("attention_bias", &a->attention_bias);
  r.Finish();
}

void ParseModel(MapReader r, const ConfigParseOptions& options, BaseModelConfig* m) {
  if (r.Get("path", &m->path)) m->path = ResolvePath(m->path, options);
  YAML::Node arch = r.Take("architecture");
  if (Present(arch)) {
    m->architecture.emplace();
    ParseArchitecture(MapReader(arch, r.KeyPath("architecture"), r.errors()), &*m->architecture);
  } else if (m->path.empty()) {
    m->architecture.emplace();  // neither given: the default tiny architecture
  }
  if (r.Get("tokenizer", &m->tokenizer) && m->tokenizer != "byte") {
    m->tokenizer = ResolvePath(m->tokenizer, options);
  }
  if (m->tokenizer.empty()) m->tokenizer = m->path.empty() ? "byte" : m->path;
  r.Get("dtype", &m->dtype);
  r.Finish();
}

void ParseCluster(MapReader r, ClusterConfig* c) {
  r.Get("mode", &c->mode);
  r.Get("launcher", &c->launcher);
  r.Get("scheduler_address", &c->scheduler_address);
  r.Get("metrics_address", &c->metrics_address);
  r.Get("placement", &c->placement);
  r.Get("trainer_ranks", &c->trainer_ranks);
  r.Get("rollout_workers", &c->rollout_workers);
  r.Get("backend", &c->backend);
  r.Get("device", &c->device);
  r.Get("heartbeat_interval_s", &c->heartbeat_interval_s);
  r.Get("worker_timeout_s", &c->worker_timeout_s);
  r.Get("max_stage_attempts", &c->max_stage_attempts);
  r.Finish();
}

void ParseDataset(MapReader r, const ConfigParseOptions& options, DatasetConfig* d) {
  if (r.Get("path", &d->path)) d->path = ResolvePath(d->path, options);
  r.Get("format", &d->format);
  r.Get("limit", &d->limit);
  YAML::Node syn = r.Take("synthetic");
  if (Present(syn)) {
    SyntheticSpec s;
    MapReader sr(syn, r.KeyPath("synthetic"), r.errors());
    sr.Get("kind", &s.kind);
    sr.Get("count", &s.count);
    sr.Get("seed", &s.seed);
    sr.Get("options", &s.options);
    sr.Finish();
    if (d->format.empty()) d->format = std::string(SyntheticFormat(s.kind));
    d->synthetic = std::move(s);
  }
  r.Finish();
}

void ParseOptimizer(MapReader r, OptimizerConfig* o) {
  r.Get("lr", &o->lr);
  YAML::Node betas = r.Take("betas");
  if (Present(betas)) {
    if (!betas.IsSequence() || betas.size() != 2) {
      AddError(
          r.errors(), r.KeyPath("betas"),
          absl::StrCat("expected a list of two numbers [beta1, beta2], got ", Describe(betas)));
    } else {
      ParseValue(betas[0], r.KeyPath("betas[0]"), &o->beta1, r.errors());
      ParseValue(betas[1], r.KeyPath("betas[1]"), &o->beta2, r.errors());
    }
  }
  r.Get("eps", &o->eps);
  r.Get("weight_decay", &o->weight_decay);
  r.Get("warmup_steps", &o->warmup_steps);
  r.Get("schedule", &o->schedule);
  r.Get("min_lr_ratio", &o->min_lr_ratio);
  r.Get("grad_clip", &o->grad_clip);
  r.Finish();
}

void ParseOptimizerKey(MapReader& r, OptimizerConfig* o) {
  YAML::Node n = r.Take("optimizer");
  if (Present(n)) ParseOptimizer(MapReader(n, r.KeyPath("optimizer"), r.errors()), o);
}

void ParseSampling(MapReader& r, SamplingConfig* s) {
  r.Get("temperature", &s->temperature);
  r.Get("top_p", &s->top_p);
  r.Get("max_new_tokens", &s->max_new_tokens);
}

void ParseTrain(MapReader r, TrainParams* t) {
  ParseOptimizerKey(r, &t->optimizer);
  r.Get("batch_size", &t->batch_size);
  r.Get("micro_batch_size", &t->micro_batch_size);
  r.Get("max_seq_len", &t->max_seq_len);
  r.Get("epochs", &t->epochs);
  r.Get("steps", &t->steps);
  r.Get("checkpoint_every", &t->checkpoint_every);
  r.Get("log_every", &t->log_every);
  r.Get("loss_on_prompt", &t->loss_on_prompt);
  r.Finish();
}

// "stage:<name>" or a path (relative to the config file); "base" is the base model when
// `base_allowed`, else a path like any other.
ModelRef MakeModelRef(const std::string& text, const ConfigParseOptions& options,
                      bool base_allowed) {
  ModelRef ref;
  if (base_allowed && text == "base") return ref;
  if (absl::StartsWith(text, kStagePrefix)) {
    ref.kind = ModelRef::Kind::kStage;
    ref.value = text.substr(kStagePrefix.size());
  } else {
    ref.kind = ModelRef::Kind::kPath;
    ref.value = ResolvePath(text, options);
  }
  return ref;
}

void ParseReward(MapReader r, const ConfigParseOptions& options, RewardConfig* w) {
  r.Get("name", &w->name);
  r.Get("weight", &w->weight);
  r.Get("scope", &w->scope);
  r.Get("applies_to", &w->applies_to);
  std::string model;  // "" is no model, as if the key were absent
  if (r.Get("model", &model) && !model.empty()) {
    w->model = MakeModelRef(model, options, /*base_allowed=*/false);
  }
  r.Get("params", &w->params);
  r.Finish();
}

void ParseGrpo(MapReader r, const ConfigParseOptions& options, GrpoParams* g) {
  ParseOptimizerKey(r, &g->optimizer);
  r.Get("steps", &g->steps);
  r.Get("prompts_per_step", &g->prompts_per_step);
  r.Get("group_size", &g->group_size);
  ParseSampling(r, &g->sampling);
  r.Get("clip_low", &g->clip_low);
  r.Get("clip_high", &g->clip_high);
  r.Get("kl_coef", &g->kl_coef);
  r.Get("kl_estimator", &g->kl_estimator);
  r.Get("loss_aggregation", &g->loss_aggregation);
  r.Get("advantage", &g->advantage);
  r.Get("negative_advantage_scale", &g->negative_advantage_scale);
  r.Get("dynamic_sampling", &g->dynamic_sampling);
  r.Get("ppo_epochs", &g->ppo_epochs);
  r.Get("mini_batch_size", &g->mini_batch_size);
  YAML::Node rewards = r.Take("rewards");
  if (Present(rewards)) {
    if (!rewards.IsSequence()) {
      AddError(r.errors(), r.KeyPath("rewards"),
               absl::StrCat("expected a list of rewards, got ", Describe(rewards)));
    } else {
      g->rewards.clear();
      for (size_t i = 0; i < rewards.size(); ++i) {
        RewardConfig w;
        ParseReward(
            MapReader(rewards[i], absl::StrCat(r.KeyPath("rewards"), "[", i, "]"), r.errors()),
            options, &w);
        g->rewards.push_back(std::move(w));
      }
    }
  }
  r.Get("reference_refresh_every", &g->reference_refresh_every);
  r.Get("checkpoint_every", &g->checkpoint_every);
  r.Get("log_every", &g->log_every);
  r.Finish();
}

void ParseRejectionSampling(MapReader r, RejectionSamplingParams* p) {
  r.Get("samples_per_prompt", &p->samples_per_prompt);
  r.Get("max_kept_per_prompt", &p->max_kept_per_prompt);
  ParseSampling(r, &p->sampling);
  YAML::Node filters = r.Take("filters");
  if (Present(filters)) {
    MapReader fr(filters, r.KeyPath("filters"), r.errors());
    fr.Get("require_format", &p->filters.require_format);
    fr.Get("language_threshold", &p->filters.language_threshold);
    fr.Get("max_response_tokens", &p->filters.max_response_tokens);
    fr.Finish();
  }
  r.Get("dedupe", &p->dedupe);
  r.Get("non_reasoning_ratio", &p->non_reasoning_ratio);
  r.Finish();
}

void ParseEval(MapReader r, EvalParams* e) {
  r.Get("samples_per_prompt", &e->samples_per_prompt);
  ParseSampling(r, &e->sampling);
  r.Get("max_examples", &e->max_examples);
  r.Finish();
}

void ParseInputs(MapReader r, const ConfigParseOptions& options, StageInputs* in) {
  std::string model;
  if (r.Get("model", &model)) in->model = MakeModelRef(model, options, /*base_allowed=*/true);
  std::vector<std::string> datasets;
  if (r.Get("datasets", &datasets)) {
    for (const auto& d : datasets) {
      DatasetRef ref;
      if (absl::StartsWith(d, kStagePrefix)) {
        ref.kind = DatasetRef::Kind::kStage;
        ref.value = d.substr(kStagePrefix.size());
      } else {
        ref.value = d;
      }
      in->datasets.push_back(std::move(ref));
    }
  }
  r.Finish();
}

void ParseStage(MapReader r, const ConfigParseOptions& options, StageConfig* s) {
  r.Get("name", &s->name);  // a missing name is reported by validation
  std::string type_name;
  std::optional<StageType> type;
  if (r.Get("type", &type_name)) {
    type = ParseStageType(type_name);
    if (!type) {
      AddError(r.errors(), r.KeyPath("type"),
               absl::StrCat("unknown stage type ", Quoted(type_name),
                            " (expected pretrain, sft, grpo, rejection_sampling, reward_model, "
                            "eval)"));
    }
  } else {
    AddError(r.errors(), r.KeyPath("type"), "required");
  }
  if (type) s->type = *type;
  r.Get("depends_on", &s->depends_on);
  YAML::Node inputs = r.Take("inputs");
  if (Present(inputs))
    ParseInputs(MapReader(inputs, r.KeyPath("inputs"), r.errors()), options, &s->inputs);
  for (const auto& [t, key] : kStageTypeNames) {
    YAML::Node params = r.Take(std::string(key));
    if (!Present(params) || !type) continue;
    if (t != *type) {
      AddError(
          r.errors(), r.KeyPath(key),
          absl::StrCat("parameters for a ", key, " stage, but this stage's type is ", type_name));
      continue;
    }
    MapReader pr(params, r.KeyPath(key), r.errors());
    switch (t) {
      case StageType::kPretrain:
      case StageType::kSft:
      case StageType::kRewardModel:
        ParseTrain(std::move(pr), &s->train);
        break;
      case StageType::kGrpo:
        ParseGrpo(std::move(pr), options, &s->grpo);
        break;
      case StageType::kRejectionSampling:
        ParseRejectionSampling(std::move(pr), &s->rejection_sampling);
        break;
      case StageType::kEval:
        ParseEval(std::move(pr), &s->eval);
        break;
    }
  }
  r.Finish();
}

void ParseTop(const YAML::Node& root, const ConfigParseOptions& options, PipelineConfig* c,
              Errors* errors) {
  MapReader r(root, "", errors);
  ParseRun(MapReader(r.Take("run"), "run", errors), &c->run);
  ParseModel(MapReader(r.Take("model"), "model", errors), options, &c->model);
  ParseCluster(MapReader(r.Take("cluster"), "cluster", errors), &c->cluster);
  YAML::Node datasets = r.Take("datasets");
  if (Present(datasets)) {
    if (!datasets.IsMap()) {
      AddError(errors, "datasets",
               absl::StrCat("expected a mapping of name -> dataset, got ", Describe(datasets)));
    } else {
      for (const auto& kv : datasets) {
        DatasetConfig d;
        d.name = kv.first.Scalar();
        ParseDataset(MapReader(kv.second, absl::StrCat("datasets.", d.name), errors), options, &d);
        c->datasets.push_back(std::move(d));
      }
      std::sort(c->datasets.begin(), c->datasets.end(),
                [](const DatasetConfig& a, const DatasetConfig& b) { return a.name < b.name; });
    }
  }
  YAML::Node stages = r.Take("stages");
  if (Present(stages)) {
    if (!stages.IsSequence()) {
      AddError(errors, "stages", absl::StrCat("expected a list of stages, got ", Describe(stages)));
    } else {
      for (size_t i = 0; i < stages.size(); ++i) {
        StageConfig s;
        ParseStage(MapReader(stages[i], absl::StrCat("stages[", i, "]"), errors), options, &s);
        c->stages.push_back(std::move(s));
      }
    }
  }
  r.Finish();
}

// ---- YAML writing ----------------------------------------------------------------------------

void EmitJson(YAML::Emitter& out, const nlohmann::json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      out << YAML::Key << k << YAML::Value;
      EmitJson(out, v);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& v : j) EmitJson(out, v);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    out << YAML::DoubleQuoted << j.get<std::string>();
  } else if (j.is_boolean()) {
    out << (j.get<bool>() ? "true" : "false");
  } else if (j.is_number_integer()) {
    out << j.get<int64_t>();
  } else if (j.is_number()) {
    out << RoundTripDouble(j.get<double>());
  } else {
    out << YAML::Null;
  }
}

// Key/value helpers.
void Kv(YAML::Emitter& out, const char* key, const std::string& v) {
  out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << v;
}
void Kv(YAML::Emitter& out, const char* key, const char* v) { Kv(out, key, std::string(v)); }
void Kv(YAML::Emitter& out, const char* key, int64_t v) {
  out << YAML::Key << key << YAML::Value << v;
}
void Kv(YAML::Emitter& out, const char* key, int32_t v) {
  out << YAML::Key << key << YAML::Value << v;
}
void Kv(YAML::Emitter& out, const char* key, uint64_t v) {
  out << YAML::Key << key << YAML::Value << v;
}
void Kv(YAML::Emitter& out, const char* key, double v) {
  out << YAML::Key << key << YAML::Value << RoundTripDouble(v);
}
void Kv(YAML::Emitter& out, const char* key, bool v) {
  out << YAML::Key << key << YAML::Value << (v ? "true" : "false");
}
template <typename E, typename = decltype(EnumEntries(E{}))>
void Kv(YAML::Emitter& out, const char* key, E v) {
  Kv(out, key, std::string(ToString(v)));
}

void EmitOptimizer(YAML::Emitter& out, const OptimizerConfig& o) {
  out << YAML::Key << "optimizer" << YAML::Value << YAML::BeginMap;
  Kv(out, "lr", o.lr);
  out << YAML::Key << "betas" << YAML::Value << YAML::Flow << YAML::BeginSeq
      << RoundTripDouble(o.beta1) << RoundTripDouble(o.beta2) << YAML::EndSeq;
  Kv(out, "eps", o.eps);
  Kv(out, "weight_decay", o.weight_decay);
  Kv(out, "warmup_steps", o.warmup_steps);
  Kv(out, "schedule", o.schedule);
  Kv(out, "min_lr_ratio", o.min_lr_ratio);
  Kv(out, "grad_clip", o.grad_clip);
  out << YAML::EndMap;
}

void EmitSampling(YAML::Emitter& out, const SamplingConfig& s) {
  Kv(out, "temperature", s.temperature);
  Kv(out, "top_p", s.top_p);
  Kv(out, "max_new_tokens", s.max_new_tokens);
}

void EmitTrain(YAML::Emitter& out, const TrainParams& t) {
  EmitOptimizer(out, t.optimizer);
  Kv(out, "batch_size", t.batch_size);
  Kv(out, "micro_batch_size", t.micro_batch_size);
  Kv(out, "max_seq_len", t.max_seq_len);
  Kv(out, "epochs", t.epochs);
  Kv(out, "steps", t.steps);
  Kv(out, "checkpoint_every", t.checkpoint_every);
  Kv(out, "log_every", t.log_every);
  Kv(out, "loss_on_prompt", t.loss_on_prompt);
}

void EmitGrpo(YAML::Emitter& out, const GrpoParams& g) {
  EmitOptimizer(out, g.optimizer);
  Kv(out, "steps", g.steps);
  Kv(out, "prompts_per_step", g.prompts_per_step);
  Kv(out, "group_size", g.group_size);
  EmitSampling(out, g.sampling);
  Kv(out, "clip_low", g.clip_low);
  Kv(out, "clip_high", g.clip_high);
  Kv(out, "kl_coef", g.kl_coef);
  Kv(out, "kl_estimator", g.kl_estimator);
  Kv(out, "loss_aggregation", g.loss_aggregation);
  Kv(out, "advantage", g.advantage);
  Kv(out, "negative_advantage_scale", g.negative_advantage_scale);
  Kv(out, "dynamic_sampling", g.dynamic_sampling);
  Kv(out, "ppo_epochs", g.ppo_epochs);
  Kv(out, "mini_batch_size", g.mini_batch_size);
  out << YAML::Key << "rewards" << YAML::Value << YAML::BeginSeq;
  for (const auto& w : g.rewards) {
    out << YAML::BeginMap;
    Kv(out, "name", w.name);
    Kv(out, "weight", w.weight);
    Kv(out, "scope", w.scope);
    Kv(out, "applies_to", w.applies_to);
    if (w.model) Kv(out, "model", w.model->ToString());
    if (!w.params.empty()) {
      out << YAML::Key << "params" << YAML::Value;
      EmitJson(out, w.params);
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  Kv(out, "reference_refresh_every", g.reference_refresh_every);
  Kv(out, "checkpoint_every", g.checkpoint_every);
  Kv(out, "log_every", g.log_every);
}

void EmitStage(YAML::Emitter& out, const StageConfig& s) {
  out << YAML::BeginMap;
  Kv(out, "name", s.name);
  Kv(out, "type", std::string(StageTypeName(s.type)));
  out << YAML::Key << "depends_on" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& d : s.depends_on) out << YAML::DoubleQuoted << d;
  out << YAML::EndSeq;
  out << YAML::Key << "inputs" << YAML::Value << YAML::BeginMap;
  Kv(out, "model", s.inputs.model.ToString());
  out << YAML::Key << "datasets" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& d : s.inputs.datasets) out << YAML::DoubleQuoted << d.ToString();
  out << YAML::EndSeq << YAML::EndMap;
  out << YAML::Key << std::string(StageTypeName(s.type)) << YAML::Value << YAML::BeginMap;
  switch (s.type) {
    case StageType::kPretrain:
    case StageType::kSft:
    case StageType::kRewardModel:
      EmitTrain(out, s.train);
      break;
    case StageType::kGrpo:
      EmitGrpo(out, s.grpo);
      break;
    case StageType::kRejectionSampling: {
      const auto& p = s.rejection_sampling;
      Kv(out, "samples_per_prompt", p.samples_per_prompt);
      Kv(out, "max_kept_per_prompt", p.max_kept_per_prompt);
      EmitSampling(out, p.sampling);
      out << YAML::Key << "filters" << YAML::Value << YAML::BeginMap;
      Kv(out, "require_format", p.filters.require_format);
      Kv(out, "language_threshold", p.filters.language_threshold);
      Kv(out, "max_response_tokens", p.filters.max_response_tokens);
      out << YAML::EndMap;
      Kv(out, "dedupe", p.dedupe);
      Kv(out, "non_reasoning_ratio", p.non_reasoning_ratio);
      break;
    }
    case StageType::kEval:
      Kv(out, "samples_per_prompt", s.eval.samples_per_prompt);
      EmitSampling(out, s.eval.sampling);
      Kv(out, "max_examples", s.eval.max_examples);
      break;
  }
  out << YAML::EndMap << YAML::EndMap;
}

}  // namespace

std::string ConfigToYaml(const PipelineConfig& c) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;

  out << YAML::Key << "run" << YAML::Value << YAML::BeginMap;
  Kv(out, "name", c.run.name);
  Kv(out, "seed", c.run.seed);
  Kv(out, "run_dir", ResolvedRunDir(c));
  out << YAML::EndMap;

  out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  if (!c.model.path.empty()) Kv(out, "path", c.model.path);
  if (c.model.architecture) {
    const ArchitectureConfig& a = *c.model.architecture;
    out << YAML::Key << "architecture" << YAML::Value << YAML::BeginMap;
    Kv(out, "vocab_size", a.vocab_size);
    Kv(out, "hidden_size", a.hidden_size);
    Kv(out, "num_layers", a.num_layers);
    Kv(out, "num_heads", a.num_heads);
    Kv(out, "num_kv_heads", a.num_kv_heads);
    Kv(out, "intermediate_size", a.intermediate_size);
    Kv(out, "max_position_embeddings", a.max_position_embeddings);
    Kv(out, "rope_theta", a.rope_theta);
    Kv(out, "rms_norm_eps", a.rms_norm_eps);
    Kv(out, "tie_word_embeddings", a.tie_word_embeddings);
    Kv(out, "attention_bias", a.attention_bias);
    out << YAML::EndMap;
  }
  Kv(out, "tokenizer", c.model.tokenizer);
  Kv(out, "dtype", c.model.dtype);
  out << YAML::EndMap;

  const ClusterConfig& k = c.cluster;
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
  Kv(out, "mode", k.mode);
  Kv(out, "launcher", k.launcher);
  Kv(out, "scheduler_address", k.scheduler_address);
  Kv(out, "metrics_address", k.metrics_address);
  Kv(out, "placement", k.placement);
  Kv(out, "trainer_ranks", k.trainer_ranks);
  Kv(out, "rollout_workers", k.rollout_workers);
  Kv(out, "backend", k.backend);
  Kv(out, "device", k.device);
  Kv(out, "heartbeat_interval_s", k.heartbeat_interval_s);
  Kv(out, "worker_timeout_s", k.worker_timeout_s);
  Kv(out, "max_stage_attempts", k.max_stage_attempts);
  out << YAML::EndMap;

  out << YAML::Key << "datasets" << YAML::Value << YAML::BeginMap;
  for (const auto& d : c.datasets) {
    out << YAML::Key << d.name << YAML::Value << YAML::BeginMap;
    if (!d.path.empty()) Kv(out, "path", d.path);
    Kv(out, "format", d.format);
    if (d.synthetic) {
      out << YAML::Key << "synthetic" << YAML::Value << YAML::BeginMap;
      Kv(out, "kind", d.synthetic->kind);
      Kv(out, "count", d.synthetic->count);
      Kv(out, "seed", d.synthetic->seed);
      out << YAML::Key << "options" << YAML::Value;
      EmitJson(out, d.synthetic->options);
      out << YAML::EndMap;
    }
    Kv(out, "limit", d.limit);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;

  out << YAML::Key << "stages" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : c.stages) EmitStage(out, s);
  out << YAML::EndSeq;

  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

ConfigParseResult ParseConfigCollect(absl::string_view yaml_text,
                                     const ConfigParseOptions& options) {
  ConfigParseResult result;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    AddError(&result.errors,
             absl::StrCat(options.source_name, ":", e.mark.line + 1, ":", e.mark.column + 1),
             absl::StrCat("YAML syntax error: ", e.msg));
    return result;
  }
  try {
    ParseTop(root, options, &result.config, &result.errors);
  } catch (const YAML::Exception& e) {  // not expected: every access above is checked
    AddError(&result.errors,
             absl::StrCat(options.source_name, ":", e.mark.line + 1, ":", e.mark.column + 1),
             absl::StrCat("YAML error: ", e.msg));
  }
  // Cross-field checks only on a structurally sound config, so one typo is one error.
  if (result.errors.empty()) ValidateConfig(result.config, &result.errors);
  return result;
}

namespace {

absl::Status ErrorsToStatus(const std::string& source, const std::vector<ConfigError>& errors) {
  std::vector<std::string> lines;
  for (const auto& e : errors) lines.push_back(e.ToString());
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": invalid config:\n", absl::StrJoin(lines, "\n")));
}

}  // namespace

absl::StatusOr<PipelineConfig> ParseConfig(absl::string_view yaml_text,
                                           const ConfigParseOptions& options) {
  ConfigParseResult result = ParseConfigCollect(yaml_text, options);
  if (!result.errors.empty()) return ErrorsToStatus(options.source_name, result.errors);
  return std::move(result.config);
}

absl::StatusOr<ConfigParseResult> LoadConfigCollect(const std::string& path) {
  R1_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  ConfigParseOptions options;
  options.source_name = path;
  const std::string abs = AbsolutePath(path);
  const size_t slash = abs.rfind('/');
  options.base_dir = slash == 0 ? "/" : abs.substr(0, slash);
  return ParseConfigCollect(text, options);
}

absl::StatusOr<PipelineConfig> LoadConfig(const std::string& path) {
  R1_ASSIGN_OR_RETURN(ConfigParseResult result, LoadConfigCollect(path));
  if (!result.errors.empty()) return ErrorsToStatus(path, result.errors);
  return std::move(result.config);
}

}  // namespace r1
