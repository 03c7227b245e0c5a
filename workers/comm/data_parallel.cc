// Bucketed gradient averaging and parameter broadcast over a Communicator.
#include "workers/comm/data_parallel.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace r1 {
namespace {

// A contiguous tensor at least this large is a bucket of its own, carried in place: packing it
// would copy it twice (in and out of the flat buffer) for a collective whose per-message cost is
// already negligible at this size. Copies were most of the gap between r1's weight broadcast and
// a raw MPI_Bcast of the same bytes (bench/weight_sync_bench).
constexpr int64_t kInPlaceBytes = int64_t{1} << 20;

// Consecutive tensors of one dtype and device sent as one flat buffer.
struct Bucket {
  std::vector<at::Tensor> tensors;  // the destinations
  at::Tensor flat;                  // [sum of numels], or tensors[0] itself when it is alone
  at::Tensor wire;  // what the collective carries: `flat`, or its host copy (see Stage)
  int64_t bytes = 0;
  bool in_place = false;  // one large contiguous tensor; nothing joins it
};

// A backend that carries host tensors ("mpi", "single") gets a host copy of a device bucket (and
// the result is copied back after the collective); "nccl" carries device tensors themselves.
void Stage(Bucket& bucket, const Communicator& comm, bool with_values) {
  if (bucket.flat.is_cpu() || comm.backend() == "nccl") {
    bucket.wire = bucket.flat;
  } else {
    bucket.wire = with_values ? bucket.flat.cpu() : at::empty_like(bucket.flat, at::kCPU);
  }
}

std::vector<Bucket> MakeBuckets(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes) {
  std::vector<Bucket> buckets;
  for (const at::Tensor& t : tensors) {
    const int64_t bytes = t.nbytes();
    const bool in_place = bytes >= std::min(kInPlaceBytes, bucket_bytes) && t.is_contiguous();
    const bool fits = !in_place && !buckets.empty() && !buckets.back().in_place &&
                      buckets.back().tensors[0].scalar_type() == t.scalar_type() &&
                      buckets.back().tensors[0].device() == t.device() &&
                      buckets.back().bytes + bytes <= bucket_bytes;
    if (!fits) {
      buckets.emplace_back();
      buckets.back().in_place = in_place;
    }
    buckets.back().tensors.push_back(t);
    buckets.back().bytes += bytes;
  }
  return buckets;
}

// Fills bucket.flat; `with_values` = false only allocates (receivers of a broadcast).
void Pack(Bucket& bucket, bool with_values) {
  if (bucket.tensors.size() == 1 && bucket.tensors[0].is_contiguous()) {
    bucket.flat = bucket.tensors[0];
    return;
  }
  if (!with_values) {
    int64_t numel = 0;
    for (const at::Tensor& t : bucket.tensors) numel += t.numel();
    bucket.flat = at::empty({numel}, bucket.tensors[0].options());
    return;
  }
  std::vector<at::Tensor> pieces;
  for (const at::Tensor& t : bucket.tensors) pieces.push_back(t.reshape({-1}));
  bucket.flat = at::cat(pieces);
}

void Unpack(Bucket& bucket) {
  if (!bucket.wire.is_same(bucket.flat)) bucket.flat.copy_(bucket.wire);
  if (bucket.flat.is_same(bucket.tensors[0])) return;
  int64_t offset = 0;
  for (at::Tensor& t : bucket.tensors) {
    t.copy_(bucket.flat.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

// Starts one collective per bucket (start(flat) -> Work), waits for all, unpacks.
template <typename Start>
absl::StatusOr<CommStats> RunBuckets(std::vector<Bucket>& buckets, const Communicator& comm,
                                     bool pack_values, Start start) {
  CommStats stats;
  const absl::Time begin = absl::Now();
  std::vector<std::unique_ptr<Work>> works;
  try {
    at::NoGradGuard no_grad;
    for (Bucket& bucket : buckets) {
      Pack(bucket, pack_values);
      Stage(bucket, comm, pack_values);
      works.push_back(start(bucket.wire));
      stats.bytes += bucket.bytes;
      ++stats.collectives;
    }
    for (size_t i = 0; i < buckets.size(); ++i) {
      R1_RETURN_IF_ERROR(works[i]->Wait());
      Unpack(buckets[i]);
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("packing tensors for a collective failed: ", e.what_without_backtrace()));
  }
  stats.seconds = absl::ToDoubleSeconds(absl::Now() - begin);
  return stats;
}

absl::Status CheckBucketBytes(int64_t bucket_bytes) {
  if (bucket_bytes > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("bucket_bytes must be > 0, got ", bucket_bytes));
}

}  // namespace

absl::StatusOr<CommStats> AllReduceGradients(const std::vector<at::Tensor>& params,
                                             Communicator& comm, const GradSyncOptions& options) {
  R1_RETURN_IF_ERROR(CheckBucketBytes(options.bucket_bytes));
  std::vector<at::Tensor> grads;
  try {
    for (const at::Tensor& p : params) {
      if (!p.defined() || !p.requires_grad()) continue;
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.grad());
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("preparing gradients failed: ", e.what_without_backtrace()));
  }
  std::vector<Bucket> buckets = MakeBuckets(grads, options.bucket_bytes);
  AllReduceOptions reduce;
  reduce.op = ReduceOp::kAvg;
  reduce.timeout = options.timeout;
  return RunBuckets(buckets, comm, /*pack_values=*/true, [&](at::Tensor& flat) {
    std::vector<at::Tensor> tensors = {flat};
    return comm.AllReduce(tensors, reduce);
  });
}

absl::StatusOr<CommStats> BroadcastParameters(const std::vector<at::Tensor>& params,
                                              Communicator& comm, const ParamSyncOptions& options) {
  R1_RETURN_IF_ERROR(CheckBucketBytes(options.bucket_bytes));
  std::vector<at::Tensor> tensors;
  for (const at::Tensor& p : params) {
    if (p.defined()) tensors.push_back(p);
  }
  std::vector<Bucket> buckets = MakeBuckets(tensors, options.bucket_bytes);
  BroadcastOptions broadcast;
  broadcast.root = options.root;
  broadcast.timeout = options.timeout;
  return RunBuckets(buckets, comm, /*pack_values=*/comm.rank() == options.root,
                    [&](at::Tensor& flat) {
                      std::vector<at::Tensor> bucket_tensors = {flat};
                      return comm.Broadcast(bucket_tensors, broadcast);
                    });
}

}  // namespace r1
