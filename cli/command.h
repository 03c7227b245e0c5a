// The r1 subcommand registry: every cli/*.cc file registers one command with R1_REGISTER_COMMAND,
// and main() dispatches `r1 NAME ARGS...` to it. Duplicate names abort at start-up (a programmer
// error, found by any run).
#ifndef R1_CLI_COMMAND_H_
#define R1_CLI_COMMAND_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace r1::cli {

struct Command {
  std::string name;     // e.g. "tokenize" or "model init" (words separated by one space)
  std::string summary;  // one line for `r1 --help`
  std::string usage;    // full text for `r1 NAME --help`
  // Runs the command with the arguments after its name; returns the process exit code.
  std::function<int(const std::vector<std::string>& args)> run;
};

// Registers `command`; aborts if the name is taken.
bool RegisterCommand(Command command);

// All commands by name.
const std::map<std::string, Command>& Commands();

}  // namespace r1::cli

#define R1_CLI_CONCAT_INNER_(a, b) a##b
#define R1_CLI_CONCAT_(a, b) R1_CLI_CONCAT_INNER_(a, b)
// R1_REGISTER_COMMAND(r1::cli::Command{...}); at namespace scope in a cli/*.cc file.
#define R1_REGISTER_COMMAND(...)                                                   \
  static const bool R1_CLI_CONCAT_(r1_command_registered_, __LINE__) [[maybe_unused]] = \
      ::r1::cli::RegisterCommand(__VA_ARGS__)

#endif  // R1_CLI_COMMAND_H_
