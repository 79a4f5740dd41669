// innmf info FILE.h5...: what a file holds.

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "innmf/audio/audio_io.hpp"
#include "innmf/core/error.hpp"
#include "innmf/io/hdf5.hpp"
#include "innmf/io/model_file.hpp"
#include "innmf/io/point_file.hpp"
#include "innmf/train/checkpoint.hpp"

namespace innmf::cli {

Command add_info_command(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand("info", "Summarise innmf HDF5 files (point sets, models)");
  struct Options {
    std::vector<std::string> files;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("files", options->files, "innmf HDF5 files")->required();
  sub->add_flag("--json", options->json, "Print JSON instead of text: one object, an array of them for several files");
  add_common_options(*sub, common);

  Command command;
  command.app = sub;
  command.run = [options](const mpi::Comm& comm) {
    // Reading is cheap: rank 0 does it and the others wait for the verdict.
    mpi::on_root(comm, [&] {
      std::string json_output;
      for (std::size_t i = 0; i < options->files.size(); ++i) {
        // Models by their `format` attribute; anything else is read as a point set, whose
        // reader explains what is wrong with it.
        std::string text;
        const std::string& path = options->files[i];
        const std::string format = io::peek_format(path);
        // An audio file given by mistake: say what info reads instead of calling it a corrupt point file.
        if (format.empty() && std::filesystem::is_regular_file(path) && !io::h5::is_hdf5_file(path)) {
          bool audio = false;
          try {
            audio::probe_audio(path);
            audio = true;
          } catch (const InputError&) {
          }
          if (audio)
            throw InputError(fmt::format("{}: is audio; info reads innmf's HDF5 files (point sets, models, "
                                         "checkpoints): for its points run `innmf features {} -o POINTS.h5`",
                                         path, path));
        }
        if (format == "innmf.export") {
          // Files of innmf that are not inputs of other commands: what they are and what reads them.
          text = options->json ? nlohmann::json{{"file", options->files[i]}, {"format", format}}.dump()
                               : fmt::format("file            {}\nformat          {}: templates and activations "
                                             "sampled for plotting (scripts/plot_model.py)\n",
                                             options->files[i], format);
        } else if (format == "innmf.checkpoint") {
          const auto summary = train::summarize_checkpoint(options->files[i]);
          text = options->json ? train::to_json(options->files[i], summary) : train::to_text(options->files[i], summary);
        } else if (format == io::kModelFormat) {
          const auto summary = io::summarize(io::ModelFile(options->files[i]));
          text = options->json ? io::to_json(summary) : io::to_text(summary);
        } else {
          const auto summary = io::summarize(io::PointFile(options->files[i]));
          text = options->json ? io::to_json(summary) : io::to_text(summary);
        }
        if (!options->json) {
          std::fputs(text.c_str(), stdout);
          if (i + 1 < options->files.size()) std::fputs("\n", stdout);
          continue;
        }
        // Several files with --json: one array, so that a JSON parser reads the whole output. It
        // is printed once every file has been read: a bad file leaves stdout empty, not half an array.
        const bool array = options->files.size() > 1;
        if (array) json_output += i == 0 ? "[\n" : ",\n";
        json_output += text;
        if (array && i + 1 == options->files.size()) json_output += "\n]";
      }
      if (options->json) std::fputs((json_output + "\n").c_str(), stdout);
      std::fflush(stdout);
    });
    return 0;
  };
  return command;
}

}  // namespace innmf::cli
