// The "mpi" backend: MPI_Iallreduce / MPI_Ibcast / MPI_Ibarrier / MPI_Iallgather(v) on a
// communicator split from MPI_COMM_WORLD, each Work polling its requests until done or timeout.
#include "workers/comm/mpi_communicator.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "workers/comm/mpi_util.h"

namespace r1 {
namespace {

using comm_internal::EnsureMpiInitialized;
using comm_internal::MpiLock;
using comm_internal::MpiStatus;
using comm_internal::PollRequests;

// MPI counts are ints: larger buffers go out in several requests of at most this many elements.
constexpr int64_t kMaxChunkElements = int64_t{1} << 30;

// The requests of one collective and everything MPI may still read or write for them.
struct InFlight {
  std::vector<MPI_Request> requests;
  std::vector<at::Tensor> buffers;   // what MPI reads/writes (contiguous; f32 for bf16/f16)
  std::vector<at::Tensor> targets;   // the caller's tensors (may be the same as buffers)
  std::shared_ptr<void> keep_alive;  // other memory MPI uses (all-gather buffers)
};

// Requests that may never complete keep their memory until the process ends: freeing it would let
// a late peer's data land in reused memory.
void KeepForever(InFlight in_flight) {
  static std::mutex* mu = new std::mutex;
  static std::vector<InFlight>* kept = new std::vector<InFlight>;
  std::lock_guard<std::mutex> lock(*mu);
  kept->push_back(std::move(in_flight));
}

bool MpiFinalized() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  return finalized != 0;
}

// Shared by a communicator and its Works.
struct MpiState {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
  std::string group_name;
  bool broken = false;
  std::string broken_reason;
  std::vector<InFlight> abandoned;  // timed out or dropped before completion

  ~MpiState() {
    if (MpiFinalized()) return;  // nothing can arrive any more; memory is freed normally
    auto lock = MpiLock();
    for (InFlight& in_flight : abandoned) {
      int done = 0;
      MPI_Testall(static_cast<int>(in_flight.requests.size()), in_flight.requests.data(), &done,
                  MPI_STATUSES_IGNORE);
      if (!done) KeepForever(std::move(in_flight));
    }
    // Pending operations (if any) still complete; MPI frees the communicator after them.
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  }

  absl::Status CheckUsable(absl::string_view op) const {
    if (!broken) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat(op, " on communicator '", group_name, "' (mpi, rank ", rank,
                     "): the communicator is broken by an earlier failure: ", broken_reason));
  }

  void Break(const absl::Status& cause, InFlight in_flight) {
    if (!broken) {
      broken = true;
      broken_reason = std::string(cause.message());
    }
    if (!in_flight.requests.empty()) abandoned.push_back(std::move(in_flight));
  }
};

class MpiWork : public Work {
 public:
  MpiWork(std::shared_ptr<MpiState> state, std::string what, absl::Time deadline,
          InFlight in_flight, bool divide_by_size)
      : state_(std::move(state)),
        what_(std::move(what)),
        deadline_(deadline),
        in_flight_(std::move(in_flight)),
        divide_by_size_(divide_by_size) {}

  ~MpiWork() override {
    // Dropped before Wait(): MPI may still use the buffers, so the state keeps them.
    if (!result_.has_value() && !in_flight_.requests.empty()) {
      state_->abandoned.push_back(std::move(in_flight_));
    }
  }

  absl::Status Wait() override {
    if (!result_.has_value()) result_ = Finish(PollRequests(in_flight_.requests, deadline_, what_));
    return *result_;
  }

  bool IsCompleted() override {
    if (result_.has_value()) return true;
    if (absl::Now() >= deadline_) return true;
    int done = 0;
    auto lock = MpiLock();
    int rc = MPI_Testall(static_cast<int>(in_flight_.requests.size()), in_flight_.requests.data(),
                         &done, MPI_STATUSES_IGNORE);
    return rc != MPI_SUCCESS || done != 0;
  }

 private:
  absl::Status Finish(absl::Status polled) {
    if (!polled.ok()) {
      state_->Break(polled, std::move(in_flight_));
      return polled;
    }
    try {
      at::NoGradGuard no_grad;  // targets may be parameters that require grad
      for (size_t i = 0; i < in_flight_.buffers.size(); ++i) {
        at::Tensor& buffer = in_flight_.buffers[i];
        if (divide_by_size_) buffer.div_(state_->size);
        if (!buffer.is_same(in_flight_.targets[i])) in_flight_.targets[i].copy_(buffer);
      }
    } catch (const c10::Error& e) {
      return absl::InternalError(
          absl::StrCat(what_, ": copying the result back failed: ", e.what_without_backtrace()));
    }
    in_flight_ = InFlight{};
    return absl::OkStatus();
  }

  std::shared_ptr<MpiState> state_;
  std::string what_;
  absl::Time deadline_;
  InFlight in_flight_;
  bool divide_by_size_;
  std::optional<absl::Status> result_;
};

// MPI element type for a tensor that takes part in a reduction as-is (bf16/f16 are upcast first).
MPI_Datatype ReductionType(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return MPI_FLOAT;
    case at::kDouble:
      return MPI_DOUBLE;
    case at::kInt:
      return MPI_INT32_T;
    case at::kLong:
      return MPI_INT64_T;
    default:
      return MPI_DATATYPE_NULL;
  }
}

MPI_Op ToMpiOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg:
      return MPI_SUM;
    case ReduceOp::kMax:
      return MPI_MAX;
    case ReduceOp::kMin:
      return MPI_MIN;
  }
  return MPI_SUM;
}

absl::Status CheckCpu(const std::vector<at::Tensor>& tensors, absl::string_view op) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].device().is_cpu()) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": tensor ", i, " is on ",
                                                     tensors[i].device().str(),
                                                     "; the mpi backend takes CPU tensors"));
    }
  }
  return absl::OkStatus();
}

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(std::shared_ptr<MpiState> state) : state_(std::move(state)) {}

  int rank() const override { return state_->rank; }
  int size() const override { return state_->size; }
  absl::string_view backend() const override { return "mpi"; }
  const std::string& group_name() const override { return state_->group_name; }

  std::unique_ptr<Work> AllReduce(std::vector<at::Tensor>& tensors,
                                  const AllReduceOptions& options) override {
    const std::string what = absl::StrCat("all-reduce (", ReduceOpName(options.op), ") on '",
                                          state_->group_name, "' (mpi, rank ", state_->rank, ")");
    absl::Status valid = Validate(ValidateAllReduceTensors(tensors, options.op), tensors, what);
    if (!valid.ok()) return CompletedWork(valid);
    const absl::Time deadline = absl::Now() + options.timeout;
    InFlight in_flight;
    try {
      at::NoGradGuard no_grad;
      for (const at::Tensor& t : tensors) {
        const bool upcast = t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf;
        at::Tensor buffer = t.contiguous();
        if (upcast) buffer = buffer.to(at::kFloat);
        in_flight.targets.push_back(t);
        in_flight.buffers.push_back(buffer);
      }
    } catch (const c10::Error& e) {
      return CompletedWork(absl::InternalError(
          absl::StrCat(what, ": staging tensors failed: ", e.what_without_backtrace())));
    }
    {
      auto lock = MpiLock();
      for (const at::Tensor& buffer : in_flight.buffers) {
        const MPI_Datatype type = ReductionType(buffer.scalar_type());
        char* data = static_cast<char*>(buffer.data_ptr());
        for (int64_t offset = 0; offset < buffer.numel(); offset += kMaxChunkElements) {
          const int count = static_cast<int>(std::min(kMaxChunkElements, buffer.numel() - offset));
          MPI_Request request = MPI_REQUEST_NULL;
          int rc = MPI_Iallreduce(MPI_IN_PLACE, data + offset * buffer.element_size(), count, type,
                                  ToMpiOp(options.op), state_->comm, &request);
          if (rc != MPI_SUCCESS) return StartFailed(rc, "MPI_Iallreduce", what, in_flight);
          in_flight.requests.push_back(request);
        }
      }
    }
    return std::make_unique<MpiWork>(state_, what, deadline, std::move(in_flight),
                                     options.op == ReduceOp::kAvg);
  }

  std::unique_ptr<Work> Broadcast(std::vector<at::Tensor>& tensors,
                                  const BroadcastOptions& options) override {
    const std::string what = absl::StrCat("broadcast from root ", options.root, " on '",
                                          state_->group_name, "' (mpi, rank ", state_->rank, ")");
    absl::Status valid =
        Validate(ValidateBroadcastTensors(tensors, options.root, state_->size), tensors, what);
    if (!valid.ok()) return CompletedWork(valid);
    const absl::Time deadline = absl::Now() + options.timeout;
    InFlight in_flight;
    try {
      at::NoGradGuard no_grad;
      for (const at::Tensor& t : tensors) {
        in_flight.targets.push_back(t);
        in_flight.buffers.push_back(t.contiguous());
      }
    } catch (const c10::Error& e) {
      return CompletedWork(absl::InternalError(
          absl::StrCat(what, ": staging tensors failed: ", e.what_without_backtrace())));
    }
    {
      auto lock = MpiLock();
      for (const at::Tensor& buffer : in_flight.buffers) {
        char* data = static_cast<char*>(buffer.data_ptr());
        const int64_t bytes = buffer.nbytes();
        for (int64_t offset = 0; offset < bytes; offset += kMaxChunkElements) {
          const int count = static_cast<int>(std::min(kMaxChunkElements, bytes - offset));
          MPI_Request request = MPI_REQUEST_NULL;
          int rc = MPI_Ibcast(data + offset, count, MPI_BYTE, options.root, state_->comm, &request);
          if (rc != MPI_SUCCESS) return StartFailed(rc, "MPI_Ibcast", what, in_flight);
          in_flight.requests.push_back(request);
        }
      }
    }
    return std::make_unique<MpiWork>(state_, what, deadline, std::move(in_flight), false);
  }

  std::unique_ptr<Work> Barrier(const BarrierOptions& options) override {
    const std::string what =
        absl::StrCat("barrier on '", state_->group_name, "' (mpi, rank ", state_->rank, ")");
    absl::Status usable = state_->CheckUsable(what);
    if (!usable.ok()) return CompletedWork(usable);
    const absl::Time deadline = absl::Now() + options.timeout;
    InFlight in_flight;
    MPI_Request request = MPI_REQUEST_NULL;
    {
      auto lock = MpiLock();
      int rc = MPI_Ibarrier(state_->comm, &request);
      if (rc != MPI_SUCCESS)
        return CompletedWork(MpiStatus(rc, absl::StrCat(what, ": MPI_Ibarrier")));
    }
    in_flight.requests.push_back(request);
    return std::make_unique<MpiWork>(state_, what, deadline, std::move(in_flight), false);
  }

  absl::StatusOr<std::vector<std::string>> AllGatherBytes(
      const std::string& mine, const AllGatherOptions& options) override {
    const std::string what =
        absl::StrCat("all-gather on '", state_->group_name, "' (mpi, rank ", state_->rank, ")");
    R1_RETURN_IF_ERROR(state_->CheckUsable(what));
    const absl::Time deadline = absl::Now() + options.timeout;
    // Everything MPI touches lives on the heap so that a timed-out request never writes into
    // freed memory (see MpiState::Break).
    struct Buffers {
      std::string mine;
      int64_t mine_length = 0;
      std::vector<int64_t> lengths;
      std::vector<int> counts, displacements;
      std::string all;
    };
    auto buffers = std::make_shared<Buffers>();
    buffers->mine = mine;
    buffers->mine_length = static_cast<int64_t>(mine.size());
    buffers->lengths.assign(state_->size, 0);
    R1_RETURN_IF_ERROR(Gather(what, deadline, buffers, [&](MPI_Request* request) {
      return MPI_Iallgather(&buffers->mine_length, 1, MPI_INT64_T, buffers->lengths.data(), 1,
                            MPI_INT64_T, state_->comm, request);
    }));
    int64_t total = 0;
    for (int64_t length : buffers->lengths) {
      buffers->displacements.push_back(static_cast<int>(total));
      buffers->counts.push_back(static_cast<int>(length));
      total += length;
      if (total > INT_MAX) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": the gathered data exceeds ", INT_MAX, " bytes"));
      }
    }
    buffers->all.resize(total);
    R1_RETURN_IF_ERROR(Gather(what, deadline, buffers, [&](MPI_Request* request) {
      return MPI_Iallgatherv(buffers->mine.data(), static_cast<int>(buffers->mine.size()), MPI_BYTE,
                             buffers->all.data(), buffers->counts.data(),
                             buffers->displacements.data(), MPI_BYTE, state_->comm, request);
    }));
    std::vector<std::string> out;
    for (int r = 0; r < state_->size; ++r) {
      out.push_back(buffers->all.substr(buffers->displacements[r], buffers->counts[r]));
    }
    return out;
  }

 private:
  absl::Status Validate(absl::Status tensors_valid, const std::vector<at::Tensor>& tensors,
                        absl::string_view what) {
    R1_RETURN_IF_ERROR(state_->CheckUsable(what));
    if (!tensors_valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", tensors_valid.message()));
    }
    return CheckCpu(tensors, what);
  }

  // A request failed to start after others did: the started ones are abandoned and the
  // communicator is broken (ranks now disagree on the sequence of collectives).
  std::unique_ptr<Work> StartFailed(int rc, absl::string_view call, absl::string_view what,
                                    InFlight& in_flight) {
    absl::Status error = MpiStatus(rc, absl::StrCat(what, ": ", call));
    state_->Break(error, std::move(in_flight));
    return CompletedWork(error);
  }

  // Starts one all-gather step with `start` and polls it to completion; on failure the buffers
  // are handed to the broken state.
  template <typename Start>
  absl::Status Gather(absl::string_view what, absl::Time deadline, std::shared_ptr<void> buffers,
                      Start start) {
    InFlight in_flight;
    in_flight.keep_alive = std::move(buffers);
    MPI_Request request = MPI_REQUEST_NULL;
    {
      auto lock = MpiLock();
      int rc = start(&request);
      if (rc != MPI_SUCCESS) {
        absl::Status error = MpiStatus(rc, what);
        state_->Break(error, std::move(in_flight));
        return error;
      }
    }
    in_flight.requests.push_back(request);
    absl::Status polled = PollRequests(in_flight.requests, deadline, what);
    if (!polled.ok()) state_->Break(polled, std::move(in_flight));
    return polled;
  }

  std::shared_ptr<MpiState> state_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator(const CommOptions& options) {
  R1_ASSIGN_OR_RETURN(MPI_Comm comm, comm_internal::SplitWorld(options.color));
  auto state = std::make_shared<MpiState>();
  state->comm = comm;
  state->group_name = options.group_name;
  {
    auto lock = MpiLock();
    MPI_Comm_rank(comm, &state->rank);
    MPI_Comm_size(comm, &state->size);
  }
  return std::unique_ptr<Communicator>(new MpiCommunicator(std::move(state)));
}

}  // namespace r1
