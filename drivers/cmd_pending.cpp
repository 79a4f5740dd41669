// Subcommands of DESIGN.md §6 that this version does not implement yet. They are listed by
// `innmf --help` so that the command line's shape is visible, and say what is missing.

#include <fmt/format.h>

#include "cli.hpp"
#include "innmf/core/error.hpp"

namespace innmf::cli {

std::vector<Command> add_pending_commands(CLI::App& app, CommonOptions& common) {
  struct Pending {
    const char* name;
    const char* description;
  };
  static const std::vector<Pending> pending = {
      {"separate", "Separate a mixture with source models (not yet available)"},
  };
  std::vector<Command> commands;
  for (const auto& p : pending) {
    auto* sub = app.add_subcommand(p.name, p.description);
    sub->allow_extras();
    sub->fallthrough(false);  // keep whatever arguments are given: the command explains itself
    add_common_options(*sub, common);
    Command command;
    command.app = sub;
    const std::string name = p.name;
    command.run = [name](const mpi::Comm&) -> int {
      throw UsageError(fmt::format("`innmf {}` is not implemented in innmf {} yet; this version "
                                   "provides `innmf features` and `innmf info`",
                                   name, INNMF_VERSION));
    };
    commands.push_back(command);
  }
  return commands;
}

}  // namespace innmf::cli
