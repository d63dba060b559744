// Pure math of the routers (docs/routing.md): Arrow prototypes, token- and sequence-level scores,
// top-k decisions, the c-BTM mixture and the learned linear router. Eigen and the standard library
// only: no files, no MPI; every function is a function of its arguments.
//
// Scores of a batch are one GEMM: input [n_row, d] (row-major) times the experts' vectors
// [n_expert, d] transposed gives logits [n_row, n_expert]. A decision keeps, per row, the top-k
// logits (ties: the lower expert index ranks first) and weights them by a softmax over the kept
// logits; entries of a row are in rank order (largest weight first).
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "moerge/model/routing.hpp"

namespace moerge::route {

using model::BatchLayout;
using model::Matrix;  // row-major f32
using model::RoutingDecision;
using Vector = Eigen::VectorXf;
/// Any row-major f32 matrix expression without a copy when it is already contiguous row-major
/// (a Matrix, or an Eigen::Map over mapped file data).
using MatrixRef = Eigen::Ref<const Matrix>;

// ============================================================================================
// Decisions
// ============================================================================================

/// Per row of logits [n_row, n_expert]: keep the top_k largest (ties: lower expert index first) and
/// weight them by softmax over the kept logits (computed in double, max-subtracted). top_k == 0 or
/// top_k >= n_expert keeps every expert (a dense softmax). Softmax over all experts followed by
/// keeping the top k and renormalising gives the same weights, so this serves both conventions.
/// Throws ConfigError for top_k < 0, InputError for a non-finite logit (naming row and expert).
RoutingDecision top_k_softmax(const MatrixRef& logits, int top_k);

/// A decision as a dense matrix [n_row, n_expert]: weight of (row, expert), 0 where not chosen.
Matrix dense_weights(const RoutingDecision& decision, int n_expert);

// ============================================================================================
// Arrow (Ostapenko et al. 2024): a prototype per LoRA module from its SVD, no data needed
// ============================================================================================

struct ArrowPrototype {
  Vector v;            // [d_in], unit norm; its largest-magnitude entry (lowest index on ties) is
                       // positive. All zero when scale * B A == 0 (no direction exists).
  double sigma2 = 0.;  // the square of the top singular value of scale * B A
};

/// The top right singular vector and sigma^2 of scale * B A for A [r, d_in], B [d_out, r], through
/// the r x r core: thin QR of B and of A^T (double), SVD of the small core R_B R_A^T. The d_out x d_in
/// product is never formed: O((d_in + d_out) r^2) time, O((d_in + d_out) r) memory. `what` names
/// the expert and module in error messages. Throws InputError for mismatched ranks, an empty
/// factor, or a non-finite entry or scale.
ArrowPrototype arrow_prototype(const MatrixRef& lora_a, const MatrixRef& lora_b, float scale,
                               std::string_view what = "LoRA");

struct ArrowOptions {
  int top_k = 4;             // 4 (the paper's default), also 2; 0 = dense
  float temperature = 1.0f;  // logits are divided by it (mttl's router_temp)
};

/// logit[row, e] = |<input_row, prototype_e>| / temperature; prototypes [n_expert, d_in].
Matrix arrow_logits(const MatrixRef& input, const MatrixRef& prototypes, float temperature);
RoutingDecision arrow_route(const MatrixRef& input, const MatrixRef& prototypes, const ArrowOptions& options = {});

// ============================================================================================
// PHATGOOSE (Muqeeth et al. 2024) and average activation (centroid)
// ============================================================================================

/// Per row: (x - mean) / sqrt(var + eps), var the biased variance (torch.nn.LayerNorm without
/// affine parameters). Statistics in double.
Matrix layer_norm_rows(const MatrixRef& x, float eps);

struct PhatgooseOptions {
  int top_k = 2;                 // softmax over all, keep top-2, renormalise (== softmax over top-2)
  float layer_norm_eps = 1e-5f;  // torch.nn.LayerNorm's default
};

/// logit[row, e] = <LN(input_row), LN(gate_e)> / sqrt(d); gates [n_expert, d].
Matrix phatgoose_logits(const MatrixRef& input, const MatrixRef& gates, float layer_norm_eps);
RoutingDecision phatgoose_route(const MatrixRef& input, const MatrixRef& gates, const PhatgooseOptions& options = {});

struct CentroidOptions {
  int top_k = 0;                     // 0 = dense softmax over all experts (mttl avg_act default)
  std::optional<float> temperature;  // default sqrt(d)
};

/// logit[row, e] = <input_row, centroid_e> / temperature (default sqrt(d)); centroids [n_expert, d].
Matrix centroid_logits(const MatrixRef& input, const MatrixRef& centroids, std::optional<float> temperature);
RoutingDecision centroid_route(const MatrixRef& input, const MatrixRef& centroids, const CentroidOptions& options = {});

// ============================================================================================
// Sequence level: one decision per sequence
// ============================================================================================

/// The mean of each sequence's rows: [layout.n_seq, d]. Throws InputError when the layout does not
/// match the rows (size, sequence index out of range) or a sequence has no rows.
Matrix sequence_means(const MatrixRef& input, const BatchLayout& layout);

/// A per-sequence decision (row s = sequence s) repeated for every row of that sequence.
RoutingDecision expand_to_rows(const RoutingDecision& per_sequence, const BatchLayout& layout);

/// Cosine similarity [n_query, n_key] of rows; a row is divided by max(||row||, 1e-12) (as
/// torch.nn.functional.normalize), so a zero row has similarity 0 with everything.
Matrix cosine_similarity(const MatrixRef& queries, const MatrixRef& keys);

struct RetrievalOptions {
  int top_k = 3;  // LoraRetriever / AdapterSoup
};

/// The top_k experts by cosine similarity of the query (a sequence embedding) with each expert's
/// embedding, each with weight 1/k (k = min(top_k, n_expert)).
RoutingDecision retrieval_route(const MatrixRef& queries, const MatrixRef& expert_embeddings,
                                const RetrievalOptions& options = {});

/// How c-BTM turns squared distances into weights of the k nearest centroids.
enum class CbtmNormalization : std::uint8_t {
  top_k,  // softmax(-d^2 / T) over the k nearest only (weights sum to 1); the default
  all,    // softmax(-d^2 / T) over all centroids, then the k nearest keep theirs unrenormalised
          // (kernelmachine/cbtm ensemble.py, zero_out)
};

struct CbtmOptions {
  int top_k = 2;
  float temperature = 0.1f;  // the c-BTM paper's T
  CbtmNormalization normalization = CbtmNormalization::top_k;
};

/// Squared Euclidean distances [n_query, n_key] as ||q||^2 - 2 q.k + ||k||^2 (one GEMM), clamped at 0.
Matrix squared_distances(const MatrixRef& queries, const MatrixRef& keys);

/// The top_k nearest centroids by squared distance (ties: lower index), weighted per `normalization`.
RoutingDecision cbtm_route(const MatrixRef& queries, const MatrixRef& centroids, const CbtmOptions& options = {});

/// The c-BTM mixture of expert predictions: out = logsumexp_j(log w_j + log p_j), elementwise over
/// expert_log_probs[j] [n_token, vocab]. Weights 0 drop their expert; all -inf gives -inf. Throws
/// InputError for mismatched shapes, a negative or non-finite weight, or a NaN / +inf log-prob.
Matrix cbtm_mix(std::span<const Matrix> expert_log_probs, std::span<const float> weights);

// ============================================================================================
// Learned linear router (softmax regression; MoLE / SMEAR-style gate trained on labels)
// ============================================================================================

struct LinearRouterOptions {
  double l2 = 1e-3;            // penalty (l2 / 2) ||W||^2; the bias is not penalised
  int n_step = 200;            // full-batch gradient steps
  double learning_rate = 0.0;  // 0 = 1 / L, L = 0.5 lambda_max(X~^T X~ / n) + l2 (power iteration)
  bool standardize = true;     // train on per-feature standardised inputs (folded into W and b)
};

struct LinearRouter {
  Matrix weight;  // [n_expert, d], applied to raw features (standardisation folded in)
  Vector bias;    // [n_expert]
  double learning_rate = 0.;           // the step actually used
  std::vector<double> loss_history;    // [n_step + 1]: the objective before each step and at the end
};

/// Trains softmax(W x + b) on features [n_sample, d] (e.g. mean hidden states) and labels in
/// [0, n_expert) by full-batch gradient descent from W = 0, b = 0, in double. Deterministic.
/// Objective: mean cross-entropy + (l2 / 2) ||W||^2 (on standardised features when standardize).
LinearRouter train_linear_router(const MatrixRef& features, std::span<const std::int32_t> labels, int n_expert,
                                 const LinearRouterOptions& options = {});

/// logits [n_row, n_expert] = features W^T + b.
Matrix linear_router_logits(const LinearRouter& router, const MatrixRef& features);
/// top_k 0 = dense softmax.
RoutingDecision linear_router_route(const LinearRouter& router, const MatrixRef& features, int top_k = 0);

}  // namespace moerge::route
