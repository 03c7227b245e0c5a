// KvCache (see kv_cache.h).
#include "model/kv_cache.h"

namespace r1 {

KvCache::KvCache(int64_t num_layers, int64_t batch, int64_t num_kv_heads, int64_t capacity,
                 int64_t head_dim, const at::TensorOptions& options)
    : batch_(batch),
      capacity_(capacity),
      options_(at::TensorOptions().dtype(options.dtype()).device(options.device())) {
  for (int64_t i = 0; i < num_layers; ++i) {
    k_.push_back(torch::zeros({batch, num_kv_heads, capacity, head_dim}, options_));
    v_.push_back(torch::zeros({batch, num_kv_heads, capacity, head_dim}, options_));
  }
  mask_ = torch::zeros({batch, capacity}, options_.dtype(at::kLong));
}

at::Tensor KvCache::BeginStep(const at::Tensor& attention_mask) {
  TORCH_CHECK(attention_mask.dim() == 2 && attention_mask.size(0) == batch_,
              "KvCache: mask must be [", batch_, ", T], got ", attention_mask.sizes());
  const int64_t t = attention_mask.size(1);
  TORCH_CHECK(length_ + t <= capacity_, "KvCache: ", length_, " + ", t,
              " positions exceed the capacity ", capacity_);
  pending_ = t;
  mask_.narrow(1, length_, t).copy_(attention_mask);
  return mask_.narrow(1, 0, length_ + t);
}

std::pair<at::Tensor, at::Tensor> KvCache::Append(int64_t layer, const at::Tensor& k,
                                                  const at::Tensor& v) {
  TORCH_CHECK(k.size(2) == pending_, "KvCache: Append of ", k.size(2), " positions, step has ",
              pending_);
  at::NoGradGuard no_grad;
  k_[layer].narrow(2, length_, pending_).copy_(k);
  v_[layer].narrow(2, length_, pending_).copy_(v);
  return {k_[layer].narrow(2, 0, length_ + pending_), v_[layer].narrow(2, 0, length_ + pending_)};
}

void KvCache::EndStep() {
  length_ += pending_;
  pending_ = 0;
}

void KvCache::SelectRows(const at::Tensor& rows_any) {
  const at::Tensor rows = rows_any.to(mask_.device(), at::kLong);
  for (auto& k : k_) k = k.index_select(0, rows);
  for (auto& v : v_) v = v.index_select(0, rows);
  mask_ = mask_.index_select(0, rows);
  batch_ = rows.size(0);
}

}  // namespace r1
