// `r1 logprobs --model DIR`: per-token log-probs of given responses under a model, JSON lines in
// and out (what the trainer's reference model computes, for checking and scoring by hand).
#include "model/logprobs.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/command.h"
#include "model/pretrained.h"
#include "model/threads.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 logprobs --model DIR [--temperature T] [--batch-size N] [--threads N]
                  < IN.jsonl > OUT.jsonl

Reads JSON lines {"prompt_ids": [...], "response_ids": [...]} and writes for each
{"logprobs": [...]}: log p(response_ids[t] | prompt_ids, response_ids[<t]) under the model, one
number per response token. Blank lines are skipped.

  --model DIR        a Hugging Face model directory (config.json + safetensors)
  --temperature T    log-probs of softmax(logits / T), T > 0 (default 1; `r1 generate` reports
                     its samples' log-probs at its own temperature)
  --batch-size N     lines per forward pass (default 8)
  --threads N        threads for tensor work (default: R1_THREADS, else the cores)

Exit status: 0 all lines done; 1 a bad line (stderr names its line number; earlier batches were
written) or a model that does not load; 2 usage.)";

using json = nlohmann::json;

absl::StatusOr<std::vector<int32_t>> IdArray(const json& in, const std::string& key,
                                             int64_t vocab_size) {
  auto it = in.find(key);
  if (it == in.end() || !it->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("no \"", key, "\" array"));
  }
  std::vector<int32_t> ids;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& v = (*it)[i];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, "[", i, "] = ", v.dump(), ": not a token id in [0, ", vocab_size, ")"));
    }
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  return ids;
}

int RunLogprobs(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"model", "batch-size", "threads", "temperature"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  absl::StatusOr<int64_t> batch = args.ok() ? args->GetInt("batch-size", 8) : args.status();
  absl::StatusOr<int64_t> threads = args.ok() ? args->GetInt("threads", 0) : args.status();
  absl::StatusOr<double> temperature =
      args.ok() ? args->GetDouble("temperature", 1.0) : args.status();
  if (temperature.ok()) {
    const absl::Status valid = CheckLogprobTemperature(static_cast<float>(*temperature));
    if (!valid.ok()) temperature = valid;
  }
  if (!batch.ok() || !threads.ok() || !temperature.ok() || *batch < 1 || !args->Has("model") ||
      !args->positional().empty()) {
    std::cerr << "r1 logprobs: "
              << (!batch.ok()         ? batch.status().message()
                  : !threads.ok()     ? threads.status().message()
                  : !temperature.ok() ? temperature.status().message()
                                      : "--model is required; --batch-size must be >= 1")
              << "\n"
              << kUsage << "\n";
    return 2;
  }
  ConfigureThreads(static_cast<int32_t>(*threads));
  auto model = LoadCausalLm(*args->Get("model"));
  if (!model.ok()) {
    std::cerr << "r1 logprobs: " << model.status().message() << "\n";
    return 1;
  }
  const int64_t vocab = (*model)->config().vocab_size;
  std::vector<std::vector<int32_t>> prompts, responses;
  auto flush = [&]() -> bool {
    if (prompts.empty()) return true;
    auto lp = ComputeResponseLogProbsNoGrad(**model, prompts, responses,
                                            static_cast<float>(*temperature));
    if (!lp.ok()) {
      std::cerr << "r1 logprobs: " << lp.status().message() << "\n";
      return false;
    }
    const auto values = lp->logprobs.accessor<float, 2>();
    for (size_t i = 0; i < prompts.size(); ++i) {
      std::vector<float> row(responses[i].size());
      for (size_t t = 0; t < row.size(); ++t) row[t] = values[i][t];
      std::cout << json{{"logprobs", row}}.dump() << '\n';
    }
    prompts.clear();
    responses.clear();
    return true;
  };
  std::string line;
  int64_t line_number = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = absl::StrCat("r1 logprobs: stdin line ", line_number, ": ");
    json in = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (in.is_discarded() || !in.is_object()) {
      std::cout.flush();
      std::cerr << where << "not a JSON object\n";
      return 1;
    }
    auto prompt = IdArray(in, "prompt_ids", vocab);
    auto response = prompt.ok() ? IdArray(in, "response_ids", vocab) : prompt.status();
    if (prompt.ok() && prompt->empty()) prompt = absl::InvalidArgumentError("empty prompt_ids");
    if (!prompt.ok() || !response.ok()) {
      std::cout.flush();
      std::cerr << where << (prompt.ok() ? response.status() : prompt.status()).message() << "\n";
      return 1;
    }
    prompts.push_back(std::move(*prompt));
    responses.push_back(std::move(*response));
    if (static_cast<int64_t>(prompts.size()) >= *batch && !flush()) return 1;
  }
  if (!flush()) return 1;
  std::cout.flush();
  return std::cout ? 0 : 1;
}

}  // namespace

R1_REGISTER_COMMAND(Command{"logprobs", "per-token log-probs of responses under a model", kUsage,
                            RunLogprobs});

}  // namespace r1::cli
