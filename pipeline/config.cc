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
#include "pipeline/config_fields.h"

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
  if (kind == "code") return "code";
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

std::string StageTemplate(const PipelineConfig& config, const StageConfig& stage) {
  if (!stage.prompt_template.empty()) return stage.prompt_template;
  for (const DatasetRef& ref : stage.inputs.datasets) {
    if (ref.kind != DatasetRef::Kind::kDataset) continue;
    const DatasetConfig* d = config.FindDataset(ref.value);
    if (d != nullptr && !d->prompt_template.empty()) return d->prompt_template;
  }
  return "plain";
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

// Bounds of a free-form value: a YAML alias may name its own anchor ("&a {b: *a}", a cycle) or be
// repeated to expand exponentially ("billion laughs"); both are refused rather than recursing or
// allocating without end. Real generator options and reward params are a few levels and values.
constexpr int kMaxFreeFormDepth = 32;
constexpr int64_t kMaxFreeFormValues = 100000;

// Free-form values (generator options, reward params) as JSON. Quoted scalars stay strings;
// plain ones become integers, numbers or booleans when they read as such. Returns false with
// `*problem` set when `n` is deeper than kMaxFreeFormDepth or holds more than kMaxFreeFormValues
// values in all (`*values` counts them).
bool YamlToJson(const YAML::Node& n, int depth, int64_t* values, nlohmann::json* out,
                std::string* problem) {
  if (depth > kMaxFreeFormDepth) {
    *problem = absl::StrCat("nested deeper than ", kMaxFreeFormDepth,
                            " levels (an alias of its own anchor?)");
    return false;
  }
  if (++*values > kMaxFreeFormValues) {
    *problem = absl::StrCat("holds more than ", kMaxFreeFormValues,
                            " values (aliases expanding without end?)");
    return false;
  }
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      *out = nlohmann::json::object();
      for (const auto& kv : n) {
        if (!YamlToJson(kv.second, depth + 1, values, &(*out)[kv.first.Scalar()], problem)) {
          return false;
        }
      }
      return true;
    }
    case YAML::NodeType::Sequence: {
      *out = nlohmann::json::array();
      for (const auto& item : n) {
        out->push_back(nullptr);
        if (!YamlToJson(item, depth + 1, values, &out->back(), problem)) return false;
      }
      return true;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      int64_t i;
      double d;
      if (n.Tag() == "!") {  // quoted
        *out = s;
      } else if (absl::SimpleAtoi(s, &i)) {
        *out = i;
      } else if (absl::SimpleAtod(s, &d) && std::isfinite(d)) {
        *out = d;
      } else {
        const std::string lower = absl::AsciiStrToLower(s);
        if (lower == "true") {
          *out = true;
        } else if (lower == "false") {
          *out = false;
        } else {
          *out = s;
        }
      }
      return true;
    }
    default:
      *out = nullptr;
      return true;
  }
}

bool ParseValue(const YAML::Node& n, const std::string& path, nlohmann::json* out, Errors* errors) {
  if (!n.IsMap()) {
    AddError(errors, path, absl::StrCat("expected a mapping, got ", Describe(n)));
    return false;
  }
  int64_t values = 0;
  std::string problem;
  if (!YamlToJson(n, 0, &values, out, &problem)) {
    *out = nlohmann::json::object();
    AddError(errors, path, problem);
    return false;
  }
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

template <typename S>
void ParseSection(MapReader r, const ConfigParseOptions& options, S* section);

// Reads the keys ConfigFields (config_fields.h) declares from one mapping; absent keys keep the
// struct's defaults.
class FieldParser {
 public:
  template <typename T>
  using Ref = T&;

  FieldParser(MapReader& reader, const ConfigParseOptions& options)
      : r_(reader), options_(options) {}

  template <typename T>
  void Field(const char* key, T& member, const FieldCheck&) {
    r_.Get(key, &member);
  }
  // A model reference other than the base model; "" is no model, as if the key were absent.
  void Field(const char* key, std::optional<ModelRef>& member, const FieldCheck&) {
    std::string text;
    if (r_.Get(key, &text) && !text.empty()) {
      member = MakeModelRef(text, options_, /*base_allowed=*/false);
    }
  }
  void Pair(const char* key, const char* names, double& first, double& second, const FieldCheck&) {
    YAML::Node n = r_.Take(key);
    if (!Present(n)) return;
    if (!n.IsSequence() || n.size() != 2) {
      AddError(r_.errors(), r_.KeyPath(key),
               absl::StrCat("expected a list of two numbers [", names, "], got ", Describe(n)));
      return;
    }
    ParseValue(n[0], r_.KeyPath(absl::StrCat(key, "[0]")), &first, r_.errors());
    ParseValue(n[1], r_.KeyPath(absl::StrCat(key, "[1]")), &second, r_.errors());
  }
  template <typename S>
  void Section(const char* key, S& member) {
    YAML::Node n = r_.Take(key);
    if (Present(n)) ParseSection(MapReader(n, r_.KeyPath(key), r_.errors()), options_, &member);
  }
  // A given list replaces the default one.
  template <typename S>
  void List(const char* key, std::vector<S>& member) {
    YAML::Node n = r_.Take(key);
    if (!Present(n)) return;
    if (!n.IsSequence()) {
      AddError(r_.errors(), r_.KeyPath(key),
               absl::StrCat("expected a list of ", key, ", got ", Describe(n)));
      return;
    }
    member.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      S item;
      ParseSection(MapReader(n[i], absl::StrCat(r_.KeyPath(key), "[", i, "]"), r_.errors()),
                   options_, &item);
      member.push_back(std::move(item));
    }
  }

 private:
  MapReader& r_;
  const ConfigParseOptions& options_;
};

// Parses one mapping into `section` by its ConfigFields; unknown keys are errors.
template <typename S>
void ParseSection(MapReader r, const ConfigParseOptions& options, S* section) {
  FieldParser parser(r, options);
  ConfigFields(*section, parser);
  r.Finish();
}

void ParseModel(MapReader r, const ConfigParseOptions& options, BaseModelConfig* m) {
  if (r.Get("path", &m->path)) m->path = ResolvePath(m->path, options);
  YAML::Node arch = r.Take("architecture");
  if (Present(arch)) {
    m->architecture.emplace();
    ParseSection(MapReader(arch, r.KeyPath("architecture"), r.errors()), options,
                 &*m->architecture);
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

void ParseDataset(MapReader r, const ConfigParseOptions& options, DatasetConfig* d) {
  if (r.Get("path", &d->path)) d->path = ResolvePath(d->path, options);
  r.Get("format", &d->format);
  r.Get("limit", &d->limit);
  r.Get("template", &d->prompt_template);
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
  r.Get("template", &s->prompt_template);
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
        ParseSection(std::move(pr), options, &s->train);
        break;
      case StageType::kGrpo:
        ParseSection(std::move(pr), options, &s->grpo);
        break;
      case StageType::kRejectionSampling:
        ParseSection(std::move(pr), options, &s->rejection_sampling);
        break;
      case StageType::kEval:
        ParseSection(std::move(pr), options, &s->eval);
        break;
    }
  }
  r.Finish();
}

void ParseTop(const YAML::Node& root, const ConfigParseOptions& options, PipelineConfig* c,
              Errors* errors) {
  MapReader r(root, "", errors);
  ParseSection(MapReader(r.Take("run"), "run", errors), options, &c->run);
  ParseModel(MapReader(r.Take("model"), "model", errors), options, &c->model);
  ParseSection(MapReader(r.Take("cluster"), "cluster", errors), options, &c->cluster);
  for (std::string* path : {&c->cluster.tls.cert, &c->cluster.tls.key, &c->cluster.tls.ca}) {
    *path = ResolvePath(*path, options);
  }
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

// Writes the keys ConfigFields (config_fields.h) declares, in its order, into the current mapping.
class FieldEmitter {
 public:
  template <typename T>
  using Ref = const T&;

  explicit FieldEmitter(YAML::Emitter& out) : out_(out) {}

  template <typename T>
  void Field(const char* key, const T& value, const FieldCheck&) {
    Kv(out_, key, value);
  }
  void Field(const char* key, const std::optional<ModelRef>& model, const FieldCheck&) {
    if (model) Kv(out_, key, model->ToString());
  }
  void Field(const char* key, const nlohmann::json& value, const FieldCheck&) {
    if (value.empty()) return;
    out_ << YAML::Key << key << YAML::Value;
    EmitJson(out_, value);
  }
  void Pair(const char* key, const char*, double first, double second, const FieldCheck&) {
    out_ << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq
         << RoundTripDouble(first) << RoundTripDouble(second) << YAML::EndSeq;
  }
  template <typename S>
  void Section(const char* key, const S& member) {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginMap;
    ConfigFields(member, *this);
    out_ << YAML::EndMap;
  }
  template <typename S>
  void List(const char* key, const std::vector<S>& items) {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (const S& item : items) {
      out_ << YAML::BeginMap;
      ConfigFields(item, *this);
      out_ << YAML::EndMap;
    }
    out_ << YAML::EndSeq;
  }

 private:
  YAML::Emitter& out_;
};

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
  if (!s.prompt_template.empty()) Kv(out, "template", s.prompt_template);
  FieldEmitter fields(out);
  const std::string params_key(StageTypeName(s.type));
  switch (s.type) {
    case StageType::kPretrain:
    case StageType::kSft:
    case StageType::kRewardModel:
      fields.Section(params_key.c_str(), s.train);
      break;
    case StageType::kGrpo:
      fields.Section(params_key.c_str(), s.grpo);
      break;
    case StageType::kRejectionSampling:
      fields.Section(params_key.c_str(), s.rejection_sampling);
      break;
    case StageType::kEval:
      fields.Section(params_key.c_str(), s.eval);
      break;
  }
  out << YAML::EndMap;
}

}  // namespace

std::string ConfigToYaml(const PipelineConfig& c) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;

  FieldEmitter fields(out);
  RunConfig run = c.run;
  run.run_dir = ResolvedRunDir(c);  // written resolved
  fields.Section("run", run);

  out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  if (!c.model.path.empty()) Kv(out, "path", c.model.path);
  if (c.model.architecture) fields.Section("architecture", *c.model.architecture);
  Kv(out, "tokenizer", c.model.tokenizer);
  Kv(out, "dtype", c.model.dtype);
  out << YAML::EndMap;

  fields.Section("cluster", c.cluster);

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
    if (!d.prompt_template.empty()) Kv(out, "template", d.prompt_template);
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
