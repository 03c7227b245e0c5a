// Unit tests of the Communicator's single-process backend, the factory, and the data-parallel
// helpers' bucketing (through a fake two-rank communicator).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "workers/comm/communicator.h"
#include "workers/comm/create_communicator.h"
#include "workers/comm/data_parallel.h"
#include "workers/comm/single_communicator.h"
#ifdef R1_HAVE_NCCL
#include "workers/comm/nccl_communicator.h"
#endif

namespace r1 {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<Communicator> Single() {
  CommOptions options;
  options.backend = CommBackend::kSingle;
  options.group_name = "trainer";
  absl::StatusOr<std::unique_ptr<Communicator>> comm = CreateCommunicator(options);
  EXPECT_TRUE(comm.ok()) << comm.status();
  return std::move(comm).value();
}

TEST(SingleCommunicatorTest, IdentityWorld) {
  std::unique_ptr<Communicator> comm = Single();
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);
  EXPECT_EQ(comm->backend(), "single");
  EXPECT_EQ(comm->group_name(), "trainer");
}

TEST(SingleCommunicatorTest, AllReduceIsIdentityForEveryOpAndDtype) {
  std::unique_ptr<Communicator> comm = Single();
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax, ReduceOp::kMin}) {
    std::vector<at::Tensor> tensors = {torch::tensor({1.5f, -2.0f, 3.0f}),
                                       torch::tensor({1.5f, -2.0f}).to(torch::kBFloat16)};
    if (op != ReduceOp::kAvg) tensors.push_back(torch::tensor({int64_t{7}, int64_t{-9}}));
    AllReduceOptions options;
    options.op = op;
    std::unique_ptr<Work> work = comm->AllReduce(tensors, options);
    EXPECT_TRUE(work->IsCompleted());
    ASSERT_TRUE(work->Wait().ok()) << ReduceOpName(op);
    EXPECT_TRUE(tensors[0].equal(torch::tensor({1.5f, -2.0f, 3.0f})));
    EXPECT_EQ(tensors[1].scalar_type(), torch::kBFloat16);
    EXPECT_EQ(tensors[1][0].item<float>(), 1.5f);
  }
}

TEST(SingleCommunicatorTest, AllReduceRejectsBadTensors) {
  std::unique_ptr<Communicator> comm = Single();
  std::vector<at::Tensor> flags = {torch::tensor({1.0f}), torch::tensor({true})};
  absl::Status st = comm->AllReduce(flags)->Wait();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("tensor 1"));
  EXPECT_THAT(st.message(), HasSubstr("Bool"));

  std::vector<at::Tensor> ints = {torch::tensor({int64_t{3}})};
  AllReduceOptions avg;
  avg.op = ReduceOp::kAvg;
  st = comm->AllReduce(ints, avg)->Wait();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("avg"));

  std::vector<at::Tensor> undefined = {at::Tensor()};
  EXPECT_EQ(comm->AllReduce(undefined)->Wait().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SingleCommunicatorTest, BroadcastBarrierAllGather) {
  std::unique_ptr<Communicator> comm = Single();
  std::vector<at::Tensor> tensors = {torch::tensor({4.0f, 5.0f})};
  EXPECT_TRUE(comm->Broadcast(tensors)->Wait().ok());
  EXPECT_TRUE(tensors[0].equal(torch::tensor({4.0f, 5.0f})));
  BroadcastOptions from_one;
  from_one.root = 1;
  absl::Status st = comm->Broadcast(tensors, from_one)->Wait();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("root 1"));

  EXPECT_TRUE(comm->Barrier()->Wait().ok());
  absl::StatusOr<std::vector<std::string>> gathered = comm->AllGatherBytes("host-a");
  ASSERT_TRUE(gathered.ok());
  EXPECT_THAT(*gathered, ::testing::ElementsAre("host-a"));
}

TEST(CreateCommunicatorTest, ParsesBackendNames) {
  EXPECT_EQ(*ParseCommBackend("mpi"), CommBackend::kMpi);
  EXPECT_EQ(*ParseCommBackend("nccl"), CommBackend::kNccl);
  EXPECT_EQ(CommBackendName(*ParseCommBackend("auto")), "auto");
  absl::StatusOr<CommBackend> bad = ParseCommBackend("gloo");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'gloo'"));
}

TEST(CreateCommunicatorTest, AutoPicksMpiOnlyUnderALauncher) {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) unsetenv(name);
  CommOptions options;  // auto, CPU tensors
  EXPECT_EQ(ResolveCommBackend(options), CommBackend::kSingle);
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  EXPECT_EQ(ResolveCommBackend(options), CommBackend::kMpi);
  unsetenv("OMPI_COMM_WORLD_SIZE");
  options.backend = CommBackend::kSingle;
  EXPECT_EQ(ResolveCommBackend(options), CommBackend::kSingle);

  options.color = -2;
  EXPECT_EQ(CreateCommunicator(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CreateCommunicatorTest, NcclWithoutGpuIsAClearError) {
  CommOptions options;
  options.backend = CommBackend::kNccl;
#ifdef R1_HAVE_NCCL
  if (CudaDeviceCount() > 0) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_EQ(CreateCommunicator(options).status().code(), absl::StatusCode::kFailedPrecondition);
  options.backend = CommBackend::kAuto;
  options.use_gpu = true;
  EXPECT_EQ(ResolveCommBackend(options), CommBackend::kSingle);
#else
  EXPECT_EQ(CreateCommunicator(options).status().code(), absl::StatusCode::kUnimplemented);
#endif
}

// A stand-in for a two-rank group: all-reduce adds 1 to every element (whatever the op) and
// broadcast writes 0, 1, 2, ... into each tensor; it records the flat sizes it was handed.
class FakeCommunicator : public Communicator {
 public:
  int rank() const override { return 1; }
  int size() const override { return 2; }
  absl::string_view backend() const override { return "fake"; }
  const std::string& group_name() const override { return name_; }
  std::unique_ptr<Work> AllReduce(std::vector<at::Tensor>& tensors,
                                  const AllReduceOptions& options) override {
    last_op = options.op;
    for (at::Tensor& t : tensors) {
      numels.push_back(t.numel());
      t.add_(1);
    }
    return CompletedWork(absl::OkStatus());
  }
  std::unique_ptr<Work> Broadcast(std::vector<at::Tensor>& tensors,
                                  const BroadcastOptions& options) override {
    for (at::Tensor& t : tensors) {
      numels.push_back(t.numel());
      buffers.push_back(t.data_ptr());
      t.copy_(torch::arange(t.numel(), t.options()).view(t.sizes()));
    }
    return CompletedWork(absl::OkStatus());
  }
  std::unique_ptr<Work> Barrier(const BarrierOptions&) override {
    return CompletedWork(absl::OkStatus());
  }
  absl::StatusOr<std::vector<std::string>> AllGatherBytes(const std::string&,
                                                          const AllGatherOptions&) override {
    return absl::UnimplementedError("fake");
  }

  std::vector<int64_t> numels;
  std::vector<const void*> buffers;  // what each broadcast carried
  ReduceOp last_op = ReduceOp::kSum;

 private:
  std::string name_ = "fake";
};

TEST(DataParallelTest, GradientsAreBucketedInOrderAndWrittenBack) {
  at::Tensor a = torch::zeros({2, 3}, torch::requires_grad());  // 24 bytes
  at::Tensor b = torch::zeros({2}, torch::requires_grad());     // 8 bytes
  at::Tensor frozen = torch::zeros({4});                        // no grad: skipped
  at::Tensor c = torch::zeros({3}, torch::requires_grad());     // grad left undefined
  a.mutable_grad() = torch::arange(6, torch::kFloat).view({2, 3});
  b.mutable_grad() = torch::tensor({10.0f, 20.0f});

  FakeCommunicator comm;
  GradSyncOptions options;
  options.bucket_bytes = 32;  // a and b share one bucket; c goes alone
  absl::StatusOr<CommStats> stats = AllReduceGradients({a, b, frozen, c}, comm, options);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(comm.last_op, ReduceOp::kAvg);
  EXPECT_THAT(comm.numels, ::testing::ElementsAre(8, 3));
  EXPECT_EQ(stats->collectives, 2);
  EXPECT_EQ(stats->bytes, 24 + 8 + 12);
  EXPECT_TRUE(a.grad().equal(torch::arange(1, 7, torch::kFloat).view({2, 3})));
  EXPECT_TRUE(b.grad().equal(torch::tensor({11.0f, 21.0f})));
  EXPECT_TRUE(c.grad().equal(torch::ones({3})));  // zeros + 1
  EXPECT_FALSE(frozen.grad().defined());
}

TEST(DataParallelTest, BroadcastParametersUnpacksBucketsIntoParameters) {
  at::Tensor w = torch::full({2, 2}, 9.0f, torch::requires_grad());
  at::Tensor bias = torch::full({3}, 9.0f, torch::requires_grad());
  at::Tensor steps = torch::full({2}, int64_t{9});  // another dtype: its own bucket

  FakeCommunicator comm;  // rank 1 receives from root 0
  absl::StatusOr<CommStats> stats = BroadcastParameters({w, bias, steps}, comm);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_THAT(comm.numels, ::testing::ElementsAre(7, 2));
  EXPECT_TRUE(w.equal(torch::tensor({0.0f, 1.0f, 2.0f, 3.0f}).view({2, 2})));
  EXPECT_TRUE(bias.equal(torch::tensor({4.0f, 5.0f, 6.0f})));
  EXPECT_TRUE(steps.equal(torch::tensor({int64_t{0}, int64_t{1}})));
  EXPECT_EQ(stats->bytes, 16 + 12 + 16);

  ParamSyncOptions bad;
  bad.bucket_bytes = 0;
  EXPECT_EQ(BroadcastParameters({w}, comm, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A contiguous tensor of 1 MiB or more travels in place, as a bucket of its own: no copy into a
// flat buffer and back. Smaller tensors on either side still share buckets.
TEST(DataParallelTest, LargeTensorsAreBroadcastInPlace) {
  at::Tensor small_a = torch::full({3}, 9.0f);
  at::Tensor large = torch::full({512, 512}, 9.0f);  // 1 MiB
  at::Tensor small_b = torch::full({2}, 9.0f);
  at::Tensor small_c = torch::full({2}, 9.0f);
  at::Tensor strided = torch::full({512, 1024}, 9.0f).t();  // 2 MiB, not contiguous: packed
  FakeCommunicator comm;
  absl::StatusOr<CommStats> stats =
      BroadcastParameters({small_a, large, small_b, small_c, strided}, comm);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_THAT(comm.numels, ::testing::ElementsAre(3, 512 * 512, 4 + 512 * 1024));
  EXPECT_EQ(comm.buffers[1], large.data_ptr());
  EXPECT_NE(comm.buffers[2], strided.data_ptr());
  EXPECT_TRUE(large.view({-1}).equal(torch::arange(512 * 512, torch::kFloat)));
  EXPECT_TRUE(small_c.equal(torch::tensor({2.0f, 3.0f})));
  EXPECT_EQ(stats->collectives, 3);
}

TEST(DataParallelTest, SingleRankLeavesGradientsUnchanged) {
  torch::manual_seed(0);
  torch::nn::Linear model(3, 2);
  torch::Tensor loss = model->forward(torch::ones({4, 3})).sum();
  loss.backward();
  at::Tensor before = model->weight.grad().clone();
  std::unique_ptr<Communicator> comm = Single();
  absl::StatusOr<CommStats> stats = AllReduceGradients(model->parameters(), *comm);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(model->weight.grad().equal(before));
  EXPECT_EQ(stats->bytes, (6 + 2) * 4);
  EXPECT_EQ(stats->collectives, 1);
}

}  // namespace
}  // namespace r1
