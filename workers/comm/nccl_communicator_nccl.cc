// The "nccl" backend: a non-blocking NCCL communicator per group, collectives on its own CUDA
// stream, completion and timeouts observed by polling a CUDA event and ncclCommGetAsyncError.
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "workers/comm/mpi_communicator.h"
#include "workers/comm/mpi_util.h"
#include "workers/comm/nccl_communicator.h"

namespace r1 {
namespace {

using comm_internal::PollBackoff;

absl::Status CudaStatus(cudaError_t code, absl::string_view what) {
  if (code == cudaSuccess) return absl::OkStatus();
  cudaGetLastError();  // clear the sticky-free error so later calls are not confused by it
  return absl::InternalError(absl::StrCat(what, " failed: ", cudaGetErrorString(code)));
}

absl::Status NcclStatus(ncclResult_t code, absl::string_view what, ncclComm_t comm) {
  if (code == ncclSuccess || code == ncclInProgress) return absl::OkStatus();
  const char* detail = ncclGetLastError(comm);
  return absl::InternalError(absl::StrCat(what, " failed: ", ncclGetErrorString(code),
                                          detail != nullptr && *detail ? ": " : "",
                                          detail != nullptr ? detail : ""));
}

// Polls a non-blocking communicator until its last call finished (ncclSuccess), failed (Internal)
// or `deadline` passed (DeadlineExceeded).
absl::Status WaitNcclReady(ncclComm_t comm, absl::Time deadline, absl::string_view what) {
  for (int i = 0;; ++i) {
    ncclResult_t async = ncclSuccess;
    ncclResult_t rc = ncclCommGetAsyncError(comm, &async);
    if (rc != ncclSuccess)
      return NcclStatus(rc, absl::StrCat(what, ": ncclCommGetAsyncError"), comm);
    if (async == ncclSuccess) return absl::OkStatus();
    if (async != ncclInProgress) return NcclStatus(async, what, comm);
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(what,
                       " did not complete before its timeout (a peer rank may have died, "
                       "hung, or not joined the collective)"));
    }
    PollBackoff(i);
  }
}

absl::StatusOr<ncclDataType_t> NcclType(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return ncclFloat32;
    case at::kDouble:
      return ncclFloat64;
    case at::kBFloat16:
      return ncclBfloat16;
    case at::kHalf:
      return ncclFloat16;
    case at::kInt:
      return ncclInt32;
    case at::kLong:
      return ncclInt64;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("dtype ", c10::toString(t), " has no NCCL reduction"));
  }
}

ncclRedOp_t NcclOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return ncclSum;
    case ReduceOp::kAvg:
      return ncclAvg;
    case ReduceOp::kMax:
      return ncclMax;
    case ReduceOp::kMin:
      return ncclMin;
  }
  return ncclSum;
}

// The stream LibTorch's kernels run on: the device's default stream (r1 never switches streams).
const cudaStream_t kComputeStream = nullptr;

// Makes `waiter` wait (on the device, not the host) for everything queued on `producer` so far.
absl::Status StreamWaitsFor(cudaStream_t waiter, cudaStream_t producer, const std::string& what) {
  cudaEvent_t event = nullptr;
  R1_RETURN_IF_ERROR(CudaStatus(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), what));
  absl::Status st = CudaStatus(cudaEventRecord(event, producer), what);
  if (st.ok()) st = CudaStatus(cudaStreamWaitEvent(waiter, event, 0), what);
  cudaEventDestroy(event);  // released once the wait has been satisfied
  return st;
}

// Shared by a communicator and its Works.
struct NcclState {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int* barrier_value = nullptr;  // [1] i32 on the device
  int device = 0;
  int rank = 0;
  int size = 1;
  std::string group_name;
  bool broken = false;
  std::string broken_reason;
  // Tensors of Works dropped before completion: kept until the stream is drained.
  std::vector<at::Tensor> kept;

  ~NcclState() {
    cudaSetDevice(device);
    if (comm != nullptr) {
      // Finalize flushes in-flight ops (non-blocking comm: polled, bounded); if that does not
      // finish, abort, which never blocks -- a plain destroy could wait forever on a dead peer.
      ncclCommFinalize(comm);
      if (WaitNcclReady(comm, absl::Now() + absl::Seconds(30), "ncclCommFinalize").ok()) {
        ncclCommDestroy(comm);
      } else {
        ncclCommAbort(comm);
      }
    }
    if (stream != nullptr) cudaStreamDestroy(stream);
    if (barrier_value != nullptr) cudaFree(barrier_value);
  }

  absl::Status CheckUsable(absl::string_view op) const {
    if (!broken) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat(op, " on communicator '", group_name, "' (nccl, rank ", rank,
                     "): the communicator is broken by an earlier failure: ", broken_reason));
  }

  // Aborts the NCCL communicator (unblocking its kernels) and marks the state broken.
  void Break(const absl::Status& cause) {
    if (broken) return;
    broken = true;
    broken_reason = std::string(cause.message());
    if (comm != nullptr) {
      ncclCommAbort(comm);
      comm = nullptr;
    }
  }
};

class NcclWork : public Work {
 public:
  NcclWork(std::shared_ptr<NcclState> state, std::string what, absl::Time deadline,
           cudaEvent_t event, std::vector<at::Tensor> tensors)
      : state_(std::move(state)),
        what_(std::move(what)),
        deadline_(deadline),
        event_(event),
        tensors_(std::move(tensors)) {}

  ~NcclWork() override {
    if (!result_.has_value()) {
      for (at::Tensor& t : tensors_) state_->kept.push_back(std::move(t));
    }
    if (event_ != nullptr) cudaEventDestroy(event_);
  }

  absl::Status Wait() override {
    if (result_.has_value()) return *result_;
    for (int i = 0;; ++i) {
      std::optional<absl::Status> done = Poll();
      if (done.has_value()) {
        result_ = *done;
        break;
      }
      PollBackoff(i);
    }
    if (!result_->ok()) state_->Break(*result_);
    tensors_.clear();
    return *result_;
  }

  bool IsCompleted() override {
    if (result_.has_value()) return true;
    return Poll().has_value();
  }

 private:
  // The final status if the op has ended (or must be given up), nullopt while it runs.
  std::optional<absl::Status> Poll() {
    if (state_->broken) return state_->CheckUsable(what_);
    cudaSetDevice(state_->device);
    cudaError_t query = cudaEventQuery(event_);
    if (query == cudaSuccess) return absl::OkStatus();
    if (query != cudaErrorNotReady)
      return CudaStatus(query, absl::StrCat(what_, ": cudaEventQuery"));
    ncclResult_t async = ncclSuccess;
    ncclCommGetAsyncError(state_->comm, &async);
    if (async != ncclSuccess && async != ncclInProgress) {
      return NcclStatus(async, what_, state_->comm);
    }
    if (absl::Now() >= deadline_) {
      return absl::DeadlineExceededError(
          absl::StrCat(what_,
                       " did not complete before its timeout (a peer rank may have died, "
                       "hung, or not joined the collective)"));
    }
    return std::nullopt;
  }

  std::shared_ptr<NcclState> state_;
  std::string what_;
  absl::Time deadline_;
  cudaEvent_t event_;
  std::vector<at::Tensor> tensors_;  // kept alive while the op runs
  std::optional<absl::Status> result_;
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(std::shared_ptr<NcclState> state, std::unique_ptr<Communicator> mpi)
      : state_(std::move(state)), mpi_(std::move(mpi)) {}

  int rank() const override { return state_->rank; }
  int size() const override { return state_->size; }
  absl::string_view backend() const override { return "nccl"; }
  const std::string& group_name() const override { return state_->group_name; }

  std::unique_ptr<Work> AllReduce(std::vector<at::Tensor>& tensors,
                                  const AllReduceOptions& options) override {
    const std::string what = absl::StrCat("all-reduce (", ReduceOpName(options.op), ") on '",
                                          state_->group_name, "' (nccl, rank ", state_->rank, ")");
    absl::Status valid = Validate(ValidateAllReduceTensors(tensors, options.op), tensors, what);
    if (!valid.ok()) return CompletedWork(valid);
    const ncclRedOp_t op = NcclOp(options.op);
    return Launch(what, absl::Now() + options.timeout, tensors, [&](const at::Tensor& t) {
      void* data = t.data_ptr();
      return ncclAllReduce(data, data, t.numel(), *NcclType(t.scalar_type()), op, state_->comm,
                           state_->stream);
    });
  }

  std::unique_ptr<Work> Broadcast(std::vector<at::Tensor>& tensors,
                                  const BroadcastOptions& options) override {
    const std::string what = absl::StrCat("broadcast from root ", options.root, " on '",
                                          state_->group_name, "' (nccl, rank ", state_->rank, ")");
    absl::Status valid =
        Validate(ValidateBroadcastTensors(tensors, options.root, state_->size), tensors, what);
    if (!valid.ok()) return CompletedWork(valid);
    return Launch(what, absl::Now() + options.timeout, tensors, [&](const at::Tensor& t) {
      void* data = t.data_ptr();
      return ncclBroadcast(data, data, t.nbytes(), ncclUint8, options.root, state_->comm,
                           state_->stream);
    });
  }

  std::unique_ptr<Work> Barrier(const BarrierOptions& options) override {
    const std::string what =
        absl::StrCat("barrier on '", state_->group_name, "' (nccl, rank ", state_->rank, ")");
    absl::Status usable = state_->CheckUsable(what);
    if (!usable.ok()) return CompletedWork(usable);
    std::vector<at::Tensor> none;
    return Launch(what, absl::Now() + options.timeout, none, nullptr);
  }

  absl::StatusOr<std::vector<std::string>> AllGatherBytes(
      const std::string& mine, const AllGatherOptions& options) override {
    return mpi_->AllGatherBytes(mine, options);
  }

 private:
  absl::Status Validate(absl::Status tensors_valid, const std::vector<at::Tensor>& tensors,
                        absl::string_view what) {
    R1_RETURN_IF_ERROR(state_->CheckUsable(what));
    if (!tensors_valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", tensors_valid.message()));
    }
    for (size_t i = 0; i < tensors.size(); ++i) {
      const at::Tensor& t = tensors[i];
      if (!t.device().is_cuda() || t.device().index() != state_->device) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": tensor ", i, " is on ",
                                                       t.device().str(), "; this communicator ",
                                                       "uses cuda:", state_->device));
      }
      if (!t.is_contiguous()) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": tensor ", i,
                                                       " is not contiguous (the nccl backend needs "
                                                       "contiguous tensors)"));
      }
    }
    return absl::OkStatus();
  }

  // Enqueues `call` for every tensor (or the barrier all-reduce when `call` is null) in one NCCL
  // group on the communicator's stream, then records the completion event.
  template <typename Call>
  std::unique_ptr<Work> Launch(const std::string& what, absl::Time deadline,
                               std::vector<at::Tensor>& tensors, Call call) {
    auto fail = [&](absl::Status error) {
      state_->Break(error);
      return CompletedWork(error);
    };
    absl::Status st =
        CudaStatus(cudaSetDevice(state_->device), absl::StrCat(what, ": cudaSetDevice"));
    if (!st.ok()) return CompletedWork(st);
    // Stream order: the collective starts after the work already queued on the compute stream
    // (which produced its tensors) and the compute stream's later work waits for it to finish.
    st = StreamWaitsFor(state_->stream, kComputeStream, absl::StrCat(what, ": wait for compute"));
    if (!st.ok()) return fail(st);
    st = NcclStatus(ncclGroupStart(), absl::StrCat(what, ": ncclGroupStart"), state_->comm);
    if (!st.ok()) return fail(st);
    if constexpr (std::is_same_v<Call, std::nullptr_t>) {
      st = NcclStatus(ncclAllReduce(state_->barrier_value, state_->barrier_value, 1, ncclInt32,
                                    ncclSum, state_->comm, state_->stream),
                      what, state_->comm);
    } else {
      for (const at::Tensor& t : tensors) {
        st = NcclStatus(call(t), what, state_->comm);
        if (!st.ok()) break;
      }
    }
    absl::Status ended =
        NcclStatus(ncclGroupEnd(), absl::StrCat(what, ": ncclGroupEnd"), state_->comm);
    if (st.ok()) st = ended;
    if (st.ok()) st = WaitNcclReady(state_->comm, deadline, what);
    if (!st.ok()) return fail(st);
    cudaEvent_t event = nullptr;
    st = CudaStatus(cudaEventCreateWithFlags(&event, cudaEventDisableTiming),
                    absl::StrCat(what, ": cudaEventCreate"));
    if (st.ok()) {
      st = CudaStatus(cudaEventRecord(event, state_->stream),
                      absl::StrCat(what, ": cudaEventRecord"));
    }
    if (st.ok()) {
      st = CudaStatus(cudaStreamWaitEvent(kComputeStream, event, 0),
                      absl::StrCat(what, ": compute stream waits for the collective"));
    }
    if (!st.ok()) {
      if (event != nullptr) cudaEventDestroy(event);
      return fail(st);
    }
    return std::make_unique<NcclWork>(state_, what, deadline, event, tensors);
  }

  std::shared_ptr<NcclState> state_;
  std::unique_ptr<Communicator> mpi_;  // same group over MPI: id exchange, AllGatherBytes
};

}  // namespace

int CudaDeviceCount() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

absl::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(const CommOptions& options) {
  const int devices = CudaDeviceCount();
  if (devices == 0) {
    return absl::FailedPreconditionError(
        "communicator backend 'nccl': no CUDA device is visible to this process");
  }
  const absl::Time deadline = absl::Now() + options.init_timeout;
  R1_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> mpi, CreateMpiCommunicator(options));
  auto state = std::make_shared<NcclState>();
  state->rank = mpi->rank();
  state->size = mpi->size();
  state->group_name = options.group_name;
  state->device = options.cuda_device >= 0 ? options.cuda_device : LauncherLocalRank() % devices;
  if (state->device >= devices) {
    return absl::InvalidArgumentError(absl::StrCat("cuda_device ", options.cuda_device,
                                                   " is out of range (", devices, " visible)"));
  }
  const std::string what =
      absl::StrCat("NCCL init of '", options.group_name, "' (rank ", state->rank, ")");
  R1_RETURN_IF_ERROR(
      CudaStatus(cudaSetDevice(state->device), absl::StrCat(what, ": cudaSetDevice")));

  // Rank 0 makes the unique id; everyone gets it over MPI.
  ncclUniqueId id;
  std::memset(&id, 0, sizeof(id));
  if (state->rank == 0) {
    R1_RETURN_IF_ERROR(
        NcclStatus(ncclGetUniqueId(&id), absl::StrCat(what, ": ncclGetUniqueId"), nullptr));
  }
  at::Tensor id_bytes = at::empty({static_cast<int64_t>(sizeof(id))}, at::kByte);
  std::memcpy(id_bytes.data_ptr(), &id, sizeof(id));
  std::vector<at::Tensor> id_tensors = {id_bytes};
  BroadcastOptions id_options;
  id_options.timeout = deadline - absl::Now();
  R1_RETURN_IF_ERROR(mpi->Broadcast(id_tensors, id_options)->Wait());
  std::memcpy(&id, id_bytes.data_ptr(), sizeof(id));

  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // every call returns at once; progress is polled against deadlines
  ncclResult_t rc = ncclCommInitRankConfig(&state->comm, state->size, id, state->rank, &config);
  if (rc != ncclSuccess && rc != ncclInProgress) {
    absl::Status error = NcclStatus(rc, absl::StrCat(what, ": ncclCommInitRankConfig"), nullptr);
    if (state->comm != nullptr) state->Break(error);
    return error;
  }
  absl::Status ready = WaitNcclReady(state->comm, deadline, what);
  if (!ready.ok()) {
    state->Break(ready);
    return ready;
  }
  R1_RETURN_IF_ERROR(CudaStatus(cudaStreamCreateWithFlags(&state->stream, cudaStreamNonBlocking),
                                absl::StrCat(what, ": cudaStreamCreate")));
  R1_RETURN_IF_ERROR(CudaStatus(cudaMalloc(&state->barrier_value, sizeof(int)),
                                absl::StrCat(what, ": cudaMalloc")));
  R1_RETURN_IF_ERROR(CudaStatus(cudaMemset(state->barrier_value, 0, sizeof(int)),
                                absl::StrCat(what, ": cudaMemset")));
  return std::unique_ptr<Communicator>(new NcclCommunicator(std::move(state), std::move(mpi)));
}

}  // namespace r1
