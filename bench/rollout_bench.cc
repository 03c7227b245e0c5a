// rollout_bench: r1's rollout engine (model/generate.h) against a plain Python-eager PyTorch
// generation loop (bench/hf_eager_generate.py, Debian's python3-torch) on the same Hugging Face
// model directory: random Qwen2 models of two sizes, batch 1 and 64, the same prompt length, new
// tokens and top-p, the same thread count. Runs alternate (r1, Python, r1, Python, ...) and each
// side keeps its best, so that machine noise hits both alike. Then r1's continuous batching on
// requests of mixed lengths: 64 rows refilled from 128 requests, against what a 64-row limit
// means without it (two batches of 64, one after the other) and against all 128 at once.
// Not a test: prints a table and one summary line.
//
// usage: rollout_bench [--threads N] [--sizes 128,512] [--new-tokens 64] [--prompt-tokens 32]
//                      [--rounds 2] [--python bench/hf_eager_generate.py]
//                      [--interpreter /usr/bin/python3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "base/subprocess.h"
#include "bench/sized_model.h"
#include "model/generate.h"
#include "model/model_config.h"
#include "model/pretrained.h"
#include "model/threads.h"
#include "nlohmann/json.hpp"

namespace r1 {
namespace {

struct Args {
  int32_t threads = 1;
  std::vector<int64_t> sizes = {128, 512};
  int32_t new_tokens = 64;
  int32_t prompt_tokens = 32;
  int rounds = 2;
  std::string python = "bench/hf_eager_generate.py";
  // Debian's interpreter, the one python3-torch belongs to (a python3 earlier in PATH may not
  // have torch).
  std::string interpreter = "/usr/bin/python3";
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::vector<GenerationRequest> Requests(int64_t batch, int32_t prompt_tokens,
                                        std::vector<int32_t> new_tokens, int64_t vocab) {
  std::mt19937 rng(7);
  std::vector<GenerationRequest> out(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) {
    for (int32_t t = 0; t < prompt_tokens; ++t) {
      out[i].prompt_ids.push_back(static_cast<int32_t>(rng() % vocab));
    }
    out[i].sampling.temperature = 1.0f;
    out[i].sampling.top_p = 0.9f;
    out[i].sampling.seed = static_cast<uint64_t>(i);
    out[i].max_new_tokens = new_tokens[static_cast<size_t>(i) % new_tokens.size()];
  }
  return out;
}

// Generated tokens per second of one Generate call.
double R1TokensPerSecond(CausalLmImpl& model, const std::vector<GenerationRequest>& requests,
                         int32_t max_batch) {
  GenerateOptions options;
  options.max_batch = max_batch;
  const auto t0 = std::chrono::steady_clock::now();
  auto results = Generate(model, requests, options);
  const double s = Seconds(t0);
  if (!results.ok()) {
    std::fprintf(stderr, "rollout_bench: %s\n", std::string(results.status().message()).c_str());
    std::exit(1);
  }
  int64_t tokens = 0;
  for (const auto& r : *results) tokens += static_cast<int64_t>(r.token_ids.size());
  return static_cast<double>(tokens) / s;
}

// The Python-eager loop's tokens/s (its own timing, after loading the weights).
double PythonTokensPerSecond(const Args& args, const std::string& dir, int64_t batch) {
  const std::string log = JoinPath(dir, "python.out");
  std::remove(log.c_str());
  SpawnOptions options;
  options.log_file = log;
  options.env = {{"OPENBLAS_NUM_THREADS", std::to_string(args.threads)},
                 {"OMP_NUM_THREADS", std::to_string(args.threads)}};
  auto child = Subprocess::Spawn(
      {args.interpreter, args.python, dir, "--batch", std::to_string(batch), "--prompt-tokens",
       std::to_string(args.prompt_tokens), "--new-tokens", std::to_string(args.new_tokens),
       "--threads", std::to_string(args.threads)},
      options);
  auto exit = child.ok() ? child->Wait(absl::Minutes(30)) : child.status();
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!exit.ok() || !exit->exited || exit->exit_code != 0) {
    std::fprintf(stderr, "rollout_bench: %s failed (is python3-torch installed?):\n%s\n",
                 args.python.c_str(), text.c_str());
    std::exit(1);
  }
  const size_t line = text.rfind("{\"batch\"");
  return nlohmann::json::parse(text.substr(line == std::string::npos ? 0 : line))["tokens_per_s"]
      .get<double>();
}

bool ParseArgs(int argc, char** argv, Args& args) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    bool ok = true;
    if (flag == "--threads") {
      ok = absl::SimpleAtoi(value, &args.threads) && args.threads > 0;
    } else if (flag == "--new-tokens") {
      ok = absl::SimpleAtoi(value, &args.new_tokens) && args.new_tokens > 0;
    } else if (flag == "--prompt-tokens") {
      ok = absl::SimpleAtoi(value, &args.prompt_tokens) && args.prompt_tokens > 0;
    } else if (flag == "--rounds") {
      ok = absl::SimpleAtoi(value, &args.rounds) && args.rounds > 0;
    } else if (flag == "--python") {
      args.python = value;
    } else if (flag == "--interpreter") {
      args.interpreter = value;
    } else if (flag == "--sizes") {
      args.sizes.clear();
      for (absl::string_view s : absl::StrSplit(value, ',')) {
        int64_t h = 0;
        ok = ok && absl::SimpleAtoi(s, &h) && h >= 64 && h % 64 == 0;
        args.sizes.push_back(h);
      }
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "rollout_bench: bad %s %s\n", flag.c_str(), value.c_str());
      return false;
    }
  }
  return (argc - 1) % 2 == 0;
}

int Main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: rollout_bench [--threads N] [--sizes 128,512] [--new-tokens 64] "
                 "[--prompt-tokens 32] [--rounds 2] [--python bench/hf_eager_generate.py] "
                 "[--interpreter /usr/bin/python3]\n");
    return 2;
  }
  setenv("OPENBLAS_NUM_THREADS", std::to_string(args.threads).c_str(), 1);
  ConfigureThreads(args.threads);
  std::printf("threads %d, prompt %d tokens, %d new tokens, top-p 0.9, best of %d\n\n",
              args.threads, args.prompt_tokens, args.new_tokens, args.rounds);
  std::printf("%-8s %-6s %16s %16s %8s\n", "hidden", "batch", "r1 tokens/s", "python tokens/s",
              "ratio");
  std::string summary;
  for (int64_t hidden : args.sizes) {
    char scratch[] = "/tmp/r1_rollout_bench_XXXXXX";
    if (mkdtemp(scratch) == nullptr) {
      std::perror("rollout_bench: mkdtemp");
      return 1;
    }
    const std::string dir = JoinPath(scratch, "model");
    const ModelConfig config = SizedQwen2Config(hidden);
    auto made = NewCausalLm(config, 1);
    if (!made.ok() || !SaveCausalLm(dir, **made, nullptr).ok()) {
      std::fprintf(stderr, "rollout_bench: cannot write %s\n", dir.c_str());
      return 1;
    }
    auto model = LoadCausalLm(dir);  // what r1 runs: the same directory Python reads
    if (!model.ok()) {
      std::fprintf(stderr, "rollout_bench: %s\n", std::string(model.status().message()).c_str());
      return 1;
    }
    R1TokensPerSecond(**model, Requests(2, 4, {4}, config.vocab_size), 0);  // warm-up
    for (int64_t batch : {1, 64}) {
      const auto requests =
          Requests(batch, args.prompt_tokens, {args.new_tokens}, config.vocab_size);
      double r1 = 0, py = 0;
      for (int round = 0; round < args.rounds; ++round) {
        r1 = std::max(r1, R1TokensPerSecond(**model, requests, 0));
        py = std::max(py, PythonTokensPerSecond(args, dir, batch));
      }
      std::printf("%-8lld %-6lld %16.0f %16.0f %7.2fx\n", static_cast<long long>(hidden),
                  static_cast<long long>(batch), r1, py, r1 / py);
      std::fflush(stdout);
      if (batch == 64) absl::StrAppend(&summary, " hidden ", hidden, " batch 64 ", r1 / py, "x;");
    }
    // Continuous batching: 128 requests whose lengths spread from 1/8 to 2x new_tokens.
    std::vector<int32_t> lengths;
    for (int k = 1; k <= 16; ++k) lengths.push_back(std::max(1, args.new_tokens * k / 8));
    const auto mixed = Requests(128, args.prompt_tokens, lengths, config.vocab_size);
    const std::vector<GenerationRequest> first(mixed.begin(), mixed.begin() + 64);
    const std::vector<GenerationRequest> second(mixed.begin() + 64, mixed.end());
    double rows64 = 0, waves = 0, all = 0;
    for (int round = 0; round < args.rounds; ++round) {
      rows64 = std::max(rows64, R1TokensPerSecond(**model, mixed, 64));
      // Without continuous batching, 64 rows means two batches of 64, one after the other.
      const double a = 1.0 / R1TokensPerSecond(**model, first, 0);
      const double b = 1.0 / R1TokensPerSecond(**model, second, 0);
      waves = std::max(waves, 2.0 / (a + b));  // equal token counts: the harmonic mean
      all = std::max(all, R1TokensPerSecond(**model, mixed, 0));
    }
    std::printf("%-8lld 128 mixed-length requests, tokens/s: 64 rows refilled %.0f, two batches "
                "of 64 %.0f (%.2fx), all 128 at once %.0f (%.2fx)\n",
                static_cast<long long>(hidden), rows64, waves, rows64 / waves, all, rows64 / all);
    RemoveAll(scratch).IgnoreError();
  }
  std::printf("summary r1 / python-eager:%s\n", summary.c_str());
  return 0;
}

}  // namespace
}  // namespace r1

int main(int argc, char** argv) { return r1::Main(argc, argv); }
