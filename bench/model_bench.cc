// model_bench: throughput of the transformer on this machine. Forward+backward tokens/s and the
// achieved GFLOP/s next to a plain torch::mm peak measured in the same run (same device and dtype),
// then generation tokens/s at batch 1, 16 and 64. Not a test: prints a table, then one summary
// line. --device cuda[:N] runs it on a GPU (scripts/gpu-check.sh runs cpu and cuda side by side).
//
// usage: model_bench [--config CONFIG.json | --hidden H] [--threads N] [--seq T] [--batch B]
//                    [--new-tokens N] [--device cpu|cuda[:N]] [--dtype float32|bfloat16]
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/sized_model.h"
#include "model/generate.h"
#include "model/model_config.h"
#include "model/pretrained.h"
#include "model/threads.h"

namespace r1 {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Waits for the device's queued work (a no-op on the CPU), so that wall time measures it.
void Sync(const at::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// GFLOP/s of an n x n x n matmul in `options`, best of `reps`.
double MatmulPeak(int64_t n, int reps, const at::TensorOptions& options) {
  auto a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  torch::mm(a, b);  // warm-up
  Sync(options.device());
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto c = torch::mm(a, b);
    Sync(options.device());
    best = std::min(best, Seconds(t0));
  }
  return 2.0 * n * n * n / best / 1e9;
}

ModelConfig DefaultConfig() {
  ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 4096;
  c.hidden_size = 256;
  c.intermediate_size = 704;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 4;
  c.head_dim = 32;
  c.tie_word_embeddings = true;
  return c;
}

int Main(int argc, char** argv) {
  std::string config_path;
  int64_t hidden = 0;  // > 0: a bench/sized_model.h model of this hidden size
  int32_t threads = 0;
  int64_t seq = 128, batch = 8, new_tokens = 32;
  std::string device_name = "cpu", dtype_name = "float32";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--config")
      config_path = value;
    else if (key == "--hidden")
      hidden = std::atoll(value.c_str());
    else if (key == "--threads")
      threads = std::atoi(value.c_str());
    else if (key == "--seq")
      seq = std::atoll(value.c_str());
    else if (key == "--batch")
      batch = std::atoll(value.c_str());
    else if (key == "--new-tokens")
      new_tokens = std::atoll(value.c_str());
    else if (key == "--device")
      device_name = value;
    else if (key == "--dtype")
      dtype_name = value;
    else {
      std::fprintf(stderr, "model_bench: unknown option %s\n", key.c_str());
      return 2;
    }
  }
  const std::string thread_plan = ToString(ConfigureThreads(threads));
  ModelConfig config = hidden > 0 ? SizedQwen2Config(hidden) : DefaultConfig();
  if (!config_path.empty()) {
    auto loaded = LoadModelConfigFile(config_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "model_bench: %s\n", std::string(loaded.status().message()).c_str());
      return 1;
    }
    config = *loaded;
  }
  auto model_or = NewCausalLm(config, 0);
  if (!model_or.ok()) return 1;
  CausalLm model = *model_or;
  if (dtype_name != "float32" && dtype_name != "bfloat16") {
    std::fprintf(stderr, "model_bench: --dtype must be float32 or bfloat16\n");
    return 2;
  }
  const at::ScalarType dtype = dtype_name == "bfloat16" ? at::kBFloat16 : at::kFloat;
  at::Device device(at::kCPU);
  try {
    device = at::Device(device_name);
    if (device.is_cuda() && !torch::cuda::is_available()) {
      std::fprintf(stderr, "model_bench: --device %s: no CUDA device visible to this LibTorch\n",
                   device_name.c_str());
      return 1;
    }
    if (device.is_cuda() && !device.has_index()) device = at::Device(at::kCUDA, 0);
    model->to(device, dtype);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "model_bench: --device %s: %s\n", device_name.c_str(), e.what());
    return 1;
  }
  const at::TensorOptions options = at::TensorOptions().device(device).dtype(dtype);
  const int64_t c = config.hidden_size, v = config.vocab_size, l = config.num_hidden_layers;
  // Matmul parameters: everything but the embedding lookup, plus the LM head's V x C.
  const int64_t matmul_params =
      NumParameters(config) - v * c * (config.tie_word_embeddings ? 0 : 1);
  std::printf("model: %s, %lld layers, C=%lld, V=%lld, %lld parameters; %s %s; %s\n",
              config.model_type.c_str(), (long long)l, (long long)c, (long long)v,
              (long long)NumParameters(config), device.str().c_str(), dtype_name.c_str(),
              thread_plan.c_str());

  const int64_t peak_n = device.is_cuda() ? 8192 : 1024;
  const double peak = MatmulPeak(peak_n, 5, options);

  // Forward + backward (cross-entropy over every position), batch x seq tokens per step.
  torch::optim::SGD opt(model->parameters(), 0.0);
  auto ids = torch::randint(v, {batch, seq}, torch::kInt64).to(device);
  auto mask = torch::ones({batch, seq}, torch::kInt64).to(device);
  auto pos = PositionIdsFromMask(mask);
  auto step = [&]() {
    opt.zero_grad();
    auto logits = model->Forward(ids, mask, pos);
    auto loss = torch::nn::functional::cross_entropy(
        logits.reshape({batch * seq, v}).to(at::kFloat), ids.reshape({batch * seq}));
    loss.backward();
  };
  step();  // warm-up
  Sync(device);
  const int iters = 5;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) step();
  Sync(device);
  const double train_s = Seconds(t0) / iters;
  const double train_tokens = double(batch * seq) / train_s;
  // 6 N per token for the matmuls, plus attention scores and values: 12 L T C per token.
  const double flops_per_token = 6.0 * matmul_params + 12.0 * l * seq * c;
  const double train_gflops = flops_per_token * train_tokens / 1e9;

  std::printf("\n%-34s %14s %12s\n", "benchmark", "tokens/s", "GFLOP/s");
  std::printf("%-34s %14s %12.1f\n",
              ("torch::mm " + std::to_string(peak_n) + "^3 " + dtype_name + " (peak)").c_str(), "-",
              peak);
  std::printf("%-34s %14.0f %12.1f  (%.0f%% of peak)\n",
              ("forward+backward B=" + std::to_string(batch) + " T=" + std::to_string(seq)).c_str(),
              train_tokens, train_gflops, 100.0 * train_gflops / peak);

  double generate_64 = 0;
  for (int64_t b : {1, 16, 64}) {
    std::vector<GenerationRequest> requests(b);
    for (int64_t i = 0; i < b; ++i) {
      requests[i].prompt_ids.assign(16, static_cast<int32_t>((i * 7) % v));
      requests[i].sampling.seed = static_cast<uint64_t>(i);
      requests[i].max_new_tokens = static_cast<int32_t>(new_tokens);
    }
    auto g0 = std::chrono::steady_clock::now();
    auto results = Generate(*model, requests);
    const double gen_s = Seconds(g0);
    if (!results.ok()) return 1;
    int64_t generated = 0;
    for (const auto& r : *results) generated += static_cast<int64_t>(r.token_ids.size());
    // Decoding costs ~2 N per token (attention over the short context ignored).
    const double tps = generated / gen_s;
    if (b == 64) generate_64 = tps;
    std::printf("%-34s %14.0f %12.1f\n",
                ("generate batch " + std::to_string(b) + " (16 + " + std::to_string(new_tokens) +
                 " tokens)")
                    .c_str(),
                tps, 2.0 * matmul_params * tps / 1e9);
  }
  std::printf(
      "summary %s %s: train %.0f tokens/s (%.0f%% of matmul peak), generate batch 64 %.0f "
      "tokens/s\n",
      device.str().c_str(), dtype_name.c_str(), train_tokens, 100.0 * train_gflops / peak,
      generate_64);
  return 0;
}

}  // namespace
}  // namespace r1

int main(int argc, char** argv) { return r1::Main(argc, argv); }
