// `r1 generate --model DIR`: batched sampling from a model, JSON lines in and out; each line may
// override the sampling options (and its seed), so a line's output depends only on that line.
#include "model/generate.h"

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/args.h"
#include "cli/command.h"
#include "model/pretrained.h"
#include "model/threads.h"
#include "model/tokenizers/tokenizer.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 generate --model DIR [options] < IN.jsonl > OUT.jsonl

Reads JSON lines {"prompt": "text"} or {"prompt_ids": [...]} and writes for each
{"text": "...", "ids": [...], "logprobs": [...], "finish_reason": "stop" | "length"}: the
generated token ids (a final stop token included), their text (when the model directory has a
tokenizer) and log p of each under softmax(logits / temperature) (the model's own when greedy;
top-k/top-p not applied). Blank lines are skipped. A line may override any
sampling option: "temperature", "top_k", "top_p", "max_new_tokens", "seed", "stop" (a list of ids
or token texts). Line n (counting from 0) without its own "seed" uses --seed + n.

  --model DIR             a Hugging Face model directory; its tokenizer encodes "prompt" text
  --temperature T         0 = greedy (default 1)
  --top-k K               keep the K most likely tokens; 0 = all (default 0)
  --top-p P               nucleus sampling threshold in (0, 1] (default 1)
  --max-new-tokens N      (default 256)
  --seed S                (default 0)
  --stop A,B,...          extra stop tokens: ids or special-token texts ("</answer>")
  --ignore-eos            do not stop at the model's end-of-sequence ids
  --batch-size N          lines generated together (default 16)
  --threads N             threads for tensor work (default: R1_THREADS, else the cores)

Exit status: 0 all lines done; 1 a bad line (stderr names its line number; earlier batches were
written) or a model that does not load; 2 usage.)";

using json = nlohmann::json;

struct Context {
  const Tokenizer* tokenizer = nullptr;  // null when the model directory has none
  int64_t vocab_size = 0;
};

// One stop token: an integer id or a token text known to the tokenizer.
absl::StatusOr<int32_t> StopId(const json& v, const Context& ctx) {
  int64_t id = -1;
  if (v.is_number_integer()) {
    id = v.get<int64_t>();
  } else if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (!absl::SimpleAtoi(s, &id)) {
      std::optional<int32_t> known = ctx.tokenizer ? ctx.tokenizer->TokenId(s) : std::nullopt;
      if (!known)
        return absl::InvalidArgumentError(
            absl::StrCat("stop token ", v.dump(), ": not an id or a known token"));
      id = *known;
    }
  }
  if (id < 0 || id >= ctx.vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("stop token ", v.dump(), ": not a token id in [0, ", ctx.vocab_size, ")"));
  }
  return static_cast<int32_t>(id);
}

// Applies a line's fields to `req` (which holds the command-line defaults).
absl::Status ParseLine(const json& in, const Context& ctx, GenerationRequest& req) {
  if (!in.is_object()) return absl::InvalidArgumentError("not a JSON object");
  if (in.contains("prompt_ids")) {
    const json& ids = in["prompt_ids"];
    if (!ids.is_array()) return absl::InvalidArgumentError("\"prompt_ids\" is not an array");
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!ids[i].is_number_integer() || ids[i].get<int64_t>() < 0 ||
          ids[i].get<int64_t>() >= ctx.vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat("prompt_ids[", i, "] = ", ids[i].dump(),
                                                       ": not a token id in [0, ", ctx.vocab_size,
                                                       ")"));
      }
      req.prompt_ids.push_back(static_cast<int32_t>(ids[i].get<int64_t>()));
    }
  } else if (in.contains("prompt") && in["prompt"].is_string()) {
    if (ctx.tokenizer == nullptr) {
      return absl::FailedPreconditionError(
          "\"prompt\" text needs a tokenizer in the model directory (or give \"prompt_ids\")");
    }
    auto ids = ctx.tokenizer->Encode(in["prompt"].get<std::string>());
    if (!ids.ok()) return ids.status();
    req.prompt_ids = std::move(*ids);
  } else {
    return absl::InvalidArgumentError("expected a \"prompt\" string or a \"prompt_ids\" array");
  }
  if (req.prompt_ids.empty()) return absl::InvalidArgumentError("empty prompt");
  for (const char* key : {"temperature", "top_p"}) {
    if (!in.contains(key)) continue;
    if (!in[key].is_number()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", key, "\" = ", in[key].dump(), ": not a number"));
    }
    (std::string(key) == "temperature" ? req.sampling.temperature : req.sampling.top_p) =
        in[key].get<float>();
  }
  for (const char* key : {"top_k", "max_new_tokens", "seed"}) {
    if (!in.contains(key)) continue;
    if (!in[key].is_number_integer() || in[key].get<int64_t>() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", key, "\" = ", in[key].dump(), ": not a non-negative integer"));
    }
    const std::string k = key;
    if (k == "top_k") req.sampling.top_k = in[key].get<int32_t>();
    if (k == "max_new_tokens") req.max_new_tokens = in[key].get<int32_t>();
    if (k == "seed") req.sampling.seed = in[key].get<uint64_t>();
  }
  if (in.contains("stop")) {
    if (!in["stop"].is_array()) return absl::InvalidArgumentError("\"stop\" is not a list");
    for (const json& v : in["stop"]) {
      absl::StatusOr<int32_t> id = StopId(v, ctx);
      if (!id.ok()) return id.status();
      req.stop_token_ids.push_back(*id);
    }
  }
  if (!(req.sampling.temperature >= 0.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("temperature ", req.sampling.temperature, " < 0"));
  }
  if (!(req.sampling.top_p > 0.0f && req.sampling.top_p <= 1.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_p ", req.sampling.top_p, " outside (0, 1]"));
  }
  return absl::OkStatus();
}

int RunGenerate(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"model",          "temperature", "top-k",      "top-p",  "seed",
                        "max-new-tokens", "stop",        "batch-size", "threads"};
  spec.flag_options = {"ignore-eos"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  GenerationRequest defaults;
  absl::Status usage = args.status();
  int64_t batch = 16, threads = 0, seed = 0;
  if (usage.ok()) {
    auto temperature = args->GetDouble("temperature", 1.0);
    auto top_k = args->GetInt("top-k", 0);
    auto top_p = args->GetDouble("top-p", 1.0);
    auto max_new = args->GetInt("max-new-tokens", 256);
    auto seed_arg = args->GetInt("seed", 0);
    auto batch_arg = args->GetInt("batch-size", 16);
    auto threads_arg = args->GetInt("threads", 0);
    for (const absl::Status& s :
         {temperature.status(), top_k.status(), top_p.status(), max_new.status(), seed_arg.status(),
          batch_arg.status(), threads_arg.status()}) {
      if (usage.ok()) usage = s;
    }
    if (usage.ok()) {
      defaults.sampling.temperature = static_cast<float>(*temperature);
      defaults.sampling.top_k = static_cast<int32_t>(*top_k);
      defaults.sampling.top_p = static_cast<float>(*top_p);
      defaults.max_new_tokens = static_cast<int32_t>(*max_new);
      seed = *seed_arg;
      batch = *batch_arg;
      threads = *threads_arg;
      if (!args->Has("model")) usage = absl::InvalidArgumentError("--model is required");
      if (batch < 1) usage = absl::InvalidArgumentError("--batch-size must be >= 1");
      if (!args->positional().empty()) {
        usage = absl::InvalidArgumentError(
            absl::StrCat("unexpected argument \"", args->positional()[0], "\""));
      }
    }
  }
  if (!usage.ok()) {
    std::cerr << "r1 generate: " << usage.message() << "\n" << kUsage << "\n";
    return 2;
  }
  ConfigureThreads(static_cast<int32_t>(threads));
  const std::string dir = *args->Get("model");
  auto model = LoadCausalLm(dir);
  if (!model.ok()) {
    std::cerr << "r1 generate: " << model.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<Tokenizer> tokenizer;
  if (auto tok = LoadTokenizer(dir); tok.ok()) tokenizer = std::move(*tok);
  Context ctx{tokenizer.get(), (*model)->config().vocab_size};
  if (!args->Flag("ignore-eos")) {
    for (int64_t id : (*model)->config().eos_token_ids) {
      defaults.stop_token_ids.push_back(static_cast<int32_t>(id));
    }
    if (tokenizer && tokenizer->eos_id() < ctx.vocab_size) {
      defaults.stop_token_ids.push_back(tokenizer->eos_id());
    }
  }
  if (auto stop = args->Get("stop")) {
    for (absl::string_view s : absl::StrSplit(*stop, ',', absl::SkipEmpty())) {
      auto id = StopId(json(std::string(s)), ctx);
      if (!id.ok()) {
        std::cerr << "r1 generate: --stop: " << id.status().message() << "\n";
        return 2;
      }
      defaults.stop_token_ids.push_back(*id);
    }
  }

  std::vector<GenerationRequest> requests;
  auto flush = [&]() -> bool {
    if (requests.empty()) return true;
    auto results = Generate(**model, requests);
    if (!results.ok()) {
      std::cerr << "r1 generate: " << results.status().message() << "\n";
      return false;
    }
    for (const GenerationResult& r : *results) {
      json out;
      if (tokenizer) {
        auto text = tokenizer->Decode(r.token_ids);
        out["text"] = text.ok() ? ToValidUtf8(*text) : "";
      }
      out["ids"] = r.token_ids;
      out["logprobs"] = r.logprobs;
      out["finish_reason"] = FinishReasonName(r.finish_reason);
      std::cout << out.dump() << '\n';
    }
    std::cout.flush();
    requests.clear();
    return true;
  };
  std::string line;
  int64_t line_number = 0, request_number = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    GenerationRequest req = defaults;
    req.sampling.seed = static_cast<uint64_t>(seed + request_number++);
    json in = json::parse(line, nullptr, /*allow_exceptions=*/false);
    absl::Status parsed =
        in.is_discarded() ? absl::InvalidArgumentError("invalid JSON") : ParseLine(in, ctx, req);
    if (!parsed.ok()) {
      std::cout.flush();
      std::cerr << "r1 generate: stdin line " << line_number << ": " << parsed.message() << "\n";
      return 1;
    }
    requests.push_back(std::move(req));
    if (static_cast<int64_t>(requests.size()) >= batch && !flush()) return 1;
  }
  if (!flush()) return 1;
  return std::cout ? 0 : 1;
}

}  // namespace

R1_REGISTER_COMMAND(Command{"generate", "sample from a model (JSON lines)", kUsage, RunGenerate});

}  // namespace r1::cli
