// Thread-count policy: LibTorch gets the requested threads, OpenBLAS one unless
// OPENBLAS_NUM_THREADS says otherwise (its idle threads spin between calls).
#include "model/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <stdlib.h>

#include <algorithm>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace r1 {
namespace {

// Sets (or, with nullptr, unsets) an environment variable for the scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) {
      old_ = old;
      had_ = true;
    }
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_.c_str(), old_.c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

TEST(ThreadsTest, LibTorchThreadsFromTheRequestThenR1ThreadsThenTheCores) {
  ScopedEnv env("R1_THREADS", "3");
  EXPECT_EQ(ChooseNumThreads(2), 2);
  EXPECT_EQ(ChooseNumThreads(0), 3);
  // A value that is not a positive integer falls back to the cores.
  const int32_t cores = std::max(1, static_cast<int32_t>(std::thread::hardware_concurrency()));
  ScopedEnv bad("R1_THREADS", "many");
  EXPECT_EQ(ChooseNumThreads(0), cores);
}

TEST(ThreadsTest, OpenBlasGetsOneThreadUnlessOpenblasNumThreadsSaysOtherwise) {
  {
    ScopedEnv env("OPENBLAS_NUM_THREADS", nullptr);
    EXPECT_EQ(ChooseBlasThreads(), 1);
  }
  for (const char* bad : {"0", "-2", "two", ""}) {
    ScopedEnv env("OPENBLAS_NUM_THREADS", bad);
    EXPECT_EQ(ChooseBlasThreads(), 1) << bad;
  }
  ScopedEnv env("OPENBLAS_NUM_THREADS", nullptr);
  const int32_t cores = std::max(1, static_cast<int32_t>(std::thread::hardware_concurrency()));
  const int32_t capped = std::min(2, cores);
  EXPECT_EQ(ConfigureThreads(2), capped);
  EXPECT_EQ(at::get_num_threads(), capped);
  // The loaded OpenBLAS (when LibTorch uses it) really has one thread.
  using GetThreadsFn = int (*)();
  if (auto get = reinterpret_cast<GetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) {
    EXPECT_EQ(get(), 1);
    ScopedEnv two("OPENBLAS_NUM_THREADS", "2");
    EXPECT_EQ(ChooseBlasThreads(), 2);
    ConfigureThreads(1);
    EXPECT_EQ(get(), capped);  // at most the cores
  }
  ConfigureThreads(1);
}

// No setting may be slower than one thread: both pools are capped at the cores, and OpenBLAS with
// more than one thread leaves LibTorch one (the two side by side oversubscribe).
TEST(ThreadsTest, PlanNeverRunsBothPoolsWideOrBeyondTheCores) {
  {
    ScopedEnv blas("OPENBLAS_NUM_THREADS", nullptr);
    ThreadPlan p = PlanThreads(2, 2);
    EXPECT_EQ(p.torch, 2);
    EXPECT_EQ(p.blas, 1);
    p = PlanThreads(8, 2);  // more than the cores
    EXPECT_EQ(p.torch, 2);
  }
  ScopedEnv blas("OPENBLAS_NUM_THREADS", "2");
  ThreadPlan p = PlanThreads(2, 2);
  EXPECT_EQ(p.torch, 1);
  EXPECT_EQ(p.blas, 2);
  ScopedEnv many("OPENBLAS_NUM_THREADS", "64");
  p = PlanThreads(0, 4);
  EXPECT_EQ(p.torch, 1);
  EXPECT_EQ(p.blas, 4);
  p = PlanThreads(3, 1);  // one core: one thread each
  EXPECT_EQ(p.torch, 1);
  EXPECT_EQ(p.blas, 1);
}

}  // namespace
}  // namespace r1
