// Backend-independent parts of the Communicator: op names, finished Works, argument checks.
#include "workers/comm/communicator.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace r1 {
namespace {

class CompletedWorkImpl : public Work {
 public:
  explicit CompletedWorkImpl(absl::Status status) : status_(std::move(status)) {}
  absl::Status Wait() override { return status_; }
  bool IsCompleted() override { return true; }

 private:
  absl::Status status_;
};

bool IsAllReduceDtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
    case at::kDouble:
    case at::kBFloat16:
    case at::kHalf:
    case at::kInt:
    case at::kLong:
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::string_view ReduceOpName(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return "sum";
    case ReduceOp::kAvg:
      return "avg";
    case ReduceOp::kMax:
      return "max";
    case ReduceOp::kMin:
      return "min";
  }
  return "unknown";
}

std::unique_ptr<Work> CompletedWork(absl::Status status) {
  return std::make_unique<CompletedWorkImpl>(std::move(status));
}

absl::Status ValidateAllReduceTensors(const std::vector<at::Tensor>& tensors, ReduceOp op) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    const at::Tensor& t = tensors[i];
    if (!t.defined())
      return absl::InvalidArgumentError(absl::StrCat("tensor ", i, " is undefined"));
    if (!IsAllReduceDtype(t.scalar_type())) {
      return absl::InvalidArgumentError(
          absl::StrCat("all-reduce: tensor ", i, " has unsupported dtype ",
                       c10::toString(t.scalar_type()), " (want f32, f64, bf16, f16, i32, i64)"));
    }
    if (op == ReduceOp::kAvg && !at::isFloatingType(t.scalar_type())) {
      return absl::InvalidArgumentError(absl::StrCat("all-reduce avg: tensor ", i, " has dtype ",
                                                     c10::toString(t.scalar_type()),
                                                     "; avg is only defined for floating types"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateBroadcastTensors(const std::vector<at::Tensor>& tensors, int root, int size) {
  if (root < 0 || root >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("broadcast: root ", root, " is not a rank of a group of size ", size));
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) {
      return absl::InvalidArgumentError(absl::StrCat("broadcast: tensor ", i, " is undefined"));
    }
  }
  return absl::OkStatus();
}

}  // namespace r1
