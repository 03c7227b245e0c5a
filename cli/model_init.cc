// `r1 model init`: a new model directory with random weights from a config.json and a seed (the
// tiny base a pipeline pretrains from scratch), loadable by transformers and by `r1 generate`.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/command.h"
#include "model/model_config.h"
#include "model/pretrained.h"
#include "model/threads.h"
#include "model/tokenizers/tokenizer.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 model init --config CONFIG.json --out DIR --seed N [--tokenizer SPEC] [--threads N]

Writes a Hugging Face model directory (config.json, model.safetensors, tokenizer files) holding a
Qwen2/Llama transformer with random weights: normal(0, initializer_range) for linear and embedding
weights, zero biases, unit norms; the same config and seed always give the same weights.

  --config FILE      a Hugging Face config.json (model_type "qwen2" or "llama")
  --out DIR          the directory to write (replaced atomically if it exists)
  --seed N           initialisation seed (default 0)
  --tokenizer SPEC   "byte", a tokenizer.json, or a directory with one; its files are written to
                     DIR, its vocab must fit in vocab_size, and it supplies eos/pad ids that the
                     config leaves unset
  --threads N        threads for tensor work (default: R1_THREADS, else the cores)

Exit status: 0 written; 1 a bad config, tokenizer or write failure (stderr says which); 2 usage.)";

int Fail(const std::string& message) {
  std::cerr << "r1 model init: " << message << "\n";
  return 1;
}

int RunModelInit(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"config", "out", "seed", "tokenizer", "threads"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  absl::StatusOr<int64_t> seed = args.ok() ? args->GetInt("seed", 0) : args.status();
  absl::StatusOr<int64_t> threads = args.ok() ? args->GetInt("threads", 0) : args.status();
  if (!seed.ok() || !threads.ok()) {
    std::cerr << "r1 model init: " << (seed.ok() ? threads.status() : seed.status()).message()
              << "\n"
              << kUsage << "\n";
    return 2;
  }
  if (!args->Has("config") || !args->Has("out") || !args->positional().empty()) {
    std::cerr << "r1 model init: --config and --out are required (and nothing else)\n"
              << kUsage << "\n";
    return 2;
  }
  ConfigureThreads(static_cast<int32_t>(*threads));
  absl::StatusOr<ModelConfig> config = LoadModelConfigFile(*args->Get("config"));
  if (!config.ok()) return Fail(std::string(config.status().message()));
  std::unique_ptr<Tokenizer> tokenizer;
  if (args->Has("tokenizer")) {
    auto tok = LoadTokenizer(*args->Get("tokenizer"));
    if (!tok.ok()) return Fail(std::string(tok.status().message()));
    tokenizer = std::move(*tok);
    if (tokenizer->vocab_size() > config->vocab_size) {
      return Fail(absl::StrCat("tokenizer has ", tokenizer->vocab_size(),
                               " ids but config vocab_size is ", config->vocab_size));
    }
    if (config->eos_token_ids.empty()) config->eos_token_ids = {tokenizer->eos_id()};
    if (!config->pad_token_id) config->pad_token_id = tokenizer->pad_id();
  }
  auto model = NewCausalLm(*config, static_cast<uint64_t>(*seed));
  if (!model.ok()) return Fail(std::string(model.status().message()));
  absl::Status saved = SaveCausalLm(*args->Get("out"), **model, tokenizer.get());
  if (!saved.ok()) return Fail(std::string(saved.message()));
  std::cerr << "r1 model init: wrote " << *args->Get("out") << " (" << NumParameters(*config)
            << " parameters)\n";
  return 0;
}

}  // namespace

R1_REGISTER_COMMAND(Command{"model init", "a new model directory with random weights", kUsage,
                            RunModelInit});

}  // namespace r1::cli
