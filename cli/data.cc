// `r1 data synth` writes a synthetic dataset (arithmetic, countdown, simple tasks, preference
// pairs) as JSONL; `r1 data check` reads a dataset file the way a stage would and reports counts.
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "cli/args.h"
#include "cli/command.h"
#include "nlohmann/json.hpp"
#include "pipeline/datasets.h"
#include "pipeline/jsonl.h"
#include "pipeline/synthetic.h"
#include "pipeline/synthetic_code.h"
#include "pipeline/synthetic_countdown.h"

namespace r1::cli {
namespace {

constexpr char kSynthUsage[] =
    R"(usage: r1 data synth --task TASK [--count N] [--seed S] [--out FILE] [task options]

Writes a deterministic synthetic dataset as JSON lines (the same seed gives the same file).
Examples are {"id","task","prompt","answer","solution"} (read back with format prompt_answer);
preference pairs are {"id","prompt","chosen","rejected"} (format preference).

  --task TASK        arithmetic | countdown | simple | preference | code
  --count N          number of records (default 1000)
  --seed S           random seed, a non-negative integer (default 0)
  --out FILE         written atomically; default: standard output

arithmetic (and the arithmetic half of preference):
  --min-digits N --max-digits N        digits per operand (default 1..3)
  --min-operands N --max-operands N    operands per problem (default 2..2)
  --operators OPS                      subset of "+-*" (default "+-*")
  --non-negative                       no negative intermediate results or answers
  --terse-percent P                    share of solutions without the digit-by-digit working
                                       (default 0)
countdown:
  --min-numbers N --max-numbers N      how many numbers are given (default 3..4)
  --min-number N --max-number N        range of each number (default 1..25)
  --min-target N --max-target N        range of the target (default 10..200)
  --countdown-operators OPS            subset of "+-*/" (default "+-*/")
  --use-all-numbers                    the target is built from every number
  --max-wrong-tries N                  the thinking first shows 0..N tries that miss the
                                       target, as a search would (default 0)
simple (and the simple half of preference):
  --tasks A,B,...                      echo,reverse,uppercase,successor,greeting,identity
  --assistant-name NAME                used by the identity task (default "r1")
preference:
  --arithmetic-percent P               share of pairs from arithmetic (default 50)
code (Python programs over stdin; "answer" holds the tests, for the code reward):
  --tasks A,B,...                      arith,linear,reverse,upper,reduce,repeat
  --max-value N                        test integers in 0..N (default 20)
  --min-tests N --max-tests N          tests per example (default 2..4)

Exit status: 0 written; 1 bad option value or write error (stderr says which); 2 usage.)";

constexpr char kCheckUsage[] =
    R"(usage: r1 data check FILE --format FORMAT [--skip-bad-lines] [field options]

Reads a JSONL dataset as a pipeline stage would and prints how many records it holds. Without
--skip-bad-lines the first bad record is an error naming FILE:LINE and the field.

  --format FORMAT       gsm8k | prompt_answer | chat | preference | code
  --skip-bad-lines      skip and count bad lines instead of failing
  --prompt-field F --answer-field F --id-field F --messages-field F
  --chosen-field F --rejected-field F     field names (defaults depend on the format)
  --show N              also print the first N records as JSON lines

Exit status: 0 the file reads; 1 a bad record or unreadable file; 2 usage.)";

// Reads an int option into `*out` (left unchanged when absent).
absl::Status IntOption(const ParsedArgs& args, const std::string& key, int32_t* out) {
  R1_ASSIGN_OR_RETURN(int64_t v, args.GetInt(key, *out));
  if (v < INT32_MIN || v > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("--", key, ": ", v, " is out of range"));
  }
  *out = static_cast<int32_t>(v);
  return absl::OkStatus();
}

absl::Status ArithmeticFromArgs(const ParsedArgs& args, ArithmeticOptions* o) {
  R1_RETURN_IF_ERROR(IntOption(args, "min-digits", &o->min_digits));
  R1_RETURN_IF_ERROR(IntOption(args, "max-digits", &o->max_digits));
  R1_RETURN_IF_ERROR(IntOption(args, "min-operands", &o->min_operands));
  R1_RETURN_IF_ERROR(IntOption(args, "max-operands", &o->max_operands));
  R1_RETURN_IF_ERROR(IntOption(args, "terse-percent", &o->terse_percent));
  o->operators = args.GetOr("operators", o->operators);
  if (args.Flag("non-negative")) o->allow_negative = false;
  return absl::OkStatus();
}

absl::Status CountdownFromArgs(const ParsedArgs& args, CountdownOptions* o) {
  R1_RETURN_IF_ERROR(IntOption(args, "min-numbers", &o->min_numbers));
  R1_RETURN_IF_ERROR(IntOption(args, "max-numbers", &o->max_numbers));
  R1_RETURN_IF_ERROR(IntOption(args, "min-number", &o->min_number));
  R1_RETURN_IF_ERROR(IntOption(args, "max-number", &o->max_number));
  R1_RETURN_IF_ERROR(IntOption(args, "min-target", &o->min_target));
  R1_RETURN_IF_ERROR(IntOption(args, "max-target", &o->max_target));
  R1_RETURN_IF_ERROR(IntOption(args, "max-wrong-tries", &o->max_wrong_tries));
  o->operators = args.GetOr("countdown-operators", o->operators);
  if (args.Flag("use-all-numbers")) o->use_all_numbers = true;
  return absl::OkStatus();
}

void SimpleFromArgs(const ParsedArgs& args, SimpleTaskOptions* o) {
  if (auto tasks = args.Get("tasks")) {
    o->tasks = absl::StrSplit(*tasks, ',', absl::SkipEmpty());
  }
  o->assistant_name = args.GetOr("assistant-name", o->assistant_name);
}

absl::StatusOr<std::vector<nlohmann::json>> Synthesize(const ParsedArgs& args) {
  auto task = args.Get("task");
  if (!task) return absl::InvalidArgumentError("--task is required");
  R1_ASSIGN_OR_RETURN(int64_t count, args.GetInt("count", 1000));
  R1_ASSIGN_OR_RETURN(int64_t seed, args.GetInt("seed", 0));
  if (seed < 0) return absl::InvalidArgumentError(absl::StrCat("--seed: ", seed, " is negative"));
  if (count < 0)
    return absl::InvalidArgumentError(absl::StrCat("--count: ", count, " is negative"));
  uint64_t useed = static_cast<uint64_t>(seed);
  std::vector<nlohmann::json> out;
  if (*task == "preference") {
    PreferenceOptions o;
    R1_RETURN_IF_ERROR(ArithmeticFromArgs(args, &o.arithmetic));
    SimpleFromArgs(args, &o.simple);
    R1_RETURN_IF_ERROR(IntOption(args, "arithmetic-percent", &o.arithmetic_percent));
    R1_ASSIGN_OR_RETURN(std::vector<PreferencePair> pairs,
                        GeneratePreferencePairs(o, useed, count));
    for (const PreferencePair& p : pairs) out.push_back(PreferencePairToJson(p));
    return out;
  }
  std::vector<Example> examples;
  if (*task == "arithmetic") {
    ArithmeticOptions o;
    R1_RETURN_IF_ERROR(ArithmeticFromArgs(args, &o));
    R1_ASSIGN_OR_RETURN(examples, GenerateArithmetic(o, useed, count));
  } else if (*task == "countdown") {
    CountdownOptions o;
    R1_RETURN_IF_ERROR(CountdownFromArgs(args, &o));
    R1_ASSIGN_OR_RETURN(examples, GenerateCountdown(o, useed, count));
  } else if (*task == "code") {
    CodeTaskOptions o;
    if (auto tasks = args.Get("tasks")) o.tasks = absl::StrSplit(*tasks, ',', absl::SkipEmpty());
    R1_RETURN_IF_ERROR(IntOption(args, "max-value", &o.max_value));
    R1_RETURN_IF_ERROR(IntOption(args, "min-tests", &o.min_tests));
    R1_RETURN_IF_ERROR(IntOption(args, "max-tests", &o.max_tests));
    R1_ASSIGN_OR_RETURN(examples, GenerateCodeTasks(o, useed, count));
  } else if (*task == "simple") {
    SimpleTaskOptions o;
    SimpleFromArgs(args, &o);
    R1_ASSIGN_OR_RETURN(examples, GenerateSimpleTasks(o, useed, count));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--task: unknown task \"", *task,
                     "\" (known: arithmetic, countdown, simple, preference, code)"));
  }
  for (const Example& ex : examples) out.push_back(ExampleToJson(ex));
  return out;
}

int RunSynth(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"task",
                        "count",
                        "seed",
                        "out",
                        "min-digits",
                        "max-digits",
                        "min-operands",
                        "max-operands",
                        "operators",
                        "min-numbers",
                        "max-numbers",
                        "min-number",
                        "max-number",
                        "min-target",
                        "max-target",
                        "countdown-operators",
                        "max-wrong-tries",
                        "tasks",
                        "assistant-name",
                        "arithmetic-percent",
                        "terse-percent",
                        "max-value",
                        "min-tests",
                        "max-tests"};
  spec.flag_options = {"non-negative", "use-all-numbers"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  if (!args.ok()) {
    std::cerr << "r1 data synth: " << args.status().message() << "\n" << kSynthUsage << "\n";
    return 2;
  }
  if (!args->positional().empty()) {
    std::cerr << "r1 data synth: unexpected argument \"" << args->positional()[0] << "\"\n"
              << kSynthUsage << "\n";
    return 2;
  }
  if (!args->Has("task")) {
    std::cerr << "r1 data synth: --task is required\n" << kSynthUsage << "\n";
    return 2;
  }
  absl::StatusOr<std::vector<nlohmann::json>> records = Synthesize(*args);
  if (!records.ok()) {
    std::cerr << "r1 data synth: " << records.status().message() << "\n";
    return 1;
  }
  if (auto path = args->Get("out")) {
    absl::Status s = WriteJsonlAtomic(*path, *records);
    if (!s.ok()) {
      std::cerr << "r1 data synth: " << s.message() << "\n";
      return 1;
    }
    std::cerr << "r1 data synth: wrote " << records->size() << " records to " << *path << "\n";
    return 0;
  }
  for (const nlohmann::json& r : *records) {
    absl::StatusOr<std::string> line = ToJsonlLine(r);
    if (!line.ok()) {
      std::cerr << "r1 data synth: " << line.status().message() << "\n";
      return 1;
    }
    std::cout << *line << "\n";
  }
  return std::cout.good() ? 0 : 1;
}

int RunCheck(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"format",         "prompt-field", "answer-field",   "id-field",
                        "messages-field", "chosen-field", "rejected-field", "show"};
  spec.flag_options = {"skip-bad-lines"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  if (!args.ok()) {
    std::cerr << "r1 data check: " << args.status().message() << "\n" << kCheckUsage << "\n";
    return 2;
  }
  if (args->positional().size() != 1 || !args->Has("format")) {
    std::cerr << "r1 data check: expected one FILE and --format\n" << kCheckUsage << "\n";
    return 2;
  }
  absl::StatusOr<DatasetFormat> format = ParseDatasetFormat(args->GetOr("format", ""));
  absl::StatusOr<int64_t> show = args->GetInt("show", 0);
  if (!format.ok() || !show.ok()) {
    std::cerr << "r1 data check: "
              << (format.ok() ? show.status().message() : format.status().message()) << "\n";
    return 2;
  }
  DatasetOptions options;
  options.jsonl.skip_bad_lines = args->Flag("skip-bad-lines");
  options.fields.prompt = args->GetOr("prompt-field", "");
  options.fields.answer = args->GetOr("answer-field", "");
  options.fields.id = args->GetOr("id-field", "");
  options.fields.messages = args->GetOr("messages-field", "");
  options.fields.chosen = args->GetOr("chosen-field", "");
  options.fields.rejected = args->GetOr("rejected-field", "");
  const std::string& path = args->positional()[0];
  JsonlReadStats stats;
  std::vector<nlohmann::json> shown;
  absl::Status status;
  if (*format == DatasetFormat::kPreference) {
    absl::StatusOr<std::vector<PreferencePair>> pairs = ReadPreferencePairs(path, options, &stats);
    status = pairs.status();
    for (int64_t i = 0; pairs.ok() && i < *show && i < static_cast<int64_t>(pairs->size()); ++i) {
      shown.push_back(PreferencePairToJson((*pairs)[static_cast<size_t>(i)]));
    }
  } else {
    absl::StatusOr<std::vector<Example>> examples = ReadExamples(path, *format, options, &stats);
    status = examples.status();
    for (int64_t i = 0; examples.ok() && i < *show && i < static_cast<int64_t>(examples->size());
         ++i) {
      shown.push_back(ExampleToJson((*examples)[static_cast<size_t>(i)]));
    }
  }
  if (!status.ok()) {
    std::cerr << "r1 data check: " << status.message() << "\n";
    return 1;
  }
  for (const nlohmann::json& j : shown) {
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  std::cout << path << ": " << DatasetFormatName(*format) << ", " << stats.Summary() << "\n";
  for (size_t i = 1; i < stats.skipped_messages.size(); ++i) {
    std::cout << "  skipped " << stats.skipped_messages[i] << "\n";
  }
  return 0;
}

}  // namespace

R1_REGISTER_COMMAND(Command{"data synth", "write a synthetic dataset (arithmetic, countdown, ...)",
                            kSynthUsage, RunSynth});
R1_REGISTER_COMMAND(Command{"data check", "read a JSONL dataset and report its records",
                            kCheckUsage, RunCheck});

}  // namespace r1::cli
