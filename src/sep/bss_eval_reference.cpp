#include "innmf/sep/bss_eval_reference.hpp"

#include <Eigen/QR>
#include <cmath>

namespace innmf::sep::reference {
namespace {

/// Delayed copies of `sources`: (n + taps − 1, sources.size() · taps).
Eigen::MatrixXd delayed(const std::vector<const std::vector<float>*>& sources, long taps) {
  const long n = static_cast<long>(sources.front()->size());
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n + taps - 1, static_cast<long>(sources.size()) * taps);
  for (std::size_t i = 0; i < sources.size(); ++i)
    for (long d = 0; d < taps; ++d)
      for (long t = 0; t < n; ++t) a(t + d, static_cast<long>(i) * taps + d) = (*sources[i])[t];
  return a;
}

double db(double num, double den) { return 10 * std::log10(num / den); }

}  // namespace

PairCriteria bss_eval_pairs_naive(const std::vector<std::vector<float>>& references,
                                  const std::vector<std::vector<float>>& estimates, int filter_taps) {
  const long taps = filter_taps;
  const long n_ref = static_cast<long>(references.size());
  const long n_est = static_cast<long>(estimates.size());
  const long n = static_cast<long>(references.front().size());
  std::vector<const std::vector<float>*> all;
  for (const auto& r : references) all.push_back(&r);
  const Eigen::MatrixXd a_all = delayed(all, taps);
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr_all(a_all);
  std::vector<Eigen::MatrixXd> a_own;
  std::vector<Eigen::HouseholderQR<Eigen::MatrixXd>> qr_own;
  for (const auto& r : references) {
    a_own.push_back(delayed({&r}, taps));
    qr_own.emplace_back(a_own.back());
  }
  PairCriteria out{Eigen::MatrixXd(n_est, n_ref), Eigen::MatrixXd(n_est, n_ref),
                   Eigen::MatrixXd(n_est, n_ref)};
  for (long e = 0; e < n_est; ++e) {
    Eigen::VectorXd x = Eigen::VectorXd::Zero(n + taps - 1);
    for (long t = 0; t < n; ++t) x(t) = estimates[static_cast<std::size_t>(e)][t];
    const Eigen::VectorXd p_all = a_all * qr_all.solve(x);
    for (long j = 0; j < n_ref; ++j) {
      const Eigen::VectorXd p_own = a_own[j] * qr_own[j].solve(x);
      out.sdr(e, j) = db(p_own.squaredNorm(), (x - p_own).squaredNorm());
      out.sir(e, j) = db(p_own.squaredNorm(), (p_all - p_own).squaredNorm());
      out.sar(e, j) = db(p_all.squaredNorm(), (x - p_all).squaredNorm());
    }
  }
  return out;
}

}  // namespace innmf::sep::reference
