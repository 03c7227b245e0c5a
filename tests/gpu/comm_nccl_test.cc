// Tests of the "nccl" Communicator backend (label gpu). Skipped unless a CUDA device is visible
// (never on the CPU-only dev machine). With devices, the CTest process re-launches itself under
// `mpirun -np <min(devices, 2)>`; each rank drives its own GPU.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "tests/workers/comm_mpi_launcher.h"
#include "workers/comm/communicator.h"
#include "workers/comm/create_communicator.h"
#include "workers/comm/nccl_communicator.h"

namespace r1 {
namespace {

constexpr absl::Duration kOpTimeout = absl::Seconds(30);

int EnvInt(const char* name) {
  int value = 0;
  const char* text = std::getenv(name);
  return text != nullptr && absl::SimpleAtoi(text, &value) ? value : 0;
}

// `values` copied into fresh device memory on `device`, wrapped as a CUDA tensor (LibTorch does
// not own the memory: the test frees it).
at::Tensor DeviceTensor(const std::vector<float>& values, int device, float** memory) {
  cudaSetDevice(device);
  EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(memory), values.size() * sizeof(float)),
            cudaSuccess);
  cudaMemcpy(*memory, values.data(), values.size() * sizeof(float), cudaMemcpyHostToDevice);
  return at::from_blob(*memory, {static_cast<int64_t>(values.size())},
                       at::TensorOptions().dtype(at::kFloat).device(at::Device(at::kCUDA, device)));
}

std::vector<float> ToHost(float* memory, size_t n) {
  std::vector<float> out(n);
  cudaMemcpy(out.data(), memory, n * sizeof(float), cudaMemcpyDeviceToHost);
  return out;
}

TEST(CommNcclTest, AllReduceBroadcastBarrierOnGpus) {
  const int devices = CudaDeviceCount();
  if (devices == 0) GTEST_SKIP() << "no CUDA device visible";
  R1_RUN_UNDER_MPIRUN(absl::Seconds(120), std::min(devices, 2));

  CommOptions options;
  options.backend = CommBackend::kNccl;
  options.use_gpu = true;
  options.cuda_device = EnvInt("OMPI_COMM_WORLD_RANK") % devices;
  options.init_timeout = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<Communicator>> created = CreateCommunicator(options);
  ASSERT_TRUE(created.ok()) << created.status();
  Communicator& comm = **created;
  const int r = comm.rank();
  const int n = comm.size();

  float* memory = nullptr;
  at::Tensor x;
  try {
    x = DeviceTensor({1.0f * (r + 1), -2.0f * (r + 1), 0.5f}, options.cuda_device, &memory);
  } catch (const c10::Error& e) {
    cudaFree(memory);
    GTEST_SKIP() << "this LibTorch cannot wrap CUDA memory: " << e.what_without_backtrace();
  }
  std::vector<at::Tensor> tensors = {x};
  AllReduceOptions sum;
  sum.timeout = kOpTimeout;
  ASSERT_TRUE(comm.AllReduce(tensors, sum)->Wait().ok());
  const float s = n * (n + 1) / 2.0f;
  EXPECT_EQ(ToHost(memory, 3), (std::vector<float>{s, -2.0f * s, 0.5f * n}));

  cudaMemcpy(memory, std::vector<float>{7.0f * r, 8.0f, 9.0f}.data(), 3 * sizeof(float),
             cudaMemcpyHostToDevice);
  BroadcastOptions from_last;
  from_last.root = n - 1;
  from_last.timeout = kOpTimeout;
  ASSERT_TRUE(comm.Broadcast(tensors, from_last)->Wait().ok());
  EXPECT_EQ(ToHost(memory, 3), (std::vector<float>{7.0f * (n - 1), 8.0f, 9.0f}));

  EXPECT_TRUE(comm.Barrier({kOpTimeout})->Wait().ok());
  std::vector<at::Tensor> on_cpu = {torch::ones({2})};
  EXPECT_EQ(comm.AllReduce(on_cpu, sum)->Wait().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::vector<std::string>> gathered =
      comm.AllGatherBytes(std::to_string(r), {kOpTimeout});
  ASSERT_TRUE(gathered.ok()) << gathered.status();
  EXPECT_EQ(gathered->size(), static_cast<size_t>(n));
  cudaFree(memory);
}

}  // namespace
}  // namespace r1
