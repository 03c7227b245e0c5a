// weight_sync_bench: r1's weight sync (BroadcastParameters over the "mpi" Communicator, what
// SyncWeights runs after each update in disaggregated placement) against a raw MPI_Bcast of the
// same number of bytes from one contiguous buffer, side by side in one run. The model is a random
// Qwen2 of the given hidden size (bench/sized_model.h). Runs alternate (r1, raw, r1, ...),
// each side keeps its best. Rank 0 prints bytes/s of both and the ratio. Not a test.
//
// usage: mpirun -np 2 [--oversubscribe] build/bench/weight_sync_bench [--hidden 512] [--rounds 5]
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "bench/sized_model.h"
#include "model/model_config.h"
#include "model/pretrained.h"
#include "model/threads.h"
#include "workers/comm/create_communicator.h"
#include "workers/comm/data_parallel.h"

namespace r1 {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int Main(int argc, char** argv) {
  int64_t hidden = 512;
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const bool ok = flag == "--hidden"   ? absl::SimpleAtoi(argv[i + 1], &hidden) && hidden >= 64
                    : flag == "--rounds" ? absl::SimpleAtoi(argv[i + 1], &rounds) && rounds > 0
                                         : false;
    if (!ok) {
      std::fprintf(stderr, "usage: mpirun -np N weight_sync_bench [--hidden H] [--rounds R]\n");
      return 2;
    }
  }
  ConfigureThreads(1);
  CommOptions options;
  options.backend = CommBackend::kMpi;
  options.group_name = "weight-sync";
  auto comm = CreateCommunicator(options);
  if (!comm.ok()) {
    std::fprintf(stderr, "weight_sync_bench: %s\n", std::string(comm.status().message()).c_str());
    return 1;
  }
  const int rank = (*comm)->rank();
  const ModelConfig c = SizedQwen2Config(hidden);
  auto model = NewCausalLm(c, 1 + static_cast<uint64_t>(rank));  // different weights per rank
  if (!model.ok()) return 1;
  std::vector<at::Tensor> params = (*model)->parameters();
  int64_t bytes = 0;
  for (const auto& p : params) bytes += p.numel() * p.element_size();
  std::vector<char> raw(static_cast<size_t>(bytes), static_cast<char>(rank));

  double r1_best = 1e30, raw_best = 1e30;
  for (int round = 0; round < rounds; ++round) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = Now();
    auto stats = BroadcastParameters(params, **comm);
    if (!stats.ok()) {
      std::fprintf(stderr, "weight_sync_bench: %s\n", std::string(stats.status().message()).c_str());
      return 1;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    r1_best = std::min(r1_best, Now() - t0);
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = Now();
    for (int64_t offset = 0; offset < bytes; offset += int64_t{1} << 30) {
      const int n = static_cast<int>(std::min<int64_t>(bytes - offset, int64_t{1} << 30));
      MPI_Bcast(raw.data() + offset, n, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    raw_best = std::min(raw_best, Now() - t0);
  }
  if (rank == 0) {
    std::printf("%d ranks, hidden %lld, %.1f MB of parameters in %zu tensors, best of %d\n",
                (*comm)->size(), static_cast<long long>(hidden), bytes / 1e6, params.size(),
                rounds);
    std::printf("%-34s %10s %10s\n", "", "seconds", "MB/s");
    std::printf("%-34s %10.4f %10.0f\n", "r1 BroadcastParameters (mpi)", r1_best,
                bytes / r1_best / 1e6);
    std::printf("%-34s %10.4f %10.0f\n", "raw MPI_Bcast, one buffer", raw_best,
                bytes / raw_best / 1e6);
    std::printf("summary weight sync: %.0f%% of a raw MPI broadcast's bytes/s\n",
                100.0 * raw_best / r1_best);
  }
  return 0;
}

}  // namespace
}  // namespace r1

int main(int argc, char** argv) { return r1::Main(argc, argv); }
