// Cross-field checks of a parsed PipelineConfig (ValidateConfig): every error names its key path
// and the offending value, e.g. `stages[1].grpo.group_size: must be >= 2, got 1`.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/str_util.h"
#include "pipeline/config.h"
#include "pipeline/config_fields.h"
#include "pipeline/dag.h"
#include "pipeline/templates.h"

namespace r1 {
namespace {

using Errors = std::vector<ConfigError>;

// Collects errors under a key-path prefix.
class Checker {
 public:
  Checker(Errors* errors, std::string prefix) : errors_(errors), prefix_(std::move(prefix)) {}

  std::string Path(absl::string_view key) const {
    return prefix_.empty() ? std::string(key) : absl::StrCat(prefix_, ".", key);
  }
  // A checker for the mapping under `key`.
  Checker Sub(absl::string_view key) const { return Checker(errors_, Path(key)); }
  void Error(absl::string_view key, std::string message) const {
    errors_->push_back(ConfigError{Path(key), std::move(message)});
  }

  void AtLeast(absl::string_view key, int64_t v, int64_t min) const {
    if (v < min) Error(key, absl::StrCat("must be >= ", min, ", got ", v));
  }
  void AtLeast(absl::string_view key, double v, double min) const {
    if (!(v >= min))
      Error(key, absl::StrCat("must be >= ", RoundTripDouble(min), ", got ", RoundTripDouble(v)));
  }
  void Positive(absl::string_view key, double v) const {
    if (!(v > 0)) Error(key, absl::StrCat("must be > 0, got ", RoundTripDouble(v)));
  }
  // lo <= v <= hi, with open ends when the flags say so; the message shows the interval.
  void InRange(absl::string_view key, double v, double lo, double hi, bool lo_open,
               bool hi_open) const {
    bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (!ok) {
      Error(key,
            absl::StrCat("must be in ", lo_open ? "(" : "[", RoundTripDouble(lo), ", ",
                         RoundTripDouble(hi), hi_open ? ")" : "]", ", got ", RoundTripDouble(v)));
    }
  }
  void OneOf(absl::string_view key, const std::string& v,
             const std::vector<std::string>& allowed) const {
    for (const auto& a : allowed) {
      if (v == a) return;
    }
    Error(key, absl::StrCat("must be one of ", absl::StrJoin(allowed, ", "), "; got ", Quoted(v)));
  }

 private:
  Errors* errors_;
  std::string prefix_;
};

// Applies the FieldCheck of every key ConfigFields (config_fields.h) declares.
class FieldChecker {
 public:
  template <typename T>
  using Ref = const T&;

  explicit FieldChecker(const Checker& c) : c_(c) {}

  void Field(const char* key, int64_t v, const FieldCheck& check) const {
    switch (check.kind) {
      case FieldCheck::Kind::kNone:
        break;
      case FieldCheck::Kind::kAtLeast:
        c_.AtLeast(key, v, static_cast<int64_t>(check.lo));
        break;
      case FieldCheck::Kind::kPositive:
        c_.AtLeast(key, v, int64_t{1});
        break;
      case FieldCheck::Kind::kInRange:
        c_.InRange(key, static_cast<double>(v), check.lo, check.hi, check.lo_open, check.hi_open);
        break;
    }
  }
  void Field(const char* key, int32_t v, const FieldCheck& check) const {
    Field(key, int64_t{v}, check);
  }
  void Field(const char* key, double v, const FieldCheck& check) const {
    switch (check.kind) {
      case FieldCheck::Kind::kNone:
        break;
      case FieldCheck::Kind::kAtLeast:
        c_.AtLeast(key, v, check.lo);
        break;
      case FieldCheck::Kind::kPositive:
        c_.Positive(key, v);
        break;
      case FieldCheck::Kind::kInRange:
        c_.InRange(key, v, check.lo, check.hi, check.lo_open, check.hi_open);
        break;
    }
  }
  // Strings, enums, booleans, model references, free-form mappings: nothing to range-check.
  template <typename T>
  void Field(const char*, const T&, const FieldCheck& check) const {
    assert(check.kind == FieldCheck::Kind::kNone);
  }
  void Pair(const char* key, const char*, double first, double second,
            const FieldCheck& check) const {
    Field(absl::StrCat(key, "[0]").c_str(), first, check);
    Field(absl::StrCat(key, "[1]").c_str(), second, check);
  }
  template <typename S>
  void Section(const char* key, const S& member) const {
    FieldChecker sub(c_.Sub(key));
    ConfigFields(member, sub);
  }
  template <typename S>
  void List(const char* key, const std::vector<S>& items) const {
    for (size_t i = 0; i < items.size(); ++i) {
      FieldChecker sub(c_.Sub(absl::StrCat(key, "[", i, "]")));
      ConfigFields(items[i], sub);
    }
  }

 private:
  Checker c_;
};

// The per-field checks of `section`, under the checker's key path.
template <typename S>
void CheckFields(const S& section, const Checker& c) {
  FieldChecker fields(c);
  ConfigFields(section, fields);
}

constexpr char kNamePattern[] = "[A-Za-z0-9_.-]+ and not start with '.'";

bool ValidName(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

void CheckArchitecture(const ArchitectureConfig& a, const Checker& c) {
  CheckFields(a, c);
  if (a.hidden_size >= 1 && a.num_heads >= 1) {
    if (a.hidden_size % a.num_heads != 0) {
      c.Error("num_heads",
              absl::StrCat("must divide hidden_size (", a.hidden_size, "), got ", a.num_heads));
    } else if ((a.hidden_size / a.num_heads) % 2 != 0) {
      c.Error("num_heads", absl::StrCat("must leave an even head dimension for rotary "
                                        "embeddings (hidden_size / num_heads = ",
                                        a.hidden_size / a.num_heads, "), got ", a.num_heads));
    }
  }
  if (a.num_heads >= 1 && a.num_kv_heads >= 1 && a.num_heads % a.num_kv_heads != 0) {
    c.Error("num_kv_heads",
            absl::StrCat("must divide num_heads (", a.num_heads, "), got ", a.num_kv_heads));
  }
}

void CheckModel(const BaseModelConfig& m, Errors* errors) {
  Checker c(errors, "model");
  if (!m.path.empty() && m.architecture) {
    errors->push_back({"model",
                       "give either path (a Hugging Face directory) or architecture "
                       "(a model trained from scratch), not both"});
  }
  if (m.path.empty() && !m.architecture) {
    errors->push_back({"model", "needs path or architecture"});
  }
  if (m.architecture) CheckArchitecture(*m.architecture, Checker(errors, "model.architecture"));
  if (m.tokenizer.empty()) c.Error("tokenizer", "required (\"byte\" or a path)");
}

void CheckAddress(const std::string& key, const std::string& address, const Checker& c) {
  std::vector<std::string> parts = absl::StrSplit(address, absl::MaxSplits(':', 1));
  size_t colon = address.rfind(':');
  int port = -1;
  bool ok = parts.size() == 2 && colon != std::string::npos && colon > 0 &&
            absl::SimpleAtoi(address.substr(colon + 1), &port) && port >= 0 && port <= 65535;
  if (!ok) {
    c.Error(key, absl::StrCat("must be HOST:PORT with PORT in [0, 65535], got ", Quoted(address)));
  }
}

void CheckCluster(const ClusterConfig& k, Errors* errors) {
  Checker c(errors, "cluster");
  CheckFields(k, c);
  if (k.launcher == Launcher::kInProcess && k.mode == ClusterMode::kExternal) {
    c.Error("launcher", "\"in_process\" runs the stages inside `r1 run`: it needs mode \"local\"");
  }
  if (k.launcher == Launcher::kInProcess &&
      (k.trainer_ranks > 1 || k.placement == Placement::kDisaggregated)) {
    c.Error("launcher",
            "\"in_process\" is one colocated worker: trainer_ranks 1, placement colocated");
  }
  if (k.launcher == Launcher::kInProcess && k.worker_groups > 1) {
    c.Error("worker_groups", absl::StrCat("\"in_process\" is one worker: worker_groups must be 1, "
                                          "got ",
                                          k.worker_groups));
  }
  if (k.launcher == Launcher::kK8s && k.mode == ClusterMode::kLocal) {
    c.Error("launcher", "\"k8s\" workers come from an MPIJob: it needs mode \"external\"");
  }
  CheckAddress("scheduler_address", k.scheduler_address, c);
  if (!k.metrics_address.empty()) CheckAddress("metrics_address", k.metrics_address, c);
  if (k.placement == Placement::kDisaggregated) {
    c.AtLeast("rollout_workers", int64_t{k.rollout_workers}, int64_t{1});
  } else {
    c.AtLeast("rollout_workers", int64_t{k.rollout_workers}, int64_t{0});
  }
  if (k.backend == CollectiveBackend::kNccl && k.device == DeviceKind::kCpu) {
    c.Error("backend", "\"nccl\" needs device \"cuda\" (use mpi or auto on CPUs)");
  }
  if (k.heartbeat_interval_s > 0 && !(k.worker_timeout_s > k.heartbeat_interval_s)) {
    c.Error("worker_timeout_s", absl::StrCat("must be greater than heartbeat_interval_s (",
                                             RoundTripDouble(k.heartbeat_interval_s), "), got ",
                                             RoundTripDouble(k.worker_timeout_s)));
  }
  // TLS is all of cert, key and ca, or none of them (server_name only refines it).
  const TlsConfig& t = k.tls;
  if (t.enabled()) {
    const char* kRequired = "required when cluster.tls is given (cert, key and ca)";
    if (t.cert.empty()) c.Error("tls.cert", kRequired);
    if (t.key.empty()) c.Error("tls.key", kRequired);
    if (t.ca.empty()) c.Error("tls.ca", kRequired);
  } else if (!t.server_name.empty()) {
    c.Error("tls.server_name", "needs cluster.tls cert, key and ca");
  }
}

const std::vector<std::string> kFormats = {"gsm8k", "prompt_answer", "chat", "preference", "code"};
const std::vector<std::string> kSyntheticKinds = {"arithmetic", "countdown", "non_reasoning",
                                                  "preference", "code"};

// `template` under `c`: unset, a template name, or a custom text with one {prompt}.
void CheckTemplate(const std::string& spec, const Checker& c) {
  if (spec.empty()) return;
  absl::Status status = PromptTemplate::FromSpec(spec).status();
  if (!status.ok()) c.Error("template", std::string(status.message()));
}

// A stage's template: its own, checked; else its named input datasets that set one must agree,
// so that StageTemplate has one answer.
void CheckStageTemplate(const PipelineConfig& config, const StageConfig& s, const Checker& c) {
  if (!s.prompt_template.empty()) return CheckTemplate(s.prompt_template, c);
  const DatasetConfig* first = nullptr;
  for (const DatasetRef& ref : s.inputs.datasets) {
    if (ref.kind != DatasetRef::Kind::kDataset) continue;
    const DatasetConfig* d = config.FindDataset(ref.value);
    if (d == nullptr || d->prompt_template.empty()) continue;
    if (first == nullptr) {
      first = d;
    } else if (d->prompt_template != first->prompt_template) {
      c.Error("template",
              absl::StrCat("input datasets ", Quoted(first->name), " and ", Quoted(d->name),
                           " set different templates (", Quoted(first->prompt_template), ", ",
                           Quoted(d->prompt_template), "); set the stage's template"));
      return;
    }
  }
}

void CheckDataset(const DatasetConfig& d, Errors* errors) {
  std::string prefix = absl::StrCat("datasets.", d.name);
  Checker c(errors, prefix);
  if (!ValidName(d.name)) {
    errors->push_back(
        {prefix, absl::StrCat("dataset name must match ", kNamePattern, ", got ", Quoted(d.name))});
  }
  if (d.path.empty() == !d.synthetic.has_value()) {
    errors->push_back({prefix,
                       "give either path (a JSONL file) or synthetic (a generator), "
                       "exactly one"});
  }
  c.AtLeast("limit", d.limit, int64_t{0});
  CheckTemplate(d.prompt_template, c);
  if (d.synthetic) {
    Checker s(errors, absl::StrCat(prefix, ".synthetic"));
    s.OneOf("kind", d.synthetic->kind, kSyntheticKinds);
    s.AtLeast("count", d.synthetic->count, int64_t{1});
    std::string expected(SyntheticFormat(d.synthetic->kind));
    if (!expected.empty() && d.format != expected) {
      c.Error("format", absl::StrCat("a synthetic ", d.synthetic->kind, " dataset has format ",
                                     expected, ", got ", Quoted(d.format)));
    }
  } else if (d.format.empty()) {
    c.Error("format",
            "required for a file dataset (gsm8k, prompt_answer, chat, preference or code)");
  } else {
    c.OneOf("format", d.format, kFormats);
  }
}

void CheckTrain(const TrainParams& t, const Checker& c) {
  CheckFields(t, c);
  if (t.batch_size >= 1 && t.micro_batch_size >= 1 && t.batch_size % t.micro_batch_size != 0) {
    c.Error("micro_batch_size",
            absl::StrCat("must divide batch_size (", t.batch_size, "), got ", t.micro_batch_size));
  }
}

// Rule rewards by their stages/rewards registry names, plus the reward-model reward.
const std::vector<std::string> kRewards = {"accuracy", "code",     "format",
                                           "language", "overlong", "reward_model"};

void CheckGrpo(const GrpoParams& g, const ClusterConfig& cluster, const Checker& c) {
  CheckFields(g, c);
  if (g.max_staleness > 0 && cluster.placement != Placement::kDisaggregated) {
    c.Error("max_staleness",
            absl::StrCat("asynchronous RL needs cluster.placement \"disaggregated\" (rollout "
                         "workers sample the next step while the trainers train), got ",
                         g.max_staleness, " with placement \"colocated\""));
  }
  if (g.max_staleness > 0 && g.dynamic_sampling) {
    c.Error("max_staleness",
            "asynchronous RL does not refill groups: set dynamic_sampling false or "
            "max_staleness 0");
  }
  int64_t batch = g.prompts_per_step * g.group_size;
  if (g.mini_batch_size >= 1 && batch >= 1 && batch % g.mini_batch_size != 0) {
    c.Error("mini_batch_size", absl::StrCat("must divide prompts_per_step * group_size (", batch,
                                            "), got ", g.mini_batch_size));
  }
  if (g.rewards.empty()) c.Error("rewards", "at least one reward is required");
  for (size_t i = 0; i < g.rewards.size(); ++i) {
    const RewardConfig& w = g.rewards[i];
    std::string key = absl::StrCat("rewards[", i, "]");
    c.OneOf(key + ".name", w.name, kRewards);
    if (w.name != "reward_model" && w.model) {
      c.Error(key + ".model", absl::StrCat("only the reward_model reward takes a model, got ",
                                           Quoted(w.model->ToString())));
    }
  }
}

void CheckRejectionSampling(const RejectionSamplingParams& p, const Checker& c) {
  CheckFields(p, c);
  if (p.samples_per_prompt >= 1 && p.max_kept_per_prompt > p.samples_per_prompt) {
    c.Error("max_kept_per_prompt",
            absl::StrCat("must be <= samples_per_prompt (", p.samples_per_prompt, "), got ",
                         p.max_kept_per_prompt));
  }
}

void CheckEval(const EvalParams& e, const Checker& c) { CheckFields(e, c); }

// The dataset formats each stage type reads (a rejection_sampling output is "chat").
std::vector<std::string> AcceptedFormats(StageType type) {
  switch (type) {
    case StageType::kPretrain:
    case StageType::kSft:  // code: its solutions (the synthetic code tasks have them)
      return {"gsm8k", "prompt_answer", "chat", "code"};
    case StageType::kGrpo:  // code: tests for the code reward
      return {"gsm8k", "prompt_answer", "chat", "code"};
    case StageType::kRejectionSampling:
      return {"gsm8k", "prompt_answer", "chat"};
    case StageType::kEval:  // chat: graded by exact match; code: by the code reward
      return {"gsm8k", "prompt_answer", "chat", "code"};
    case StageType::kRewardModel:
      return {"preference"};
  }
  return {};
}

std::string JoinOr(const std::vector<std::string>& items) {
  if (items.size() <= 1) return absl::StrJoin(items, "");
  return absl::StrCat(absl::StrJoin(items.begin(), items.end() - 1, ", "), " or ", items.back());
}

// "an sft stage", "an eval stage", "a grpo stage".
std::string Article(absl::string_view word) {
  bool vowel_sound = word[0] == 'a' || word[0] == 'e' || word[0] == 'i' || word[0] == 'o' ||
                     word[0] == 'u' || word == "sft";
  return vowel_sound ? "an" : "a";
}

// Checks a "stage:<name>" reference from stage `self` at `path`: the stage exists, is a
// (transitive) dependency, and produces `want`. Returns the referenced stage or null.
const StageConfig* CheckStageRef(const std::string& path, const std::string& ref,
                                 const StageConfig& self, OutputKind want,
                                 const std::map<std::string, const StageConfig*>& by_name,
                                 const std::set<std::string>& ancestors, Errors* errors) {
  auto it = by_name.find(ref);
  if (it == by_name.end()) {
    errors->push_back({path, absl::StrCat("unknown stage ", Quoted(ref))});
    return nullptr;
  }
  if (ref == self.name) {
    errors->push_back({path, absl::StrCat("stage ", Quoted(ref), " cannot read its own output")});
    return nullptr;
  }
  if (!ancestors.count(ref)) {
    errors->push_back({path, absl::StrCat("stage ", Quoted(ref),
                                          " is not in depends_on (directly or transitively)")});
  }
  OutputKind got = StageOutputKind(it->second->type);
  if (got != want) {
    absl::string_view got_name = OutputKindName(got);
    absl::string_view want_name = OutputKindName(want);
    errors->push_back(
        {path, absl::StrCat("stage ", Quoted(ref), " (", StageTypeName(it->second->type),
                            ") produces ", Article(got_name), " ", got_name, ", not ",
                            Article(want_name), " ", want_name)});
  }
  return it->second;
}

// `graph`: the dependencies of the stages in `by_name`, for Ancestors.
void CheckInputs(const PipelineConfig& config, size_t index,
                 const std::map<std::string, const StageConfig*>& by_name, const StageDag& graph,
                 Errors* errors) {
  const StageConfig& s = config.stages[index];
  std::string prefix = absl::StrCat("stages[", index, "]");
  std::string type(StageTypeName(s.type));
  std::set<std::string> ancestors = graph.Ancestors(s.name);

  // Model input.
  std::string model_path = prefix + ".inputs.model";
  const ModelRef& m = s.inputs.model;
  if (m.kind == ModelRef::Kind::kStage) {
    CheckStageRef(model_path, m.value, s, OutputKind::kModel, by_name, ancestors, errors);
  } else if (m.kind == ModelRef::Kind::kBase && s.type != StageType::kPretrain &&
             config.model.path.empty()) {
    errors->push_back(
        {model_path,
         absl::StrCat("the base model has no weights (model.architecture); ", Article(type), " ",
                      type, " stage needs a path or \"stage:<name>\" of a model")});
  } else if (m.kind == ModelRef::Kind::kPath && m.value.empty()) {
    errors->push_back({model_path, "empty path"});
  }

  // Dataset inputs.
  std::vector<std::string> accepted = AcceptedFormats(s.type);
  int num_prompt_sets = 0;  // rejection_sampling: datasets with reference answers
  int num_chat = 0;
  if (s.inputs.datasets.empty() && s.type != StageType::kPretrain) {
    errors->push_back(
        {prefix + ".inputs.datasets",
         absl::StrCat(Article(type), " ", type, " stage needs at least one dataset")});
  }
  if (s.inputs.datasets.empty() && s.type == StageType::kPretrain) {
    errors->push_back({prefix + ".inputs.datasets",
                       "a pretrain stage needs at least one dataset (its text corpus)"});
  }
  for (size_t i = 0; i < s.inputs.datasets.size(); ++i) {
    const DatasetRef& d = s.inputs.datasets[i];
    std::string path = absl::StrCat(prefix, ".inputs.datasets[", i, "]");
    std::string format;
    std::string what;
    if (d.kind == DatasetRef::Kind::kStage) {
      const StageConfig* src =
          CheckStageRef(path, d.value, s, OutputKind::kDataset, by_name, ancestors, errors);
      if (src == nullptr || StageOutputKind(src->type) != OutputKind::kDataset) continue;
      format = "chat";
      what = absl::StrCat("the output of stage ", Quoted(d.value));
    } else {
      const DatasetConfig* ds = config.FindDataset(d.value);
      if (ds == nullptr) {
        errors->push_back({path, absl::StrCat("unknown dataset ", Quoted(d.value))});
        continue;
      }
      format = ds->format;
      what = absl::StrCat("dataset ", Quoted(d.value));
    }
    if (std::find(accepted.begin(), accepted.end(), format) == accepted.end()) {
      errors->push_back({path, absl::StrCat(what, " has format ", format, "; ", Article(type), " ",
                                            type, " stage reads ", JoinOr(accepted))});
      continue;
    }
    if (format == "chat") {
      ++num_chat;
    } else {
      ++num_prompt_sets;
    }
  }
  if (s.type == StageType::kRejectionSampling) {
    const auto& p = s.rejection_sampling;
    if (!s.inputs.datasets.empty() && num_prompt_sets == 0) {
      errors->push_back({prefix + ".inputs.datasets",
                         "a rejection_sampling stage needs a dataset with reference answers "
                         "(gsm8k or prompt_answer)"});
    }
    if (p.non_reasoning_ratio > 0 && num_chat == 0 && !s.inputs.datasets.empty()) {
      errors->push_back({prefix + ".rejection_sampling.non_reasoning_ratio",
                         absl::StrCat("is ", RoundTripDouble(p.non_reasoning_ratio),
                                      " but no input dataset is non-reasoning (format chat)")});
    }
    if (p.non_reasoning_ratio == 0 && num_chat > 0) {
      errors->push_back({prefix + ".inputs.datasets",
                         "chat (non-reasoning) datasets are used only when "
                         "rejection_sampling.non_reasoning_ratio > 0"});
    }
  }

  // Reward models of a grpo stage.
  if (s.type == StageType::kGrpo) {
    for (size_t i = 0; i < s.grpo.rewards.size(); ++i) {
      const RewardConfig& w = s.grpo.rewards[i];
      if (w.name != "reward_model") continue;
      std::string path = absl::StrCat(prefix, ".grpo.rewards[", i, "].model");
      if (!w.model) {
        errors->push_back({path,
                           "required for the reward_model reward (a path or "
                           "\"stage:<reward_model stage>\")"});
      } else if (w.model->kind == ModelRef::Kind::kStage) {
        CheckStageRef(path, w.model->value, s, OutputKind::kRewardModel, by_name, ancestors,
                      errors);
      }
    }
  }
}

}  // namespace

void ValidateConfig(const PipelineConfig& config, std::vector<ConfigError>* errors) {
  if (config.run.name.empty() || !ValidName(config.run.name)) {
    errors->push_back(
        {"run.name", absl::StrCat("must match ", kNamePattern, ", got ", Quoted(config.run.name))});
  }
  CheckModel(config.model, errors);
  CheckCluster(config.cluster, errors);
  for (const auto& d : config.datasets) CheckDataset(d, errors);

  if (config.stages.empty()) errors->push_back({"stages", "at least one stage is required"});

  // Names: present, well-formed, unique.
  std::map<std::string, const StageConfig*> by_name;
  std::map<std::string, size_t> first_index;
  for (size_t i = 0; i < config.stages.size(); ++i) {
    const StageConfig& s = config.stages[i];
    std::string path = absl::StrCat("stages[", i, "].name");
    if (s.name.empty()) {
      errors->push_back({path, "required"});
      continue;
    }
    if (!ValidName(s.name)) {
      errors->push_back({path, absl::StrCat("must match ", kNamePattern,
                                            " (it names a directory), got ", Quoted(s.name))});
      continue;
    }
    if (s.name == "journal") {
      errors->push_back({path, "\"journal\" is reserved (RUN_DIR/journal is the journal file)"});
      continue;
    }
    if (s.name == "tensorboard") {
      errors->push_back({path,
                         "\"tensorboard\" is reserved (RUN_DIR/tensorboard holds every stage's "
                         "TensorBoard event files)"});
      continue;
    }
    auto [it, inserted] = first_index.emplace(s.name, i);
    if (!inserted) {
      errors->push_back({path, absl::StrCat("duplicate stage name ", Quoted(s.name),
                                            " (also stages[", it->second, "])")});
      continue;
    }
    by_name[s.name] = &s;
  }

  // Dependencies: known, listed once; then cycles.
  for (size_t i = 0; i < config.stages.size(); ++i) {
    const StageConfig& s = config.stages[i];
    std::set<std::string> seen;
    for (const auto& d : s.depends_on) {
      std::string path = absl::StrCat("stages[", i, "].depends_on");
      if (!by_name.count(d)) {
        errors->push_back({path, absl::StrCat("unknown stage ", Quoted(d))});
      } else if (!seen.insert(d).second) {
        errors->push_back({path, absl::StrCat("stage ", Quoted(d), " listed twice")});
      }
    }
  }
  std::vector<std::string> cycle = FindCycle(config.stages);
  if (!cycle.empty()) {
    errors->push_back({"stages", absl::StrCat("dependency cycle ", absl::StrJoin(cycle, " -> "))});
  }

  // Per-stage parameters and inputs. Stage references are checked against the stages named
  // well and once (the DAG itself may not build).
  std::map<std::string, std::vector<std::string>> depends_on;
  for (const auto& [name, stage] : by_name) depends_on[name] = stage->depends_on;
  const StageDag graph = StageDag::Unchecked(std::move(depends_on));
  for (size_t i = 0; i < config.stages.size(); ++i) {
    const StageConfig& s = config.stages[i];
    std::string prefix = absl::StrCat("stages[", i, "]");
    Checker c(errors, absl::StrCat(prefix, ".", StageTypeName(s.type)));
    switch (s.type) {
      case StageType::kPretrain:
      case StageType::kSft:
      case StageType::kRewardModel:
        CheckTrain(s.train, c);
        break;
      case StageType::kGrpo:
        CheckGrpo(s.grpo, config.cluster, c);
        break;
      case StageType::kRejectionSampling:
        CheckRejectionSampling(s.rejection_sampling, c);
        break;
      case StageType::kEval:
        CheckEval(s.eval, c);
        break;
    }
    CheckInputs(config, i, by_name, graph, errors);
    CheckStageTemplate(config, s, Checker(errors, prefix));
  }
}

}  // namespace r1
