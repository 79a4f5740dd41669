// The `innmf` executable: git-style subcommands (DESIGN.md §6). Every subcommand runs
// unchanged as `mpirun -np R innmf …`.

#include <CLI/CLI.hpp>
#include <omp.h>

#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <regex>
#include <string>

#include "cli.hpp"
#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/mpi/comm.hpp"
#include "innmf/mpi/environment.hpp"

namespace {

/// One line on stderr, from rank 0 only: every rank holds the same agreed error.
void report_error(const innmf::mpi::Comm& comm, const std::string& command, const std::string& message) {
  if (!comm.is_root()) return;
  std::fprintf(stderr, "innmf%s%s: error: %s\n", command.empty() ? "" : " ", command.c_str(),
               message.c_str());
  std::fflush(stderr);
}

/// CLI11's wording of two common mistakes, in innmf's: which option, what was wrong, where the
/// value came from (the command line or the --config file), what to do. Other messages pass.
std::string explain_parse_error(const std::string& message, const CLI::App& app, int argc, char** argv) {
  static const std::regex conversion(R"(^Could not convert: (\S+) = (.*)$)");
  static const std::regex repeated(R"(^(\S+): At Most 1 required but received (\d+)$)");
  std::smatch match;
  if (std::regex_match(message, match, conversion)) {
    const std::string option = match[1], value = match[2];
    bool on_command_line = false;
    for (int i = 1; i < argc; ++i) {
      const std::string word = argv[i];
      on_command_line = on_command_line || word == option || word.rfind(option + "=", 0) == 0;
    }
    const auto* config = app.get_config_ptr();
    const std::string config_path = config && config->count() > 0 ? config->as<std::string>() : std::string();
    return fmt::format("{} = {}{}: not a valid value for this option", option, value,
                       on_command_line || config_path.empty() ? std::string() : " in " + config_path);
  }
  if (std::regex_match(message, match, repeated))
    return fmt::format("{} given {} times: give it once", std::string(match[1]), std::string(match[2]));
  return message;
}

int run(int argc, char** argv, const innmf::mpi::Comm& comm) {
  using namespace innmf;
  CLI::App app{fmt::format(
      "innmf {}: implicit neural non-negative matrix factorisation of audio.\n"
      "Learns spectral templates W_k(f) and activations H_k(t) as small neural networks from\n"
      "time-frequency point sets of any layout, on one node (OpenMP) or many (MPI).",
      INNMF_VERSION)};
  app.name("innmf");
  app.set_version_flag("--version", std::string("innmf ") + INNMF_VERSION);
  app.require_subcommand(1, 1);
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(34);

  cli::add_config_option(app);
  cli::CommonOptions common;
  std::vector<cli::Command> commands;
  commands.push_back(cli::add_features_command(app, common));
  commands.push_back(cli::add_train_command(app, common));
  commands.push_back(cli::add_export_command(app, common));
  commands.push_back(cli::add_nmf_command(app, common));
  commands.push_back(cli::add_reconstruct_command(app, common));
  commands.push_back(cli::add_separate_command(app, common));
  commands.push_back(cli::add_eval_command(app, common));
  commands.push_back(cli::add_info_command(app, common));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    if (comm.is_root()) app.exit(e);
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    if (comm.is_root()) app.exit(e);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    if (comm.is_root()) app.exit(e);
    return 0;
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same command line, so every rank fails the same way here.
    std::string command;
    for (const auto* sub : app.get_subcommands()) command = sub->get_name();
    std::string message = explain_parse_error(e.what(), app, argc, argv);
    // A first word that names no subcommand (CLI11 then misses the required one).
    const bool unknown_word = app.get_subcommands().empty() && argc > 1 && argv[1][0] != '-';
    if (unknown_word)
      message = fmt::format("unknown subcommand '{}': use features, train, export, nmf, reconstruct, separate, "
                            "eval or info (see innmf --help)",
                            argv[1]);
    else if (e.get_name() == "RequiredError" && app.get_subcommands().empty())
      message = "give a subcommand (features, train, …): see innmf --help";
    else
      message += fmt::format(" (see innmf {}--help)", command.empty() ? "" : command + " ");
    report_error(comm, command, message);
    return static_cast<int>(ExitCode::usage);
  }

  const CLI::App* chosen = app.get_subcommands().front();
  log::setup(comm.rank(), common.verbosity());
  if (common.threads > 0) omp_set_num_threads(common.threads);

  std::exception_ptr failure;
  int code = 0;
  for (const auto& command : commands) {
    if (command.app != chosen) continue;
    try {
      code = command.run(comm);
    } catch (...) {  // (agree_on_failure turns std::bad_alloc into an "out of memory" line)
      failure = std::current_exception();
    }
  }
  // Errors either happen on every rank alike (option checks before any collective) or were
  // already agreed inside the command; this last agreement makes every rank exit alike.
  try {
    comm.agree_on_failure(failure);
  } catch (const Error& e) {
    report_error(comm, chosen->get_name(), e.what());
    return static_cast<int>(e.code());
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<innmf::mpi::Environment> environment;
  try {
    environment = std::make_unique<innmf::mpi::Environment>(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "innmf: error: %s\n", e.what());
    return static_cast<int>(innmf::ExitCode::failure);
  }
  try {
    // The only place that names MPI_COMM_WORLD (STYLE.md §2).
    const auto world = innmf::mpi::Comm::world();
    return run(argc, argv, world);
  } catch (const std::exception& e) {
    // Only reached if the agreement itself failed (an MPI error): the ranks may now disagree,
    // so end them all rather than finalising into a hang.
    std::fprintf(stderr, "innmf: error: %s\n", e.what());
    innmf::mpi::Environment::abort(static_cast<int>(innmf::exit_code_of(e)));
  }
}
