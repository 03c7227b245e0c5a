// KvCache: the keys and values of every layer for the positions a batch has seen so far, plus
// their attention mask, so that decoding one token costs one position of work (prefill, then one
// token at a time; see CausalLmImpl::Forward).
//
// Shapes: B = batch rows, Hkv = key/value heads, S = capacity (positions), D = head_dim.
#ifndef R1_MODEL_KV_CACHE_H_
#define R1_MODEL_KV_CACHE_H_

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace r1 {

// Not thread-safe. Preallocated: memory is num_layers * 2 * B * Hkv * S * D elements of the
// dtype of `options`, on its device (the model's options(): see CausalLmImpl::NewCache); the mask
// is i64 on that device. Keys/values given to Append are converted to that dtype.
class KvCache {
 public:
  KvCache(int64_t num_layers, int64_t batch, int64_t num_kv_heads, int64_t capacity,
          int64_t head_dim, const at::TensorOptions& options = at::TensorOptions(at::kFloat));

  // dtype and device of the keys and values.
  at::TensorOptions options() const { return options_; }

  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }
  // Positions stored so far (same for every row; padding positions count).
  int64_t length() const { return length_; }

  // Starts a step of T new positions with their mask [B, T] (1 = token, 0 = pad; any device).
  // Returns the mask of every position so far including the new ones: [B, length() + T] i64 on
  // the cache's device.
  // Throws (c10::Error) if length() + T > capacity() or the batch size differs.
  at::Tensor BeginStep(const at::Tensor& attention_mask);

  // Stores layer `layer`'s new keys/values k, v: [B, Hkv, T, D] at positions [length(), +T) and
  // returns views of all of them: [B, Hkv, length() + T, D]. Call once per layer per step.
  std::pair<at::Tensor, at::Tensor> Append(int64_t layer, const at::Tensor& k, const at::Tensor& v);

  // Ends the step begun by BeginStep: length() grows by T.
  void EndStep();

  // Keeps only the batch rows in `rows` (i64 [B'] indices, any device), e.g. to drop finished
  // sequences. Copies the whole cache: a rollout engine calls it rarely (generate.cc).
  void SelectRows(const at::Tensor& rows);

  // Continuous batching (generate.cc): a row whose sequence finished is reused for another.
  // Places row `src_row` of `src` (its positions [0, src.length())) into this cache's row `row`
  // at positions [length() - src.length(), length()), masking every other position of the row.
  // Requires no step in progress, the same layers, heads and head_dim, and src.length() <=
  // length(). Keys and values are position-independent once stored (rotary positions are applied
  // before Append), so a sequence may sit at any positions of the cache.
  void PlaceRow(int64_t row, const KvCache& src, int64_t src_row);

  // Moves every row's positions by `delta`: > 0 inserts `delta` masked positions at the front
  // (length() + delta <= capacity()), < 0 drops the first -delta positions, which the caller
  // guarantees are masked in every row it still needs. Copies the stored positions once.
  void ShiftPositions(int64_t delta);

 private:
  int64_t batch_;
  int64_t capacity_;
  int64_t length_ = 0;
  int64_t pending_ = 0;  // T of the step in progress
  at::TensorOptions options_;
  std::vector<at::Tensor> k_;  // per layer [B, Hkv, S, D] in options_
  std::vector<at::Tensor> v_;
  at::Tensor mask_;  // [B, S] i64 on options_'s device
};

}  // namespace r1

#endif  // R1_MODEL_KV_CACHE_H_
