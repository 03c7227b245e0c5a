// Thread-count policy for LibTorch and OpenBLAS (see threads.h).
#include "model/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace r1 {
namespace {

// The environment variable `name` as a positive integer; 0 when unset or anything else.
int32_t PositiveFromEnv(const char* name) {
  int32_t n = 0;
  const char* env = std::getenv(name);
  return env != nullptr && absl::SimpleAtoi(env, &n) && n > 0 ? n : 0;
}

// CPUs a cgroup v2 quota allows ("max 100000" = none: 0), rounded up.
int32_t CgroupCpuLimit() {
  std::ifstream in("/sys/fs/cgroup/cpu.max");
  std::string quota;
  int64_t period = 0, q = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return 0;
  if (!absl::SimpleAtoi(quota, &q) || q <= 0) return 0;
  return static_cast<int32_t>((q + period - 1) / period);
}

}  // namespace

int32_t CpuShare::PerProcess() const {
  const int32_t n = pinned ? cores : cores / std::max(1, local_processes);
  return std::max(1, n);
}

CpuShare DetectCpuShare() {
  CpuShare share;
  const int32_t machine = std::max(1, static_cast<int32_t>(std::thread::hardware_concurrency()));
  share.cores = machine;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int32_t mask = CPU_COUNT(&set);
    if (mask > 0 && mask < machine) {
      share.cores = mask;
      share.pinned = true;
    }
  }
  if (const int32_t limit = CgroupCpuLimit(); limit > 0) share.cores = std::min(share.cores, limit);
  int32_t local = PositiveFromEnv("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (local == 0) local = PositiveFromEnv("MPI_LOCALNRANKS");
  if (local == 0 && std::getenv("SLURM_STEP_ID") != nullptr) {
    local = PositiveFromEnv("SLURM_NTASKS_PER_NODE");
  }
  share.local_processes = std::max(1, local);
  return share;
}

int32_t ChooseNumThreads(int32_t requested, const CpuShare& share) {
  int32_t n = requested > 0 ? requested : PositiveFromEnv("R1_THREADS");
  if (n <= 0) n = share.PerProcess();
  return std::clamp(n, 1, std::max(1, share.cores));
}

ThreadPlan PlanThreads(int32_t requested, const CpuShare& share, bool openblas) {
  const int32_t budget = ChooseNumThreads(requested, share);
  ThreadPlan plan;
  if (!openblas) {
    plan.torch = budget;
    plan.blas = 0;
  } else if (const int32_t blas = PositiveFromEnv("OPENBLAS_NUM_THREADS"); blas > 0) {
    plan.blas = std::min(blas, std::max(1, share.cores));
    plan.torch = plan.blas > 1 ? 1 : budget;
  } else {
    plan.blas = budget;
    plan.torch = 1;
  }
  return plan;
}

std::string ToString(const ThreadPlan& plan) {
  if (plan.blas == 0) return absl::StrCat(plan.torch, " LibTorch threads (BLAS is not OpenBLAS)");
  return absl::StrCat(plan.torch, " LibTorch + ", plan.blas, " OpenBLAS threads");
}

ThreadPlan ConfigureThreads(int32_t requested) {
  using SetThreadsFn = void (*)(int);
  auto set_blas = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  const ThreadPlan plan = PlanThreads(requested, DetectCpuShare(), set_blas != nullptr);
  at::set_num_threads(plan.torch);
  if (set_blas != nullptr) set_blas(plan.blas);
  return plan;
}

}  // namespace r1
