// LoraHub (Huang et al. 2023): a gradient-free search for one weight per LoRA expert on a few
// examples of the target task, and the combination of the experts' factors with those weights.
// Pure math: the loss is a callback (the caller runs the model); no files, no MPI.
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "moerge/route/math.hpp"

namespace moerge::route {

/// The task loss of the combined expert with weights w [n_expert] (e.g. the mean cross-entropy on
/// the few labelled examples). Called exactly `budget` times per lorahub_optimize.
using LorahubLoss = std::function<double(const Eigen::VectorXd& weights)>;

struct LorahubOptions {
  int budget = 40;         // evaluations of the loss, exactly
  double bound = 1.5;      // w in [-bound, bound]^n
  double l1 = 0.05;        // objective = loss + l1 * mean |w|
  std::uint64_t seed = 0;  // all randomness comes from it
  int population = 0;      // CMA-ES lambda; 0 = 4 + floor(3 ln n)
  double sigma0 = 0.5;     // initial step size: bound / 3, so +-3 sigma spans the box
};

struct LorahubResult {
  Eigen::VectorXd weights;                  // [n_expert], the best point evaluated
  double objective = 0.;                    // loss + l1 * mean |w| there
  double loss = 0.;                         // the loss there
  int n_eval = 0;                           // == budget
  std::vector<double> objective_history;    // [n_eval], in evaluation order (+inf when the loss was not finite)
};

/// Minimises loss(w) + l1 * mean|w| over the box by CMA-ES (Hansen's (mu/mu_w, lambda) with
/// cumulative step-size adaptation and rank-one + rank-mu covariance updates; LoraHub itself calls
/// Nevergrad's NGOpt, which picks a CMA variant or a model-based method depending on budget and
/// dimension). The mean starts at 0. Samples outside the box are reflected into it ("bouncing",
/// as Nevergrad does for bounded arrays) and updated as reflected. Generations run while at least
/// lambda + 1 evaluations remain; the remaining ones go to a last (partial) generation and the
/// final evaluation is the distribution's mean; the best point evaluated is returned. A non-finite
/// loss ranks last. Deterministic given the seed (mt19937_64 + Box-Muller). Throws ConfigError for
/// bad options and InputError when no evaluation gave a finite loss.
LorahubResult lorahub_optimize(int n_expert, const LorahubLoss& loss, const LorahubOptions& options = {});

/// Factors of a LoRA delta: delta W = b * a (the scale is folded into b).
struct LoraFactors {
  Matrix a;  // [r, d_in]
  Matrix b;  // [d_out, r]
};

/// LoraHub's combination: A = sum_e w_e A_e and B = sum_e w_e s_e B_e, combined separately (cross
/// terms included: this is not sum_e w_e s_e B_e A_e), with each expert's scale s_e folded into B
/// (with equal scales s this is s * (sum w B)(sum w A), as LoraHub computes). All experts must have
/// the same rank and shapes. `what` names the module in error messages.
LoraFactors lorahub_combine(std::span<const Matrix> lora_a, std::span<const Matrix> lora_b,
                            std::span<const float> scales, std::span<const double> weights,
                            std::string_view what = "LoRA");

/// delta W = b * a, [d_out, d_in].
Matrix lora_delta(const LoraFactors& factors);

}  // namespace moerge::route
