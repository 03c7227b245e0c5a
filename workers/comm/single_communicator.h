// The "single" backend: a group of one rank (no launcher, no network). Every collective is the
// identity and completes immediately; arguments are still checked like the other backends do.
#ifndef R1_WORKERS_COMM_SINGLE_COMMUNICATOR_H_
#define R1_WORKERS_COMM_SINGLE_COMMUNICATOR_H_

#include <memory>
#include <string>

#include "workers/comm/communicator.h"

namespace r1 {

// A world of size 1 named `group_name`. Never fails.
std::unique_ptr<Communicator> CreateSingleCommunicator(std::string group_name = "world");

}  // namespace r1

#endif  // R1_WORKERS_COMM_SINGLE_COMMUNICATOR_H_
