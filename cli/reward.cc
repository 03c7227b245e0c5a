// `r1 reward`: scores JSON-lines responses on stdin with a weighted mix of rule rewards and writes
// one JSON line per input with the total, each part, the extracted answer and, from rewards that
// give them (code), counts and details.
#include "stages/rewards/reward.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/args.h"
#include "cli/command.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 reward --reward NAME[,NAME...] [--weights W[,W...]] [--target-language SCRIPT]
                 [--params REWARD.KEY=VALUE[,REWARD.KEY=VALUE...]]

Scores responses with rule rewards. Reads JSON lines from stdin:
  {"response": "...", "reference": "...", "prompt": "...", "response_length_tokens": N}
("reference", "prompt" and "response_length_tokens" are optional; for the code reward, "tests":
[{"input": "...", "output": "..."}, ...] or {"test_code": "..."} may stand for the reference) and
writes one line per input:
  {"reward": TOTAL, "parts": {"NAME": VALUE, ...}, "extracted": "ANSWER"}
plus "counts" {"NAME/KEY": N} and "details" {"NAME": ...} from rewards that report them (code:
tests by outcome, and each test's outcome). TOTAL is the weighted sum of the parts; each part is
reported unweighted. Blank lines are skipped.

  --reward NAME,...      rewards to apply: accuracy, code, format, language, overlong
  --weights W,...        one weight per reward (default 1 each)
  --target-language S    language reward's target script(s): latin, han, cyrillic, arabic, ...
                         ("han,hiragana,katakana" for several); default: the prompt's main script
  --params R.K=V,...     reward params; V is JSON (number, true/false) or a plain string, e.g.
                         overlong.max_length=4096,overlong.cache_length=512,overlong.unit=chars,
                         format.think_only=0.5,accuracy.require_tag=true,
                         code.mode=all,code.timeout_s=5,code.allow_unisolated=true

Rewards: accuracy (1 if the final answer — <answer>, \boxed{}, "#### N", "the answer is N", last
number — equals the reference's, else 0), format (1 for "<think>...</think><answer>...</answer>"),
language (share of chain-of-thought words in the target script), overlong (DAPO soft penalty in
[-1, 0]; needs max_length and cache_length; unit tokens needs "response_length_tokens"),
code (the share of tests the answer's last fenced code block passes, run in a sandbox: Python 3,
or C++ for ```cpp; params mode=fraction|all, timeout_s, memory_mb, max_output_bytes,
max_parallel, allow_unisolated, ...; outcomes passed, wrong_answer, timeout, runtime_error,
compile_error, sandbox_error).

Exit status: 0 ok; 1 a bad input line (the error names the line) or a failing reward; 2 usage,
unknown reward name or bad params.)";

// "a.b=1,c.d=x,y" -> {"a.b=1", "c.d=x,y"}: a piece without '=' belongs to the previous value.
std::vector<std::string> SplitParams(const std::string& text) {
  std::vector<std::string> items;
  for (absl::string_view piece : absl::StrSplit(text, ',')) {
    if (piece.find('=') == absl::string_view::npos && !items.empty()) {
      absl::StrAppend(&items.back(), ",", piece);
    } else {
      items.emplace_back(piece);
    }
  }
  return items;
}

// Applies --target-language and --params to `specs`. InvalidArgument naming the bad item.
absl::Status ApplyParams(const ParsedArgs& args, std::vector<RewardSpec>* specs) {
  auto find = [&](absl::string_view name) -> RewardSpec* {
    for (RewardSpec& spec : *specs) {
      if (spec.name == name) return &spec;
    }
    return nullptr;
  };
  if (auto target = args.Get("target-language")) {
    RewardSpec* language = find("language");
    if (language == nullptr) {
      return absl::InvalidArgumentError(
          "--target-language given but \"language\" is not in --reward");
    }
    language->params["target"] = *target;
  }
  if (auto params = args.Get("params")) {
    for (const std::string& item : SplitParams(*params)) {
      size_t eq = item.find('=');
      size_t dot = item.find('.');
      if (eq == std::string::npos || dot == std::string::npos || dot > eq || dot == 0 ||
          dot + 1 == eq) {
        return absl::InvalidArgumentError(
            absl::StrCat("--params: \"", item, "\" is not REWARD.KEY=VALUE"));
      }
      std::string name = item.substr(0, dot);
      RewardSpec* spec = find(name);
      if (spec == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("--params: \"", item, "\": reward \"", name, "\" is not in --reward"));
      }
      std::string text = item.substr(eq + 1);
      nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (value.is_discarded()) value = text;
      spec->params[item.substr(dot + 1, eq - dot - 1)] = value;
    }
  }
  return absl::OkStatus();
}

// Scores one input line. InvalidArgument for bad JSON or fields; a reward's error otherwise.
absl::StatusOr<nlohmann::ordered_json> ScoreLine(const std::string& line,
                                                 const CompositeReward& reward) {
  nlohmann::json in = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!in.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  auto text_field = [&](const char* key, bool required) -> absl::StatusOr<std::string> {
    auto it = in.find(key);
    if (it == in.end()) {
      if (required) return absl::InvalidArgumentError(absl::StrCat("missing \"", key, "\""));
      return std::string();
    }
    if (!it->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be a string"));
    }
    return it->get<std::string>();
  };
  absl::StatusOr<std::string> response = text_field("response", true);
  if (!response.ok()) return response.status();
  absl::StatusOr<std::string> reference = text_field("reference", false);
  if (!reference.ok()) return reference.status();
  if (auto tests = in.find("tests"); tests != in.end()) {
    // The code reward's tests, carried as its reference (stages/rewards/code.h).
    if (in.contains("reference")) {
      return absl::InvalidArgumentError("give \"tests\" or \"reference\", not both");
    }
    if (!tests->is_array() && !tests->is_object()) {
      return absl::InvalidArgumentError("\"tests\" must be an array or an object");
    }
    *reference = tests->dump();
  }
  absl::StatusOr<std::string> prompt = text_field("prompt", false);
  if (!prompt.ok()) return prompt.status();
  RewardInput input;
  input.response = *response;
  input.reference = *reference;
  input.prompt = *prompt;
  if (auto it = in.find("response_length_tokens"); it != in.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return absl::InvalidArgumentError("\"response_length_tokens\" must be an integer >= 0");
    }
    input.response_length_tokens = it->get<int64_t>();
  }
  absl::StatusOr<RewardBreakdown> scored = reward.Compute(input);
  if (!scored.ok()) return scored.status();
  nlohmann::ordered_json out;
  out["reward"] = scored->total;
  out["parts"] = nlohmann::ordered_json::object();
  for (const auto& [name, value] : scored->parts) out["parts"][name] = value;
  out["extracted"] = scored->extracted;
  if (!scored->counts.empty()) {
    out["counts"] = nlohmann::ordered_json::object();
    for (const auto& [key, count] : scored->counts) out["counts"][key] = count;
  }
  if (!scored->details.empty()) {
    out["details"] = nlohmann::ordered_json::parse(scored->details.dump());
  }
  return out;
}

int RunReward(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"reward", "weights", "target-language", "params"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  if (!args.ok()) {
    std::fprintf(stderr, "r1 reward: %s\n%s\n", std::string(args.status().message()).c_str(),
                 kUsage);
    return 2;
  }
  if (!args->positional().empty() || !args->Get("reward")) {
    std::fprintf(stderr, "r1 reward: %s\n%s\n",
                 args->positional().empty() ? "--reward is required" : "unexpected argument",
                 kUsage);
    return 2;
  }
  absl::StatusOr<std::vector<RewardSpec>> specs =
      ParseRewardSpecs(*args->Get("reward"), args->GetOr("weights", ""));
  absl::Status applied = specs.ok() ? ApplyParams(*args, &*specs) : specs.status();
  absl::StatusOr<CompositeReward> reward =
      applied.ok() ? CompositeReward::Create(*specs, BuiltinRewardRegistry())
                   : absl::StatusOr<CompositeReward>(applied);
  if (!reward.ok()) {
    std::fprintf(stderr, "r1 reward: %s\n", std::string(reward.status().message()).c_str());
    return 2;
  }

  std::string line;
  int64_t line_number = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<nlohmann::ordered_json> out = ScoreLine(line, *reward);
    if (!out.ok()) {
      std::fflush(stdout);
      std::fprintf(stderr, "r1 reward: stdin line %lld: %s\n", static_cast<long long>(line_number),
                   std::string(out.status().message()).c_str());
      return 1;
    }
    std::string text = out->dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

R1_REGISTER_COMMAND(Command{"reward", "score JSON-lines responses with rule rewards", kUsage,
                            RunReward});

}  // namespace r1::cli
