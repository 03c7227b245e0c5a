// `r1 cancel`: the Cancel RPC of a running scheduler. Running stages stop at their next worker
// call, keep their newest checkpoint, and `r1 run --resume RUN_DIR` continues the run.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/tls_flags.h"
#include "r1/v1/scheduler.grpc.pb.h"
#include "scheduler/run_token.h"
#include "worker_api/tls_credentials.h"
#include "worker_api/worker_proto.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 cancel --run-dir DIR [--reason TEXT] [TLS options]
       r1 cancel --scheduler HOST:PORT [--token-file FILE] [--reason TEXT] [TLS options]

Cancels a running run through its scheduler: the running stage stops at its next worker call
and keeps its newest checkpoint; `r1 run --resume DIR` continues it later. With --run-dir the
address and the token come from DIR/scheduler.addr and DIR/token; with --scheduler the token
comes from --token-file or the R1_TOKEN variable.

A run with cluster.tls needs the cluster's certificate: with --run-dir it is taken from
DIR/run.yaml; --tls-cert FILE, --tls-key FILE, --tls-ca FILE and --tls-server-name NAME give or
replace it.

Exit status: 0 when the scheduler accepted the request, 1 when it could not be reached or
refused it, 2 usage.)";

int RunCancel(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"run-dir", "scheduler", "token-file", "reason"};
  AddTlsOptions(&spec);
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  if (!args.ok() || !args->positional().empty() || args->Has("run-dir") == args->Has("scheduler")) {
    std::fprintf(stderr, "r1 cancel: %s\n%s\n",
                 args.ok() ? "give exactly one of --run-dir and --scheduler"
                           : std::string(args.status().message()).c_str(),
                 kUsage);
    return 2;
  }
  std::string address = args->GetOr("scheduler", "");
  std::string token_file = args->GetOr("token-file", "");
  TlsConfig tls = TlsFromFlags(*args);
  if (args->Has("run-dir")) {
    const std::string dir = *args->Get("run-dir");
    absl::StatusOr<std::string> found = ReadSchedulerAddress(dir);
    if (!found.ok()) {
      std::fprintf(stderr, "r1 cancel: %s\n", std::string(found.status().message()).c_str());
      return 1;
    }
    address = *found;
    token_file = JoinPath(dir, "token");
    tls = TlsForRunDir(*args, dir);
  }
  absl::StatusOr<std::string> token = ReadRunToken(token_file);
  if (!token.ok()) {
    std::fprintf(stderr, "r1 cancel: %s\n", std::string(token.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeChannel(address, tls, grpc::ChannelArguments(), "--tls-");
  if (!channel.ok()) {
    std::fprintf(stderr, "r1 cancel: %s\n", std::string(channel.status().message()).c_str());
    return 1;
  }
  auto stub = v1::Scheduler::NewStub(*channel);
  grpc::ClientContext context;
  context.AddMetadata(kTokenMetadataKey, *token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::CancelRequest request;
  request.set_reason(args->GetOr("reason", "r1 cancel"));
  v1::CancelResponse response;
  grpc::Status s = stub->Cancel(&context, request, &response);
  if (!s.ok()) {
    std::fprintf(stderr, "r1 cancel: scheduler at %s: %s\n", address.c_str(),
                 s.error_message().c_str());
    return 1;
  }
  std::printf("cancel requested at %s\n", address.c_str());
  return 0;
}

R1_REGISTER_COMMAND(Command{"cancel", "cancel a running run (it can be resumed)", kUsage,
                            RunCancel});

}  // namespace
}  // namespace r1::cli
