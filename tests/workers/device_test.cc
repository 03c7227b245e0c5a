// ResolveWorkerDevice and LauncherLocalRank: concrete devices for cpu and cuda requests, the
// reason a CUDA request cannot be served (here: Debian's CPU-only LibTorch), malformed requests.
#include "workers/device.h"

#include <stdlib.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "workers/comm/create_communicator.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

TEST(ResolveWorkerDeviceTest, CpuIsCpu) {
  EXPECT_EQ(*ResolveWorkerDevice("cpu", 0), "cpu");
  EXPECT_EQ(*ResolveWorkerDevice("cpu", 5), "cpu");
  EXPECT_EQ(*ResolveWorkerDevice("cpu", 0, CudaAvailability{}), "cpu");
}

TEST(ResolveWorkerDeviceTest, MalformedRequestsAreInvalidArguments) {
  for (const char* bad : {"", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cuda:+1", "cuda: 1",
                          "cuda:1x", "cpu:0", "cuda0"}) {
    absl::StatusOr<std::string> device = ResolveWorkerDevice(bad, 0);
    ASSERT_FALSE(device.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(device.status())) << bad << ": " << device.status();
    EXPECT_THAT(device.status().message(), HasSubstr("cpu, cuda, cuda:N")) << bad;
  }
}

TEST(ResolveWorkerDeviceTest, CudaPicksTheLocalRanksDevice) {
  const CudaAvailability two{true, 2};
  EXPECT_EQ(*ResolveWorkerDevice("cuda", 0, two), "cuda:0");
  EXPECT_EQ(*ResolveWorkerDevice("cuda", 1, two), "cuda:1");
  EXPECT_EQ(*ResolveWorkerDevice("cuda", 3, two), "cuda:1");
  EXPECT_EQ(*ResolveWorkerDevice("cuda:1", 0, two), "cuda:1");
  absl::StatusOr<std::string> beyond = ResolveWorkerDevice("cuda:2", 0, two);
  ASSERT_FALSE(beyond.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(beyond.status()));
  EXPECT_THAT(beyond.status().message(),
              HasSubstr("cannot use device cuda:2: only 2 CUDA devices are visible"));
}

TEST(ResolveWorkerDeviceTest, ReasonsTellABuildWithoutCudaFromNoVisibleDevice) {
  absl::StatusOr<std::string> unbuilt = ResolveWorkerDevice("cuda", 0, CudaAvailability{false, 0});
  ASSERT_FALSE(unbuilt.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(unbuilt.status()));
  EXPECT_EQ(unbuilt.status().message(),
            "cannot use device cuda: this LibTorch was built without CUDA");

  setenv("CUDA_VISIBLE_DEVICES", "", 1);
  absl::StatusOr<std::string> hidden = ResolveWorkerDevice("cuda:0", 0, CudaAvailability{true, 0});
  unsetenv("CUDA_VISIBLE_DEVICES");
  ASSERT_FALSE(hidden.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(hidden.status()));
  EXPECT_EQ(hidden.status().message(),
            "cannot use device cuda:0: no CUDA device is visible to this process "
            "(CUDA_VISIBLE_DEVICES=)");
}

// This machine's LibTorch: where it has no usable CUDA device, a cuda request fails with one of
// the two reasons; where it has one (a GPU machine), it resolves to a concrete ordinal.
TEST(ResolveWorkerDeviceTest, TheLinkedLibTorchAnswersWithAConcreteDeviceOrAReason) {
  const CudaAvailability cuda = ProbeCuda();
  absl::StatusOr<std::string> device = ResolveWorkerDevice("cuda", 0);
  if (cuda.devices > 0) {
    EXPECT_EQ(*device, "cuda:0");
    return;
  }
  ASSERT_FALSE(device.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(device.status()));
  EXPECT_THAT(device.status().message(),
              HasSubstr(cuda.built ? "no CUDA device is visible to this process"
                                   : "this LibTorch was built without CUDA"));
}

TEST(LauncherLocalRankTest, ReadsTheLaunchersVariablesInOrder) {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "LOCAL_RANK"}) {
    unsetenv(name);
  }
  EXPECT_EQ(LauncherLocalRank(), 0);
  setenv("LOCAL_RANK", "3", 1);
  EXPECT_EQ(LauncherLocalRank(), 3);
  setenv("SLURM_LOCALID", "2", 1);
  EXPECT_EQ(LauncherLocalRank(), 2);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "junk", 1);  // invalid: the next one counts
  EXPECT_EQ(LauncherLocalRank(), 2);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1", 1);
  EXPECT_EQ(LauncherLocalRank(), 1);
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "LOCAL_RANK"}) {
    unsetenv(name);
  }
}

TEST(CudaOrdinalTest, OfConcreteDevices) {
  EXPECT_EQ(CudaOrdinal("cuda:0"), 0);
  EXPECT_EQ(CudaOrdinal("cuda:7"), 7);
  EXPECT_EQ(CudaOrdinal("cpu"), -1);
  EXPECT_EQ(CudaOrdinal("cuda"), -1);
}

}  // namespace
}  // namespace r1
