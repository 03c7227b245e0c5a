// Chooses how many threads LibTorch's intra-op pool (and OpenBLAS, which LibTorch's CPU matmuls
// call) use, on purpose rather than by accident. On a shared machine the default (every core for
// every process, plus OpenBLAS's own pool) oversubscribes the CPU.
//
// OPENBLAS_NUM_THREADS: OpenBLAS sizes its pool from this variable when the library loads, before
// main(). ConfigureThreads also resizes that pool at run time (openblas_set_num_threads, looked up
// with dlsym, when the loaded BLAS is OpenBLAS), so the environment variable only matters for
// work done before the call; setting OPENBLAS_NUM_THREADS=1 in the environment avoids a burst of
// idle OpenBLAS threads at start-up.
#ifndef R1_MODEL_THREADS_H_
#define R1_MODEL_THREADS_H_

#include <cstdint>

namespace r1 {

// The thread count to use: `requested` if > 0, else the integer in the R1_THREADS environment
// variable if set and > 0, else std::thread::hardware_concurrency() (at least 1).
int32_t ChooseNumThreads(int32_t requested);

// Applies ChooseNumThreads(requested) to at::set_num_threads and to OpenBLAS; returns the count.
// Call once at start-up, before heavy tensor work, from the main thread.
int32_t ConfigureThreads(int32_t requested = 0);

}  // namespace r1

#endif  // R1_MODEL_THREADS_H_
