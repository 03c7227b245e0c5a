// The random Qwen2 models the benchmarks size by hidden: 4 layers, vocabulary 4096, heads of 32,
// half as many key/value heads, an MLP of 2.75 x hidden (rounded up to a multiple of 32).
#ifndef R1_BENCH_SIZED_MODEL_H_
#define R1_BENCH_SIZED_MODEL_H_

#include <algorithm>
#include <cstdint>

#include "model/model_config.h"

namespace r1 {

inline ModelConfig SizedQwen2Config(int64_t hidden) {
  ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 4096;
  c.hidden_size = hidden;
  c.head_dim = 32;
  c.num_attention_heads = std::max<int64_t>(2, hidden / 32);
  c.num_key_value_heads = c.num_attention_heads / 2;
  c.intermediate_size = (hidden * 11 / 4 + 31) / 32 * 32;
  c.num_hidden_layers = 4;
  c.qkv_bias = true;
  c.tie_word_embeddings = true;
  c.max_position_embeddings = 1024;
  return c;
}

}  // namespace r1

#endif  // R1_BENCH_SIZED_MODEL_H_
