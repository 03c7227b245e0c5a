// Thread-count policy: a budget from --threads, R1_THREADS or the process's share of the cores;
// OpenBLAS gets it and LibTorch one thread, unless OPENBLAS_NUM_THREADS says otherwise; the two
// pools are never both wider than one thread.
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

CpuShare Share(int32_t cores, int32_t local_processes = 1, bool pinned = false) {
  CpuShare share;
  share.cores = cores;
  share.local_processes = local_processes;
  share.pinned = pinned;
  return share;
}

TEST(ThreadsTest, EachProcessOnANodeGetsItsShareOfTheCoresUnlessPinned) {
  EXPECT_EQ(Share(8).PerProcess(), 8);
  EXPECT_EQ(Share(8, 3).PerProcess(), 2);
  EXPECT_EQ(Share(2, 3).PerProcess(), 1);        // more processes than cores: one thread each
  EXPECT_EQ(Share(2, 4, true).PerProcess(), 2);  // a launcher bound it: the mask is its share
}

TEST(ThreadsTest, DetectsTheLaunchersLocalProcessCount) {
  ScopedEnv ompi("OMPI_COMM_WORLD_LOCAL_SIZE", "3");
  EXPECT_EQ(DetectCpuShare().local_processes, 3);
  ScopedEnv no_ompi("OMPI_COMM_WORLD_LOCAL_SIZE", nullptr);
  ScopedEnv mpich("MPI_LOCALNRANKS", "2");
  EXPECT_EQ(DetectCpuShare().local_processes, 2);
  ScopedEnv no_mpich("MPI_LOCALNRANKS", nullptr);
  {
    ScopedEnv no_step("SLURM_STEP_ID", nullptr);
    ScopedEnv slurm("SLURM_NTASKS_PER_NODE", "4");  // only inside a job step (srun)
    EXPECT_EQ(DetectCpuShare().local_processes, 1);
    ScopedEnv step("SLURM_STEP_ID", "0");
    EXPECT_EQ(DetectCpuShare().local_processes, 4);
  }
  const CpuShare share = DetectCpuShare();
  EXPECT_GE(share.cores, 1);
  EXPECT_LE(share.cores, std::max(1, static_cast<int32_t>(std::thread::hardware_concurrency())));
}

TEST(ThreadsTest, BudgetFromTheRequestThenR1ThreadsThenTheShareCappedAtTheCores) {
  ScopedEnv env("R1_THREADS", "3");
  EXPECT_EQ(ChooseNumThreads(2, Share(8)), 2);
  EXPECT_EQ(ChooseNumThreads(0, Share(8)), 3);
  EXPECT_EQ(ChooseNumThreads(0, Share(2)), 2);  // capped at the cores
  EXPECT_EQ(ChooseNumThreads(16, Share(8)), 8);
  // A value that is not a positive integer falls back to the share.
  ScopedEnv bad("R1_THREADS", "many");
  EXPECT_EQ(ChooseNumThreads(0, Share(8, 4)), 2);
  ScopedEnv unset("R1_THREADS", nullptr);
  EXPECT_EQ(ChooseNumThreads(0, Share(8)), 8);
}

// bench/threads.sh: OpenBLAS with the budget and LibTorch on one thread is the fastest split.
TEST(ThreadsTest, ByDefaultOpenBlasGetsTheBudgetAndLibTorchOneThread) {
  ScopedEnv blas("OPENBLAS_NUM_THREADS", nullptr);
  ScopedEnv r1("R1_THREADS", nullptr);
  ThreadPlan p = PlanThreads(0, Share(2));
  EXPECT_EQ(p.torch, 1);
  EXPECT_EQ(p.blas, 2);
  p = PlanThreads(0, Share(16, 4));  // four workers on a 16-core node
  EXPECT_EQ(p.blas, 4);
  p = PlanThreads(1, Share(16));
  EXPECT_EQ(p.torch, 1);
  EXPECT_EQ(p.blas, 1);
  EXPECT_EQ(ToString(PlanThreads(3, Share(4))), "1 LibTorch + 3 OpenBLAS threads");
  // Another BLAS: the budget goes to LibTorch.
  p = PlanThreads(3, Share(4), /*openblas=*/false);
  EXPECT_EQ(p.torch, 3);
  EXPECT_EQ(p.blas, 0);
  EXPECT_EQ(ToString(p), "3 LibTorch threads (BLAS is not OpenBLAS)");
}

// No setting may be slower than one thread: both pools are capped at the cores, and the two are
// never both wider than one thread (side by side they oversubscribe: 0.5x of one thread).
TEST(ThreadsTest, OpenblasNumThreadsIsObeyedButNeverWithAWideLibTorchPool) {
  ScopedEnv r1("R1_THREADS", nullptr);
  {
    ScopedEnv blas("OPENBLAS_NUM_THREADS", "1");  // the user keeps OpenBLAS narrow
    ThreadPlan p = PlanThreads(2, Share(2));
    EXPECT_EQ(p.torch, 2);
    EXPECT_EQ(p.blas, 1);
    p = PlanThreads(8, Share(2));  // more than the cores
    EXPECT_EQ(p.torch, 2);
  }
  for (const char* bad : {"0", "-2", "two", ""}) {  // not a count: as if unset
    ScopedEnv blas("OPENBLAS_NUM_THREADS", bad);
    const ThreadPlan p = PlanThreads(2, Share(2));
    EXPECT_EQ(p.torch, 1) << bad;
    EXPECT_EQ(p.blas, 2) << bad;
  }
  ScopedEnv blas("OPENBLAS_NUM_THREADS", "2");
  ThreadPlan p = PlanThreads(2, Share(2));
  EXPECT_EQ(p.torch, 1);
  EXPECT_EQ(p.blas, 2);
  ScopedEnv many("OPENBLAS_NUM_THREADS", "64");
  p = PlanThreads(0, Share(4));
  EXPECT_EQ(p.torch, 1);
  EXPECT_EQ(p.blas, 4);
  p = PlanThreads(3, Share(1));  // one core: one thread each
  EXPECT_EQ(p.torch, 1);
  EXPECT_EQ(p.blas, 1);
}

TEST(ThreadsTest, ConfigureThreadsAppliesThePlanToBothPools) {
  ScopedEnv blas("OPENBLAS_NUM_THREADS", nullptr);
  ScopedEnv r1("R1_THREADS", nullptr);
  const ThreadPlan plan = ConfigureThreads(2);
  EXPECT_EQ(at::get_num_threads(), plan.torch);
  using GetThreadsFn = int (*)();
  if (auto get = reinterpret_cast<GetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) {
    // The loaded OpenBLAS (when LibTorch uses it) really has the planned threads.
    EXPECT_EQ(plan.torch, 1);
    EXPECT_EQ(get(), plan.blas);
    EXPECT_EQ(plan.blas, std::min(2, DetectCpuShare().cores));
  } else {
    EXPECT_EQ(plan.blas, 0);
  }
  ConfigureThreads(1);
  EXPECT_EQ(at::get_num_threads(), 1);
}

}  // namespace
}  // namespace r1
