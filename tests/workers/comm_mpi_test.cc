// Multi-process tests of the "mpi" Communicator backend. Run normally (by CTest), each test
// launches `mpirun -np N <this binary> --gtest_filter=<the test>` with R1_COMM_MPI_CHILD=1 and
// passes if the job exits 0 within a time bound; the children (one per rank) do the real checks
// and exit non-zero on any failure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/workers/comm_mpi_launcher.h"
#include "workers/comm/communicator.h"
#include "workers/comm/create_communicator.h"
#include "workers/comm/data_parallel.h"

namespace r1 {
namespace {

// Bound on any collective that should succeed: a bug makes a test fail, never hang.
constexpr absl::Duration kOpTimeout = absl::Seconds(20);
// Bound on one whole mpirun job.
constexpr absl::Duration kJobLimit = absl::Seconds(60);

std::unique_ptr<Communicator> MakeComm(int color = kWorldColor, std::string name = "world") {
  CommOptions options;  // auto must pick mpi under mpirun
  options.color = color;
  options.group_name = std::move(name);
  absl::StatusOr<std::unique_ptr<Communicator>> comm = CreateCommunicator(options);
  if (!comm.ok()) {
    ADD_FAILURE() << comm.status();
    return nullptr;
  }
  EXPECT_EQ((*comm)->backend(), "mpi");
  return std::move(comm).value();
}

absl::Status WaitOn(std::unique_ptr<Work> work) { return work->Wait(); }

AllReduceOptions Reduce(ReduceOp op) {
  AllReduceOptions options;
  options.op = op;
  options.timeout = kOpTimeout;
  return options;
}

TEST(CommMpiTest, AllReduceSumAvgMaxMin) {
  R1_RUN_UNDER_MPIRUN(kJobLimit, 2, 3);
  std::unique_ptr<Communicator> comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int r = comm->rank();
  const int n = comm->size();
  const float sum_r1 = n * (n + 1) / 2.0f;  // sum over ranks of (r + 1)

  // f32 sum, two tensors in one call, one of them non-contiguous.
  std::vector<at::Tensor> tensors = {torch::tensor({1.0f, 2.0f, -1.0f}) * (r + 1),
                                     (torch::arange(6, torch::kFloat).view({2, 3}) * (r + 1)).t()};
  ASSERT_FALSE(tensors[1].is_contiguous());
  ASSERT_TRUE(WaitOn(comm->AllReduce(tensors, Reduce(ReduceOp::kSum))).ok());
  EXPECT_TRUE(tensors[0].equal(torch::tensor({1.0f, 2.0f, -1.0f}) * sum_r1));
  EXPECT_TRUE(tensors[1].equal((torch::arange(6, torch::kFloat).view({2, 3}) * sum_r1).t()));

  // avg in f32 and bf16 (values exact in both): mean of r + 1 is (n + 1) / 2.
  std::vector<at::Tensor> avg = {torch::full({4}, r + 1.0f),
                                 torch::full({3}, r + 1.0f).to(torch::kBFloat16)};
  ASSERT_TRUE(WaitOn(comm->AllReduce(avg, Reduce(ReduceOp::kAvg))).ok());
  EXPECT_TRUE(avg[0].equal(torch::full({4}, (n + 1) / 2.0f)));
  EXPECT_EQ(avg[1].scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(avg[1].to(torch::kFloat).equal(torch::full({3}, (n + 1) / 2.0f)));

  // i64 and f16 max / min: rank r holds [r, -r, 10 * r].
  std::vector<at::Tensor> mx = {torch::tensor({int64_t{r}, int64_t{-r}, int64_t{10 * r}}),
                                torch::tensor({1.0f * r, -1.0f * r}).to(torch::kHalf)};
  std::vector<at::Tensor> mn = {mx[0].clone(), mx[1].clone()};
  ASSERT_TRUE(WaitOn(comm->AllReduce(mx, Reduce(ReduceOp::kMax))).ok());
  ASSERT_TRUE(WaitOn(comm->AllReduce(mn, Reduce(ReduceOp::kMin))).ok());
  EXPECT_TRUE(mx[0].equal(torch::tensor({int64_t{n - 1}, int64_t{0}, int64_t{10 * (n - 1)}})));
  EXPECT_TRUE(mn[0].equal(torch::tensor({int64_t{0}, int64_t{1 - n}, int64_t{0}})));
  EXPECT_TRUE(mx[1].to(torch::kFloat).equal(torch::tensor({n - 1.0f, 0.0f})));
  EXPECT_TRUE(mn[1].to(torch::kFloat).equal(torch::tensor({0.0f, 1.0f - n})));

  // Bad input fails on every rank alike, before anything is sent.
  std::vector<at::Tensor> ints = {torch::tensor({int64_t{1}})};
  EXPECT_EQ(WaitOn(comm->AllReduce(ints, Reduce(ReduceOp::kAvg))).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(WaitOn(comm->Barrier({kOpTimeout})).ok());
}

TEST(CommMpiTest, BroadcastIsBitExact) {
  R1_RUN_UNDER_MPIRUN(kJobLimit, 2, 3);
  std::unique_ptr<Communicator> comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int root = comm->size() - 1;
  // Every rank draws different values; the expected ones are the root's draw.
  auto draw = [](int seed) {
    torch::manual_seed(seed);
    at::Tensor f = torch::randn({5, 7});
    f[0][0] = std::numeric_limits<float>::quiet_NaN();
    return std::vector<at::Tensor>{f, torch::randn({33}).to(torch::kBFloat16),
                                   torch::randint(-1000000, 1000000, {9}, torch::kLong),
                                   torch::randn({4, 6}).t()};  // non-contiguous
  };
  std::vector<at::Tensor> tensors = draw(100 + comm->rank());
  const std::vector<at::Tensor> expected = draw(100 + root);
  BroadcastOptions options;
  options.root = root;
  options.timeout = kOpTimeout;
  ASSERT_TRUE(WaitOn(comm->Broadcast(tensors, options)).ok());
  for (size_t i = 0; i < tensors.size(); ++i) {
    at::Tensor got = tensors[i].contiguous();
    at::Tensor want = expected[i].contiguous();
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_EQ(std::memcmp(got.data_ptr(), want.data_ptr(), got.nbytes()), 0) << "tensor " << i;
  }
}

TEST(CommMpiTest, BarrierAndAllGatherBytes) {
  R1_RUN_UNDER_MPIRUN(kJobLimit, 2, 3);
  std::unique_ptr<Communicator> comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  ASSERT_TRUE(WaitOn(comm->Barrier({kOpTimeout})).ok());
  // Rank r sends r copies of 'a' + r (rank 0 sends nothing).
  auto payload = [](int r) { return std::string(r, static_cast<char>('a' + r)); };
  absl::StatusOr<std::vector<std::string>> all =
      comm->AllGatherBytes(payload(comm->rank()), {kOpTimeout});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), static_cast<size_t>(comm->size()));
  for (int r = 0; r < comm->size(); ++r) EXPECT_EQ((*all)[r], payload(r));
}

TEST(CommMpiTest, ColorsSplitTheJobIntoGroups) {
  R1_RUN_UNDER_MPIRUN(kJobLimit, 3);
  std::unique_ptr<Communicator> world = MakeComm();
  ASSERT_NE(world, nullptr);
  const int world_rank = world->rank();
  // Even job ranks {0, 2} form "even", odd ones {1} form "odd".
  std::unique_ptr<Communicator> group =
      MakeComm(world_rank % 2, world_rank % 2 == 0 ? "even" : "odd");
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->size(), world_rank % 2 == 0 ? 2 : 1);
  EXPECT_EQ(group->rank(), world_rank / 2);
  std::vector<at::Tensor> x = {torch::tensor({int64_t{world_rank}})};
  ASSERT_TRUE(WaitOn(group->AllReduce(x, Reduce(ReduceOp::kSum))).ok());
  EXPECT_EQ(x[0].item<int64_t>(), world_rank % 2 == 0 ? 0 + 2 : 1);
  // The world communicator is unaffected by the split.
  std::vector<at::Tensor> y = {torch::tensor({int64_t{world_rank}})};
  ASSERT_TRUE(WaitOn(world->AllReduce(y, Reduce(ReduceOp::kSum))).ok());
  EXPECT_EQ(y[0].item<int64_t>(), 0 + 1 + 2);
}

// Two (three) ranks, each on its share of a batch of 6, average their gradients; the result must
// equal the gradient of one process on the whole batch.
TEST(CommMpiTest, DataParallelGradientsMatchSingleProcess) {
  R1_RUN_UNDER_MPIRUN(kJobLimit, 2, 3);
  std::unique_ptr<Communicator> comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int r = comm->rank();
  const int n = comm->size();

  // Different initial weights per rank; weight sync from rank 0 makes them equal.
  torch::manual_seed(7 + r);
  torch::nn::Linear model(4, 3);
  ParamSyncOptions sync;
  sync.timeout = kOpTimeout;
  absl::StatusOr<CommStats> synced = BroadcastParameters(model->parameters(), *comm, sync);
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_EQ(synced->bytes, (12 + 3) * 4);
  torch::manual_seed(7);
  torch::nn::Linear reference(4, 3);
  EXPECT_TRUE(model->weight.equal(reference->weight));
  EXPECT_TRUE(model->bias.equal(reference->bias));

  torch::manual_seed(11);
  const at::Tensor x = torch::randn({6, 4});
  const at::Tensor y = torch::randn({6, 3});
  const int64_t shard = 6 / n;
  torch::mse_loss(model->forward(x.narrow(0, r * shard, shard)), y.narrow(0, r * shard, shard))
      .backward();
  const at::Tensor local_grad = model->weight.grad().clone();
  GradSyncOptions grads;
  grads.timeout = kOpTimeout;
  absl::StatusOr<CommStats> reduced = AllReduceGradients(model->parameters(), *comm, grads);
  ASSERT_TRUE(reduced.ok()) << reduced.status();
  EXPECT_EQ(reduced->collectives, 1);  // weight and bias share one bucket

  torch::mse_loss(reference->forward(x), y).backward();
  EXPECT_TRUE(torch::allclose(model->weight.grad(), reference->weight.grad(), 1e-6, 1e-6))
      << model->weight.grad() << reference->weight.grad();
  EXPECT_TRUE(torch::allclose(model->bias.grad(), reference->bias.grad(), 1e-6, 1e-6));
  // Not trivially equal: this rank's own gradient differs from the full-batch one.
  EXPECT_FALSE(torch::allclose(local_grad, reference->weight.grad(), 1e-3, 1e-3));
}

// The last rank never joins an all-reduce: the others must get DeadlineExceeded after about the
// configured timeout instead of hanging. Afterwards the late rank joins (on its own, after a
// barrier on a second communicator) so the abandoned collective drains and the job ends cleanly.
TEST(CommMpiTest, MissingPeerTimesOut) {
  R1_RUN_UNDER_MPIRUN(kJobLimit, 2, 3);
  std::unique_ptr<Communicator> comm = MakeComm(kWorldColor, "data");
  std::unique_ptr<Communicator> control = MakeComm(kWorldColor, "control");
  ASSERT_NE(comm, nullptr);
  ASSERT_NE(control, nullptr);
  const bool late = comm->rank() == comm->size() - 1;
  std::vector<at::Tensor> x = {torch::ones({16})};
  if (!late) {
    AllReduceOptions options;
    options.timeout = absl::Seconds(2);
    const absl::Time start = absl::Now();
    absl::Status st = WaitOn(comm->AllReduce(x, options));
    const absl::Duration took = absl::Now() - start;
    EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded) << st;
    EXPECT_GE(took, absl::Seconds(2));
    EXPECT_LT(took, absl::Seconds(5));
    // The communicator is broken from now on; the control one is not.
    std::vector<at::Tensor> more = {torch::ones({1})};
    absl::Status after = WaitOn(comm->AllReduce(more, Reduce(ReduceOp::kSum)));
    EXPECT_EQ(after.code(), absl::StatusCode::kFailedPrecondition) << after;
    EXPECT_THAT(std::string(after.message()), ::testing::HasSubstr("timeout"));
  }
  ASSERT_TRUE(WaitOn(control->Barrier({kOpTimeout})).ok());
  if (late) {
    // Joins the collective the others gave up on; it completes since they still make progress.
    EXPECT_TRUE(WaitOn(comm->AllReduce(x, Reduce(ReduceOp::kSum))).ok());
  }
  ASSERT_TRUE(WaitOn(control->Barrier({kOpTimeout})).ok());
}

}  // namespace
}  // namespace r1
