// innmf export MODEL.h5 -o OUT.h5: templates and activations sampled on grids, for plotting.

#include <fmt/format.h>

#include "cli.hpp"
#include "innmf/core/log.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/io/model_file.hpp"
#include "innmf/train/export.hpp"

namespace innmf::cli {

Command add_export_command(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand("export", "Sample a model's templates and activations on grids (for plots)");
  struct Options {
    std::string model, output;
    train::ExportConfig config;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("model", options->model,
                  "Model file written by `innmf train` (its networks, evaluated where asked) or by `innmf nmf` "
                  "(its W, and its H as (frames, K) like an iN-NMF model's)")
      ->required();
  sub->add_option("-o,--output", options->output, "Export file to write (HDF5; plot with scripts/plot_model.py)")
      ->required();
  sub->add_option("--n-freqs", options->config.n_freqs, "Template samples from 0 Hz to --fmax");
  sub->add_option("--fmax", options->config.fmax,
                  "Highest template frequency [Hz] (0: the highest frequency the model was fitted at, e.g. a "
                  "CQT's top centre; above it the networks are unconstrained)");
  sub->add_option("--time-step", options->config.time_step,
                  "Activation sample spacing [s] (0: the knot spacing, or 0.01 s for mlp activations)");
  add_common_options(*sub, common);

  Command command;
  command.app = sub;
  command.run = [options](const mpi::Comm& comm) {
    io::refuse_input_as_output(options->output, "-o", {options->model});
    mpi::on_root(comm, [&] {
      const io::ModelFile file(options->model);
      if (file.kind() == io::kClassicModelKind) {
        const auto model = file.read_classic();
        train::export_classic_model(model, options->output);
        log::info("wrote {}: {} templates at the model's {} bins, activations at its {} frames ({} source{}; "
                  "--n-freqs, --fmax and --time-step apply to iN-NMF models only)",
                  options->output, model.header.rank, model.W.rows(), model.H.cols(), model.sources.size(),
                  model.sources.size() == 1 ? "" : "s");
        return;
      }
      const auto model = train::TrainedModel::load(options->model);
      train::export_model(model, options->config, options->output);
      log::info("wrote {}: {} templates, activations of {} clip{}", options->output, model.rank(),
                model.n_clips(), model.n_clips() == 1 ? "" : "s");
    });
    return 0;
  };
  return command;
}

}  // namespace innmf::cli
