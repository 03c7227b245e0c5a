// Thread-count policy for LibTorch and OpenBLAS (see threads.h).
#include "model/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "absl/strings/numbers.h"

namespace r1 {
namespace {

// The environment variable `name` as a positive integer; 0 when unset or anything else.
int32_t PositiveFromEnv(const char* name) {
  int32_t n = 0;
  const char* env = std::getenv(name);
  return env != nullptr && absl::SimpleAtoi(env, &n) && n > 0 ? n : 0;
}

}  // namespace

int32_t ChooseNumThreads(int32_t requested) {
  if (requested > 0) return requested;
  if (const int32_t n = PositiveFromEnv("R1_THREADS"); n > 0) return n;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int32_t>(hw) : 1;
}

int32_t ChooseBlasThreads() {
  const int32_t n = PositiveFromEnv("OPENBLAS_NUM_THREADS");
  return n > 0 ? n : 1;
}

ThreadPlan PlanThreads(int32_t requested, int32_t cores) {
  cores = std::max(1, cores);
  ThreadPlan plan;
  plan.blas = std::min(ChooseBlasThreads(), cores);
  plan.torch = plan.blas > 1 ? 1 : std::min(ChooseNumThreads(requested), cores);
  return plan;
}

int32_t ConfigureThreads(int32_t requested) {
  const ThreadPlan plan =
      PlanThreads(requested, static_cast<int32_t>(std::thread::hardware_concurrency()));
  at::set_num_threads(plan.torch);
  using SetThreadsFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(plan.blas);
  }
  return plan.torch;
}

}  // namespace r1
