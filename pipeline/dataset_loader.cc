// Dataset materialisation (see dataset_loader.h).
#include "pipeline/dataset_loader.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "pipeline/synthetic.h"
#include "pipeline/synthetic_code.h"
#include "pipeline/synthetic_countdown.h"

namespace r1 {
namespace {

// Reads generator options from a JSON object, refusing unknown keys and wrong types.
class OptionReader {
 public:
  OptionReader(const nlohmann::json& options, std::string path)
      : options_(options), path_(std::move(path)) {}

  template <typename T>
  void Get(const char* key, T* out) {
    if (!options_.is_object() || !options_.contains(key)) return;
    used_.push_back(key);
    const nlohmann::json& v = options_[key];
    bool ok;
    if constexpr (std::is_same_v<T, bool>) {
      ok = v.is_boolean();
    } else if constexpr (std::is_integral_v<T>) {
      ok = v.is_number_integer();
    } else if constexpr (std::is_same_v<T, std::string>) {
      ok = v.is_string();
    } else {
      ok = v.is_array();
    }
    if (!ok) {
      Fail(key, absl::StrCat("wrong type: ", v.dump()));
      return;
    }
    *out = v.get<T>();
  }

  absl::Status Finish() {
    if (!options_.is_null() && !options_.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": must be a mapping"));
    }
    if (options_.is_object()) {
      for (const auto& [key, value] : options_.items()) {
        if (std::find(used_.begin(), used_.end(), key) == used_.end()) {
          Fail(key, "unknown option");
        }
      }
    }
    return status_;
  }

 private:
  void Fail(const std::string& key, const std::string& why) {
    if (status_.ok())
      status_ = absl::InvalidArgumentError(absl::StrCat(path_, ".", key, ": ", why));
  }
  const nlohmann::json& options_;
  std::string path_;
  std::vector<std::string> used_;
  absl::Status status_;
};

void ReadArithmetic(OptionReader* r, ArithmeticOptions* o) {
  r->Get("min_digits", &o->min_digits);
  r->Get("max_digits", &o->max_digits);
  r->Get("min_operands", &o->min_operands);
  r->Get("max_operands", &o->max_operands);
  r->Get("operators", &o->operators);
  r->Get("allow_negative", &o->allow_negative);
  r->Get("terse_percent", &o->terse_percent);
}

void ReadSimple(OptionReader* r, SimpleTaskOptions* o) {
  r->Get("tasks", &o->tasks);
  r->Get("assistant_name", &o->assistant_name);
}

absl::StatusOr<LoadedDataset> Generate(const DatasetConfig& config) {
  const SyntheticSpec& spec = *config.synthetic;
  OptionReader reader(spec.options, absl::StrCat("datasets.", config.name, ".synthetic.options"));
  LoadedDataset out;
  if (spec.kind == "arithmetic") {
    ArithmeticOptions o;
    ReadArithmetic(&reader, &o);
    R1_RETURN_IF_ERROR(reader.Finish());
    R1_ASSIGN_OR_RETURN(out.examples, GenerateArithmetic(o, spec.seed, spec.count));
  } else if (spec.kind == "countdown") {
    CountdownOptions o;
    reader.Get("min_numbers", &o.min_numbers);
    reader.Get("max_numbers", &o.max_numbers);
    reader.Get("min_number", &o.min_number);
    reader.Get("max_number", &o.max_number);
    reader.Get("min_target", &o.min_target);
    reader.Get("max_target", &o.max_target);
    reader.Get("use_all_numbers", &o.use_all_numbers);
    reader.Get("operators", &o.operators);
    reader.Get("max_wrong_tries", &o.max_wrong_tries);
    R1_RETURN_IF_ERROR(reader.Finish());
    R1_ASSIGN_OR_RETURN(out.examples, GenerateCountdown(o, spec.seed, spec.count));
  } else if (spec.kind == "non_reasoning") {
    SimpleTaskOptions o;
    ReadSimple(&reader, &o);
    R1_RETURN_IF_ERROR(reader.Finish());
    R1_ASSIGN_OR_RETURN(out.examples, GenerateSimpleTasks(o, spec.seed, spec.count));
  } else if (spec.kind == "code") {
    CodeTaskOptions o;
    reader.Get("tasks", &o.tasks);
    reader.Get("max_value", &o.max_value);
    reader.Get("min_tests", &o.min_tests);
    reader.Get("max_tests", &o.max_tests);
    R1_RETURN_IF_ERROR(reader.Finish());
    R1_ASSIGN_OR_RETURN(out.examples, GenerateCodeTasks(o, spec.seed, spec.count));
  } else if (spec.kind == "preference") {
    PreferenceOptions o;
    reader.Get("arithmetic_percent", &o.arithmetic_percent);
    R1_RETURN_IF_ERROR(reader.Finish());
    R1_ASSIGN_OR_RETURN(out.pairs, GeneratePreferencePairs(o, spec.seed, spec.count));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("datasets.", config.name, ".synthetic.kind: unknown \"", spec.kind, "\""));
  }
  return out;
}

}  // namespace

absl::StatusOr<LoadedDataset> LoadDataset(const DatasetConfig& config) {
  LoadedDataset out;
  if (config.synthetic.has_value()) {
    R1_ASSIGN_OR_RETURN(out, Generate(config));
  } else {
    R1_ASSIGN_OR_RETURN(DatasetFormat format, ParseDatasetFormat(config.format));
    DatasetOptions options;
    options.max_examples = config.limit;
    if (format == DatasetFormat::kPreference) {
      R1_ASSIGN_OR_RETURN(out.pairs, ReadPreferencePairs(config.path, options));
    } else {
      R1_ASSIGN_OR_RETURN(out.examples, ReadExamples(config.path, format, options));
    }
  }
  if (config.limit > 0) {
    if (out.examples.size() > static_cast<size_t>(config.limit)) out.examples.resize(config.limit);
    if (out.pairs.size() > static_cast<size_t>(config.limit)) out.pairs.resize(config.limit);
  }
  return out;
}

absl::StatusOr<LoadedDataset> LoadStageDataset(const std::string& path) {
  LoadedDataset out;
  R1_ASSIGN_OR_RETURN(out.examples, ReadPromptAnswer(path));
  return out;
}

}  // namespace r1
