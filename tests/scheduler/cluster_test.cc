// Cluster in external mode over loopback: a worker that registers as unusable (it cannot have the
// configured device) makes Acquire fail at once with a configuration error naming its rank, host
// and reason, and every later Acquire gives the same answer instead of waiting for new workers.
#include "scheduler/cluster.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "r1/v1/scheduler.grpc.pb.h"
#include "scheduler/configuration_error.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

constexpr char kConfig[] = R"(run: {name: c, seed: 1}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 64}
  tokenizer: byte
cluster: {mode: external, launcher: srun, trainer_ranks: 2, device: cuda}
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 8, seed: 1}}
stages:
  - name: pretrain
    type: pretrain
    inputs: {datasets: [corpus]}
    pretrain: {batch_size: 2, steps: 1}
)";

grpc::Status Register(const std::string& address, const std::string& token, int32_t rank,
                      const std::string& unusable) {
  auto stub =
      v1::Scheduler::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("r1-token", token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::RegisterRequest request;
  request.set_address(absl::StrCat("127.0.0.1:", 1000 + rank));
  request.set_host("node7");
  request.add_roles("trainer");
  request.set_mpi_rank(rank);
  request.set_mpi_world_size(2);
  request.set_unusable(unusable);
  v1::RegisterResponse response;
  return stub->Register(&context, request, &response);
}

TEST(ClusterTest, AnUnusableWorkerFailsAcquireAtOnceWithoutWaitingForOthers) {
  absl::StatusOr<PipelineConfig> config = ParseConfig(kConfig);
  ASSERT_TRUE(config.ok()) << config.status();
  ClusterOptions options;
  options.run_dir = testing_util::ScratchDir("cluster_unusable");
  options.external = true;
  options.listen = "127.0.0.1:0";
  options.register_timeout = absl::Minutes(5);
  absl::StatusOr<std::unique_ptr<Cluster>> cluster = Cluster::Start(*config, options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  // Rank 1 can serve; rank 0 cannot. Rank 0 registers a moment after Acquire started waiting.
  ASSERT_TRUE(Register((*cluster)->address(), (*cluster)->token(), 1, "").ok());
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    grpc::Status s = Register((*cluster)->address(), (*cluster)->token(), 0,
                              "cannot use device cuda: this LibTorch was built without CUDA");
    EXPECT_TRUE(s.ok()) << s.error_message();  // answered: the worker learns it may exit
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<WorkerClient*>> acquired = (*cluster)->Acquire();
  late.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  ASSERT_FALSE(acquired.ok());
  EXPECT_TRUE(IsConfigurationError(acquired.status())) << acquired.status();
  EXPECT_EQ(acquired.status().message(),
            "worker rank 0 (host node7) cannot use device cuda: this LibTorch was built without "
            "CUDA");

  // Sticky: nothing to wait for or relaunch.
  const absl::Time again = absl::Now();
  absl::StatusOr<std::vector<WorkerClient*>> second = (*cluster)->Acquire();
  EXPECT_LT(absl::Now() - again, absl::Seconds(2));
  EXPECT_EQ(second.status(), acquired.status());
  (*cluster)->Finish(false);
}

}  // namespace
}  // namespace r1
