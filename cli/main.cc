// The r1 binary: `r1 COMMAND [ARGS...]` dispatches to the commands registered in cli/*.cc.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"

namespace r1::cli {
namespace {

void PrintTopHelp() {
  std::printf("r1: multi-stage LLM post-training (the DeepSeek-R1 recipe)\n\nusage: r1 COMMAND [ARGS...]\n\ncommands:\n");
  for (const auto& [name, command] : Commands()) {
    std::printf("  %-18s %s\n", name.c_str(), command.summary.c_str());
  }
  std::printf("\n`r1 COMMAND --help` describes one command.\n");
}

}  // namespace

std::map<std::string, Command>& MutableCommands() {
  static auto* commands = new std::map<std::string, Command>();
  return *commands;
}

bool RegisterCommand(Command command) {
  auto& commands = MutableCommands();
  if (commands.count(command.name)) {
    std::fprintf(stderr, "r1: command \"%s\" registered twice\n", command.name.c_str());
    std::abort();
  }
  std::string name = command.name;
  commands.emplace(std::move(name), std::move(command));
  return true;
}

const std::map<std::string, Command>& Commands() { return MutableCommands(); }

// Finds the longest registered command name made of the first words of `argv` ("model init").
int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintTopHelp();
    return args.empty() ? 2 : 0;
  }
  const Command* best = nullptr;
  size_t best_words = 0;
  std::string name;
  for (size_t i = 0; i < args.size() && i < 3; ++i) {
    name = i == 0 ? args[0] : name + " " + args[i];
    auto it = Commands().find(name);
    if (it != Commands().end()) {
      best = &it->second;
      best_words = i + 1;
    }
  }
  if (best == nullptr) {
    std::fprintf(stderr, "r1: unknown command \"%s\" (see r1 --help)\n", args[0].c_str());
    return 2;
  }
  std::vector<std::string> rest(args.begin() + static_cast<long>(best_words), args.end());
  for (const auto& a : rest) {
    if (a == "--help" || a == "-h") {
      std::printf("%s\n", best->usage.c_str());
      return 0;
    }
  }
  return best->run(rest);
}

}  // namespace r1::cli

int main(int argc, char** argv) { return r1::cli::Main(argc, argv); }
