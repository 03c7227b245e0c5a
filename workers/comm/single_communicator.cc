// The "single" backend: rank 0 of 1; collectives check their arguments and return at once.
#include "workers/comm/single_communicator.h"

#include <utility>

namespace r1 {
namespace {

class SingleCommunicator : public Communicator {
 public:
  explicit SingleCommunicator(std::string group_name) : group_name_(std::move(group_name)) {}

  int rank() const override { return 0; }
  int size() const override { return 1; }
  absl::string_view backend() const override { return "single"; }
  const std::string& group_name() const override { return group_name_; }

  std::unique_ptr<Work> AllReduce(std::vector<at::Tensor>& tensors,
                                  const AllReduceOptions& options) override {
    // Sum, avg, max and min of one value are the value itself.
    return CompletedWork(ValidateAllReduceTensors(tensors, options.op));
  }

  std::unique_ptr<Work> Broadcast(std::vector<at::Tensor>& tensors,
                                  const BroadcastOptions& options) override {
    return CompletedWork(ValidateBroadcastTensors(tensors, options.root, 1));
  }

  std::unique_ptr<Work> Barrier(const BarrierOptions& /*options*/) override {
    return CompletedWork(absl::OkStatus());
  }

  absl::StatusOr<std::vector<std::string>> AllGatherBytes(
      const std::string& mine, const AllGatherOptions& /*options*/) override {
    return std::vector<std::string>{mine};
  }

 private:
  std::string group_name_;
};

}  // namespace

std::unique_ptr<Communicator> CreateSingleCommunicator(std::string group_name) {
  return std::make_unique<SingleCommunicator>(std::move(group_name));
}

}  // namespace r1
