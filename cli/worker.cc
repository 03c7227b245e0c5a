// `r1 worker --scheduler HOST:PORT`: one worker process. Serves the Worker service on a local
// LocalWorker, registers with the scheduler (which assigns its roles from its launcher rank),
// creates the data-plane communicators of those roles together with the other ranks of its
// launcher job, and heartbeats until the scheduler says the run is over, asks it to shut down,
// or has been unreachable for --scheduler-timeout seconds (then it exits by itself).
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/tls_flags.h"
#include "model/threads.h"
#include "r1/v1/scheduler.grpc.pb.h"
#include "scheduler/run_token.h"
#include "worker_api/tls_credentials.h"
#include "worker_api/worker_proto.h"
#include "workers/comm/create_communicator.h"
#include "workers/device.h"
#include "workers/local_worker.h"
#include "workers/service/worker_service.h"
#include "workers/worker_comms.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 worker --scheduler HOST:PORT [--token-file FILE] [--listen HOST:PORT]
                 [--advertise HOST] [--threads N] [--backend auto|mpi|nccl|single]
                 [--device cpu|cuda|cuda:N] [--dtype float32|bfloat16]
                 [--scheduler-timeout SECONDS] [--tls-cert FILE --tls-key FILE --tls-ca FILE]
                 [--tls-server-name NAME]

One worker process of a run. Start all the workers of a run as ONE launcher job (mpirun, srun,
the MPI Operator): their ranks form the trainer and weight-sync communicators, and the scheduler
gives ranks 0..cluster.trainer_ranks-1 the trainer role. `r1 run` starts them itself in local
mode; start them by hand (or from deploy/) for a scheduler in external mode (`r1 scheduler`).

  --scheduler HOST:PORT     the scheduler (RUN_DIR/scheduler.addr holds it)
  --token-file FILE         the run's secret (RUN_DIR/token); default: the R1_TOKEN variable
  --listen HOST:PORT        where to serve the Worker service (default: 127.0.0.1:0 when the
                            scheduler is on this machine's loopback, else 0.0.0.0:0)
  --advertise HOST          the host name the scheduler dials (default: the listen host, or
                            this machine's name for a wildcard listen address)
  --threads N               threads for tensor work (default: R1_THREADS, else this
                            process's share of the node's cores)
  --backend NAME            collectives backend (default auto: nccl on GPUs, mpi under a
                            launcher, else single)
  --device DEVICE           where the models and the collectives' tensors live: cpu (the
                            default), cuda (the device of this process's local rank in its
                            launcher job, modulo the visible devices) or cuda:N. A worker that
                            cannot use it still registers, with the reason, so that the
                            scheduler ends the run at once; then it exits 1
  --dtype float32|bfloat16  the models' compute dtype (default: the one the scheduler
                            announces at registration, the config's model.dtype with float16
                            computed as float32; float32 when it announces none)
  --scheduler-timeout S     exit when the scheduler has not answered for S seconds (default 30)
  --tls-cert/--tls-key/--tls-ca FILE
                            cluster.tls of the run (PEM files): serve TLS requiring a client
                            certificate signed by the CA, and present this one to the scheduler
  --tls-server-name NAME    check the scheduler's certificate against NAME, not the dialed host

Exit status: 0 when the scheduler ended the run, 1 on errors, 2 usage, 3 when the scheduler no
longer knows this worker or declared it dead, 4 when the scheduler stayed unreachable.)";

// This process's rank and world size in its launcher job; {-1, 0} without a launcher.
std::pair<int32_t, int32_t> LauncherRank() {
  const char* pairs[][2] = {{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                            {"PMIX_RANK", "PMIX_SIZE"},
                            {"PMI_RANK", "PMI_SIZE"},
                            {"SLURM_PROCID", "SLURM_NTASKS"}};
  for (const auto& p : pairs) {
    const char* rank = std::getenv(p[0]);
    if (rank == nullptr) continue;
    const char* size = std::getenv(p[1]);
    return {std::atoi(rank), size != nullptr ? std::atoi(size) : 0};
  }
  return {-1, 0};
}

bool IsLoopback(const std::string& address) {
  const std::string host = address.substr(0, address.rfind(':'));
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "::1";
}

std::string HostName() {
  char name[HOST_NAME_MAX + 1] = {};
  gethostname(name, sizeof(name));
  return name;
}

void Say(const std::string& prefix, const std::string& line) {
  std::fprintf(stderr, "%s %s\n", prefix.c_str(), line.c_str());
  std::fflush(stderr);
}

int RunWorker(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"scheduler", "token-file", "listen", "advertise",        "threads",
                        "backend",   "device",     "dtype",  "scheduler-timeout"};
  AddTlsOptions(&spec);
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  if (!args.ok() || !args->Has("scheduler") || !args->positional().empty()) {
    std::fprintf(stderr, "r1 worker: %s\n%s\n",
                 args.ok() ? "--scheduler HOST:PORT is required"
                           : std::string(args.status().message()).c_str(),
                 kUsage);
    return 2;
  }
  const std::string scheduler = *args->Get("scheduler");
  absl::StatusOr<int64_t> threads = args->GetInt("threads", 0);
  absl::StatusOr<double> timeout_s = args->GetDouble("scheduler-timeout", 30.0);
  absl::StatusOr<CommBackend> backend = ParseCommBackend(args->GetOr("backend", "auto"));
  const std::string device = args->GetOr("device", "cpu");
  for (const absl::Status& s : {threads.status(), timeout_s.status(), backend.status()}) {
    if (!s.ok()) {
      std::fprintf(stderr, "r1 worker: %s\n", std::string(s.message()).c_str());
      return 2;
    }
  }
  std::string dtype = args->GetOr("dtype", "");  // empty: the scheduler's, else float32
  if (!dtype.empty() && dtype != "float32" && dtype != "bfloat16") {
    std::fprintf(stderr, "r1 worker: --dtype must be float32 or bfloat16, got \"%s\"\n",
                 dtype.c_str());
    return 2;
  }
  // The concrete device ("cpu", "cuda:N"), resolved before registering: a worker that cannot have
  // it tells the scheduler why (RegisterRequest.unusable) instead of failing later.
  absl::StatusOr<std::string> resolved = ResolveWorkerDevice(device, LauncherLocalRank());
  if (absl::IsInvalidArgument(resolved.status())) {
    std::fprintf(stderr, "r1 worker: --device: %s\n",
                 std::string(resolved.status().message()).c_str());
    return 2;
  }
  const std::string unusable = resolved.ok() ? "" : std::string(resolved.status().message());
  const auto [mpi_rank, mpi_size] = LauncherRank();
  const std::string who = absl::StrCat("r1 worker[", mpi_rank < 0 ? 0 : mpi_rank, "]:");
  absl::StatusOr<std::string> token = ReadRunToken(args->GetOr("token-file", ""));
  if (!token.ok()) {
    Say(who, std::string(token.status().message()));
    return 1;
  }
  const ThreadPlan thread_plan = ConfigureThreads(static_cast<int32_t>(*threads));
  const TlsConfig tls = TlsFromFlags(*args);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> server_credentials =
      MakeServerCredentials(tls, "--tls-");
  if (!server_credentials.ok()) {
    Say(who, std::string(server_credentials.status().message()));
    return 1;
  }

  // 1. Serve first (the address goes into the registration); calls wait for the backend.
  WorkerService service(nullptr, *token);
  const std::string listen =
      args->GetOr("listen", IsLoopback(scheduler) ? "127.0.0.1:0" : "0.0.0.0:0");
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, *server_credentials, &port);
  builder.SetMaxReceiveMessageSize(INT_MAX);
  builder.SetMaxSendMessageSize(INT_MAX);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Say(who, absl::StrCat("cannot listen on ", listen));
    return 1;
  }
  std::string host = args->GetOr("advertise", listen.substr(0, listen.rfind(':')));
  if (host == "0.0.0.0" || host == "[::]") host = HostName();
  const std::string address = absl::StrCat(host, ":", port);

  // 2. Register (the scheduler may still be starting: retry until the timeout).
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeChannel(scheduler, tls, grpc::ChannelArguments(), "--tls-");
  if (!channel.ok()) {
    Say(who, std::string(channel.status().message()));
    return 1;
  }
  std::unique_ptr<v1::Scheduler::Stub> stub = v1::Scheduler::NewStub(*channel);
  auto context_for = [&](absl::Duration deadline) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata(kTokenMetadataKey, *token);
    context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return context;
  };
  v1::RegisterRequest request;
  request.set_address(address);
  request.set_host(HostName());
  for (const char* role : {"trainer", "rollout", "reward"}) request.add_roles(role);
  request.mutable_resources()->set_cpu_cores(
      static_cast<int32_t>(std::thread::hardware_concurrency()));
  request.mutable_resources()->set_gpus(ProbeCuda().devices);
  request.set_unusable(unusable);
  request.set_mpi_rank(mpi_rank);
  request.set_mpi_world_size(mpi_size);
  request.set_pid(getpid());
  v1::RegisterResponse registered;
  const absl::Time register_deadline = absl::Now() + absl::Seconds(*timeout_s);
  while (true) {
    grpc::Status s = stub->Register(context_for(absl::Seconds(5)).get(), request, &registered);
    if (s.ok()) break;
    const bool retry = s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                       s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (!retry || absl::Now() > register_deadline) {
      Say(who, absl::StrCat("cannot register with the scheduler at ", scheduler, ": ",
                            s.error_message()));
      return retry ? 4 : 1;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  const std::vector<std::string> roles(registered.roles().begin(), registered.roles().end());
  auto has = [&](const char* role) {
    return std::find(roles.begin(), roles.end(), role) != roles.end();
  };
  if (dtype.empty()) dtype = registered.dtype() == "bfloat16" ? "bfloat16" : "float32";
  if (!unusable.empty()) {
    Say(who,
        absl::StrCat("registered as ", registered.worker_id(), " but ", unusable, "; exiting"));
    return 1;
  }
  Say(who,
      absl::StrCat("registered as ", registered.worker_id(), " [", absl::StrJoin(roles, ","), "]",
                   registered.group() > 0 ? absl::StrCat(" in group ", registered.group()) : "",
                   ", serving on ", address, " (", *resolved, ", ", dtype, ", ",
                   ToString(thread_plan), ")"));

  // 3. The communicators of these roles, collectively with the other ranks of the job.
  WorkerCommsOptions comm_options;
  comm_options.is_trainer = has("trainer");
  comm_options.in_weight_sync = has("weight_sync");
  comm_options.group = registered.group();
  comm_options.backend = *backend;
  comm_options.use_gpu = *resolved != "cpu";
  comm_options.cuda_device = CudaOrdinal(*resolved);
  absl::StatusOr<WorkerComms> comms = CreateWorkerComms(comm_options);
  if (!comms.ok()) {
    Say(who, absl::StrCat("communicators: ", comms.status().message()));
    return 1;
  }
  LocalWorkerOptions worker_options;
  worker_options.device = *resolved;
  worker_options.dtype = dtype;
  worker_options.generation_batch = registered.rollout_max_batch();
  worker_options.trainer_comm = comms->trainer.get();
  worker_options.weight_sync_comm = comms->weight_sync.get();
  LocalWorker worker(worker_options);
  service.set_backend(&worker);

  // 4. Heartbeats until the run ends, a Shutdown arrives, or the scheduler is gone.
  const absl::Duration interval =
      absl::Milliseconds(std::max(100, registered.heartbeat_interval_ms()));
  absl::Time last_answer = absl::Now();
  int exit_code = 0;
  while (!service.shutdown_requested()) {
    v1::HeartbeatRequest beat;
    beat.set_worker_id(registered.worker_id());
    v1::HeartbeatResponse answer;
    grpc::Status s = stub->Heartbeat(context_for(absl::Seconds(5)).get(), beat, &answer);
    if (s.ok()) {
      last_answer = absl::Now();
      if (!answer.keep_running()) {
        Say(who, "the scheduler ended the run; exiting");
        break;
      }
    } else if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
               s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
               s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      // Unknown to the scheduler (a new run, a relaunch) or already declared dead.
      Say(who,
          absl::StrCat("the scheduler refused this worker (", s.error_message(), "); exiting"));
      exit_code = 3;
      break;
    } else if (absl::Now() - last_answer > absl::Seconds(*timeout_s)) {
      Say(who, absl::StrCat("the scheduler at ", scheduler, " has not answered for ",
                            absl::FormatDuration(absl::Now() - last_answer), "; exiting"));
      exit_code = 4;
      break;
    }
    // Sleep in small slices so that a Shutdown call ends the loop quickly.
    for (absl::Time until = absl::Now() + interval;
         absl::Now() < until && !service.shutdown_requested();) {
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (exit_code != 0) {
    // The job is broken (a peer or the scheduler is gone): do not wait in MPI_Finalize for
    // ranks that may never arrive.
    std::fflush(nullptr);
    _exit(exit_code);
  }
  return 0;
}

R1_REGISTER_COMMAND(Command{"worker", "serve one worker process of a run (started by a launcher)",
                            kUsage, RunWorker});

}  // namespace
}  // namespace r1::cli
