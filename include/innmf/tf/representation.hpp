#pragma once
// The `--repr` option (DESIGN.md §3) and what later stages read back from the representation
// attribute of a point file or a model (a JSON object, see corpus/frontend.hpp for its fields).
//
//   --repr PART[,PART…]      PART = stft[:N[:H]] | cqt | wavelet | sines[:N[:H]]
//
// `stft` and `sines` alone take their STFT from --n-fft, --hop and --window; `stft:N` is an
// N-sample window with hop N/4 and `stft:N:H` gives the hop too (the same for sines, whose peaks
// are picked on that STFT). `cqt` and `wavelet` take --fmin/--fmax and their own options.
// Several parts make a hybrid point set (the paper's Figure 2): the points of every part of a
// clip form one scattered clip, so the parts share the clip's activations H(t).

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "innmf/tf/stft.hpp"

namespace innmf::tf {

enum class RepresentationKind { stft, cqt, wavelet, sines };
std::string kind_name(RepresentationKind kind);

/// One part of a --repr list.
struct RepresentationPart {
  RepresentationKind kind = RepresentationKind::stft;
  StftConfig stft;       ///< stft and sines: the STFT (from the part or the defaults)
  std::string spelling;  ///< as the user wrote it, for messages ("stft:128")
};

/// Parses and checks a --repr value: known kinds, sizes that are positive integers with
/// hop ≤ N, no part given twice. `defaults` are --n-fft/--hop/--window. Throws UsageError
/// naming --repr and the offending part.
std::vector<RepresentationPart> parse_representation(const std::string& repr, const StftConfig& defaults);

/// The parts of a representation attribute: a hybrid's "parts", or the object itself.
std::vector<nlohmann::json> representation_parts(const nlohmann::json& representation);

/// The finest time spacing of the representation's coefficients [s] (an STFT's or the sines'
/// hop, a CQT's or wavelet's smallest per-bin hop "min_hop"; the smallest over a hybrid's parts):
/// a hybrid's own "min_hop". 0 if the attribute does not say.
double finest_time_spacing(const nlohmann::json& representation);

/// The default knot spacing of grid activations [s]: per part, the time spacing of most of its
/// frequencies (an STFT's or the sines' hop; a CQT's or wavelet's middle bin's hop "median_hop",
/// "min_hop" in files written before it was recorded), the smallest over a hybrid's parts. Not
/// a CQT's finest hop: knots at its top bin's 4.5 ms gave 14× the activation values of the STFT
/// of the same audio, and the activations absorbed what the templates should learn (CQT-trained
/// speech models separated 1.18 dB worse than STFT-trained ones, 0.23 dB with knots at the
/// middle bin's hop: bench/RESULTS.md, "Separation across representations"). 0 if the attribute
/// does not say.
double default_knot_spacing(const nlohmann::json& representation);

/// The part with the longest STFT window among the stft (and sines) parts — what separation and
/// reconstruction reuse as their default analysis — or an empty object if there is none.
nlohmann::json longest_stft_part(const nlohmann::json& representation);

/// One line for `innmf info`: "stft, n_fft 1024 (64.0 ms), hop 256, sqrt-hann window",
/// "cqt, 32.7–4000 Hz, 24 bins/octave", "hybrid: stft 128 + stft 1024 + cqt", …
std::string describe_representation(const nlohmann::json& representation);

}  // namespace innmf::tf
