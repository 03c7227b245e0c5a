// Chooses how many threads LibTorch's intra-op pool (and OpenBLAS, which LibTorch's CPU matmuls
// call) use, on purpose rather than by accident. On a shared machine the default (every core for
// every process, plus OpenBLAS's own pool) oversubscribes the CPU.
//
// OpenBLAS gets one thread unless OPENBLAS_NUM_THREADS says otherwise. Its idle pool threads spin
// on sched_yield between calls, and LibTorch calls BLAS thousands of times per step on small
// matrices. With a pool of 2 next to LibTorch's 2 threads on 2 cores, the spinning thread took
// the CPU from LibTorch's: training and GRPO steps ran 1.9-2.0x slower, and sys time went from 2 s
// to 32 s (bench/blas_threads.sh).
// OpenBLAS sizes its pool from OPENBLAS_NUM_THREADS when the library loads, before main();
// ConfigureThreads resizes it (openblas_set_num_threads, looked up with dlsym when the loaded
// BLAS is OpenBLAS).
#ifndef R1_MODEL_THREADS_H_
#define R1_MODEL_THREADS_H_

#include <cstdint>

namespace r1 {

// The thread count to use: `requested` if > 0, else the integer in the R1_THREADS environment
// variable if set and > 0, else std::thread::hardware_concurrency() (at least 1).
int32_t ChooseNumThreads(int32_t requested);

// OpenBLAS's pool size: OPENBLAS_NUM_THREADS if set to a positive integer, else 1.
int32_t ChooseBlasThreads();

// The two pools' sizes, so that no setting is slower than one thread. Each is at most `cores`.
// When OpenBLAS gets more than one thread, LibTorch gets one: the two pools side by side
// oversubscribe the cores (model_bench on 2 cores: LibTorch 2 + OpenBLAS 2 trained at 0.51x and
// generated at 0.56x the speed of 1 + 1, while LibTorch 1 + OpenBLAS 2 was the fastest of the
// four, 1.13x and 1.14x), and a model's heavy work is the BLAS matrix multiplies.
struct ThreadPlan {
  int32_t torch = 1;  // LibTorch intra-op threads
  int32_t blas = 1;   // OpenBLAS threads
};
ThreadPlan PlanThreads(int32_t requested, int32_t cores);

// Applies PlanThreads(requested, hardware cores) to at::set_num_threads and to OpenBLAS; returns
// the LibTorch count. Call once at start-up, before heavy tensor work, from the main
// thread.
int32_t ConfigureThreads(int32_t requested = 0);

}  // namespace r1

#endif  // R1_MODEL_THREADS_H_
