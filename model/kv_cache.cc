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

void KvCache::PlaceRow(int64_t row, const KvCache& src, int64_t src_row) {
  TORCH_CHECK(pending_ == 0 && src.pending_ == 0, "KvCache: PlaceRow during a step");
  TORCH_CHECK(src.k_.size() == k_.size(), "KvCache: PlaceRow from a cache of ", src.k_.size(),
              " layers into one of ", k_.size());
  TORCH_CHECK(row >= 0 && row < batch_ && src_row >= 0 && src_row < src.batch_,
              "KvCache: PlaceRow row ", src_row, " -> ", row, " out of range");
  const int64_t n = src.length_;
  TORCH_CHECK(n <= length_, "KvCache: PlaceRow of ", n, " positions into ", length_);
  at::NoGradGuard no_grad;
  const int64_t begin = length_ - n;
  for (size_t layer = 0; layer < k_.size(); ++layer) {
    k_[layer][row].narrow(1, begin, n).copy_(src.k_[layer][src_row].narrow(1, 0, n));
    v_[layer][row].narrow(1, begin, n).copy_(src.v_[layer][src_row].narrow(1, 0, n));
  }
  mask_[row].zero_();
  mask_[row].narrow(0, begin, n).copy_(src.mask_[src_row].narrow(0, 0, n));
}

void KvCache::ShiftPositions(int64_t delta) {
  TORCH_CHECK(pending_ == 0, "KvCache: ShiftPositions during a step");
  TORCH_CHECK(length_ + delta >= 0 && length_ + delta <= capacity_, "KvCache: shifting ",
              length_, " positions by ", delta, " leaves the capacity ", capacity_);
  if (delta == 0) return;
  at::NoGradGuard no_grad;
  // Source and destination ranges overlap: copy through a clone of the source.
  const int64_t from = delta > 0 ? 0 : -delta;
  const int64_t to = delta > 0 ? delta : 0;
  const int64_t n = length_ - from;
  auto move = [&](at::Tensor& t, int64_t dim) {
    if (n > 0) t.narrow(dim, to, n).copy_(t.narrow(dim, from, n).clone());
  };
  for (auto& k : k_) move(k, 2);
  for (auto& v : v_) move(v, 2);
  move(mask_, 1);
  length_ += delta;
  if (delta > 0) mask_.narrow(1, 0, delta).zero_();
  mask_.narrow(1, length_, capacity_ - length_).zero_();
}

}  // namespace r1
