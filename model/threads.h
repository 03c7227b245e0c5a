// Chooses how many threads LibTorch's intra-op pool and OpenBLAS (which LibTorch's CPU matmuls
// call) use, on purpose rather than by accident, so that no setting a user can choose is slower
// than one thread and the default is the fastest measured.
//
// A process has a thread budget: --threads N (`requested`), else R1_THREADS, else its share of
// the cores (DetectCpuShare). By default the budget goes to OpenBLAS and LibTorch's own pool runs
// on one thread. bench/threads.sh on 2 cores: LibTorch 1 + OpenBLAS 2 trained and generated
// 1.2-1.7x faster than one thread; LibTorch 2 + OpenBLAS 1 only 1.0-1.15x; both pools at 2 ran at
// 0.5x (OpenBLAS's idle threads spin on sched_yield between its many small calls and take the CPU
// from LibTorch's threads). So the two pools are never both wider than one thread.
//
// OPENBLAS_NUM_THREADS, when set, is obeyed for OpenBLAS (capped at the cores) and LibTorch then
// gets the budget only if OpenBLAS has one thread. OpenBLAS sizes its pool from the variable when
// the library loads; ConfigureThreads resizes it (openblas_set_num_threads, looked up with dlsym
// when the loaded BLAS is OpenBLAS).
#ifndef R1_MODEL_THREADS_H_
#define R1_MODEL_THREADS_H_

#include <cstdint>
#include <string>

namespace r1 {

// The CPUs this process may use and how many processes share them.
struct CpuShare {
  int32_t cores = 1;            // CPUs in the affinity mask, capped by a cgroup v2 CPU quota
  bool pinned = false;          // the affinity mask is narrower than the machine (a launcher
                                // bound the process: the mask is already its share)
  int32_t local_processes = 1;  // ranks of this job on this node (Open MPI, MPICH or Slurm)

  // Cores for this process: `cores` when pinned, else cores / local_processes, at least 1.
  int32_t PerProcess() const;
};

// Reads sched_getaffinity, /sys/fs/cgroup/cpu.max and the launcher's local-size variables
// (OMPI_COMM_WORLD_LOCAL_SIZE, MPI_LOCALNRANKS, SLURM_NTASKS_PER_NODE under srun).
CpuShare DetectCpuShare();

// The process's thread budget: `requested` if > 0, else the positive integer in R1_THREADS,
// else share.PerProcess(); capped at share.cores.
int32_t ChooseNumThreads(int32_t requested, const CpuShare& share);

struct ThreadPlan {
  int32_t torch = 1;  // LibTorch intra-op threads
  int32_t blas = 1;   // OpenBLAS threads; 0 when the loaded BLAS is not OpenBLAS
};
// The plan for a budget of ChooseNumThreads(requested, share) and the environment's
// OPENBLAS_NUM_THREADS: never both pools wider than one thread, neither beyond share.cores.
// Without OpenBLAS (`openblas` false) the budget goes to LibTorch.
ThreadPlan PlanThreads(int32_t requested, const CpuShare& share, bool openblas = true);

// "1 LibTorch + 2 OpenBLAS threads".
std::string ToString(const ThreadPlan& plan);

// Applies PlanThreads(requested, DetectCpuShare()) to at::set_num_threads and to OpenBLAS and
// returns it. Call once at start-up, before heavy tensor work, from the main thread.
ThreadPlan ConfigureThreads(int32_t requested = 0);

}  // namespace r1

#endif  // R1_MODEL_THREADS_H_
