// innmf train POINTS.h5... -o MODEL.h5: learn iN-NMF templates and activations.

#include <fmt/format.h>
#include <omp.h>

#include "cli.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/train/trainer.hpp"

namespace innmf::cli {

Command add_train_command(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand("train", "Learn iN-NMF templates W(f) and activations H(t) from point sets");
  struct Options {
    std::vector<std::string> inputs;
    std::string output;
    std::string architecture = "per-component";
    std::string activations = "grid";
    std::string optimizer = "rprop";
    std::string activation_update = "gradient";
    train::TrainConfig config;
  };
  auto options = std::make_shared<Options>();
  auto& m = options->config.model;
  sub->add_option("inputs", options->inputs, "Point-set files written by `innmf features`")->required();
  sub->add_option("-o,--output", options->output, "Model file to write (HDF5)")->required();
  sub->add_option("--rank", m.rank, "Number of templates K");
  sub->add_option("--beta", m.beta, "β of the β-divergence: 1 KL (paper), 0 Itakura-Saito, 2 Euclidean, any real");
  sub->add_option("--power", m.power, "Compression p: the targets are magnitude^p");
  sub->add_option("--arch", options->architecture,
                  "Template network: per-component (K networks, the paper's) or shared (one trunk, K outputs)");
  sub->add_option("--hidden", m.hidden, "Hidden width h of the networks");
  sub->add_option("--layers", m.layers, "Linear layers before the output layer (the paper: 4)");
  sub->add_option("--n-fourier", m.n_fourier, "Fourier feature frequencies per coordinate");
  sub->add_option("--sine-scale", m.sine_scale,
                  "Initial weights and biases of the layers before each sine: PyTorch's U(±1/√fan_in) times "
                  "this (1: the paper's initialisation; 4 learns finer templates sooner and separates better, "
                  "see README)")
      ->capture_default_str();
  sub->add_option("--activations", options->activations,
                  "Activation fields: grid (knots, linear interpolation; the paper's explicit H) or mlp "
                  "(an implicit network per clip)");
  sub->add_option("--knot-spacing", m.knot_spacing,
                  "Grid activations: knot spacing [s] (0: from the data: an STFT's hop, a CQT's or "
                  "wavelet's middle bin's hop, the smallest over a hybrid's parts; 0.01 if the point "
                  "file records none)");
  sub->add_option("--l1", m.l1_activations,
                  "L1 penalty λ on the activations: adds λ times the sum of every activation value to the "
                  "mean divergence per point (a sum against a mean: useful values shrink as the audio grows); 0 to 1e6");
  sub->add_option("--optimizer", options->optimizer, "rprop (full batch, the paper's) or adam");
  sub->add_option("--activation-update", options->activation_update,
                  "How grid activations learn: gradient (by --optimizer, the paper's) or multiplicative "
                  "(classic NMF's exact update, no learning rate; reaches a given loss in fewer epochs)");
  sub->add_option("--lr", options->config.lr, "Learning rate (Rprop: initial step size)");
  sub->add_option("--epochs", options->config.epochs, "Full-batch steps");
  sub->add_option("--seed", m.seed, "Seed of every random initialisation")->check(unsigned_64_bit());
  sub->add_option("--f-quantum", options->config.f_quantum,
                  "Snap frequencies to multiples of this [Hz] to bound the unique frequencies (0: off; at most Nyquist/16)");
  sub->add_option("--metrics", options->config.metrics_path,
                  "Write one JSON line per epoch (epoch, loss, divergence, seconds, points_per_second)");
  sub->add_option("--checkpoint", options->config.checkpoint_path,
                  "Checkpoint file (written atomically every --checkpoint-every epochs, at the end, and "
                  "on SIGTERM/SIGUSR1 or a first Ctrl-C; default on a signal: OUTPUT.checkpoint.h5)");
  sub->add_option("--checkpoint-every", options->config.checkpoint_every,
                  "Epochs between checkpoints (0: only at the end and on a signal)");
  sub->add_option("--resume", options->config.resume_path,
                  "Continue from this checkpoint (same options, same points in the same order, under any file names; --epochs may grow)");
  add_common_options(*sub, common);

  Command command;
  command.app = sub;
  command.run = [sub, options](const mpi::Comm& comm) {
    auto& config = options->config;
    config.model.architecture = nn::parse_architecture(options->architecture);
    config.model.activations = model::parse_activation_kind(options->activations);
    config.optimizer = train::parse_optimizer(options->optimizer);
    config.activation_update = train::parse_activation_update(options->activation_update);
    config.config_json = resolved_config_json(*sub);
    train::validate(config);
    std::vector<std::string> inputs = options->inputs;
    if (!config.resume_path.empty()) inputs.push_back(config.resume_path);
    io::refuse_shared_outputs({{"-o", options->output},
                               {"--metrics", config.metrics_path},
                               {"--checkpoint", config.checkpoint_path}});
    io::refuse_input_as_output(options->output, "-o", inputs);
    if (!config.metrics_path.empty()) io::refuse_input_as_output(config.metrics_path, "--metrics", inputs);
    if (!config.checkpoint_path.empty())  // (the checkpoint may be the --resume file: it continues it)
      io::refuse_input_as_output(config.checkpoint_path, "--checkpoint", options->inputs);
    const auto report = train::train(options->inputs, config, options->output, comm);
    // After a --resume, the loss curve holds the earlier epochs too; the times are this run's.
    log::info("wrote {}: final loss {:.6g} after {} in {:.1f} s ({:.3f} s per epoch of this run; compute {:.1f} s, "
              "all-gather {:.2f} s, all-reduce {:.2f} s on rank 0)",
              options->output, report.loss.back(), log::counted(report.loss.size(), "epoch"), report.seconds,
              (report.compute_seconds + report.allgather_seconds + report.allreduce_seconds) /
                  static_cast<double>(std::max<std::size_t>(1, report.epochs_run)),
              report.compute_seconds, report.allgather_seconds, report.allreduce_seconds);
    return 0;
  };
  return command;
}

}  // namespace innmf::cli
