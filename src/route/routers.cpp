// The router table: names, options with defaults, taxonomy tags (kept in step with docs/routing.md).
#include "moerge/route/routers.hpp"

#include <algorithm>

namespace moerge::route {

const std::vector<RouterInfo>& router_table() {
  static const std::vector<RouterInfo> table = {
      {"uniform_merge", "average of all experts' deltas, one merged model", {},
       "standard", "private", "none", "task", "model", "dense", "parameter", "out-of-distribution", "zero-shot"},
      {"oracle", "the expert trained on the input's domain (an upper reference, needs the domain label)", {},
       "standard", "private", "none", "task", "model", "sparse", "none", "in-distribution", "full"},
      {"arrow",
       "per token and module: |<h, v_e>| / T with v_e the top right singular vector of s B A; softmax over the top-k",
       {{"top_k", "4", "experts kept per token (also 2; 0 = all)"}, {"temperature", "1", "logits are divided by it"}},
       "standard", "private", "none", "step", "module", "sparse", "output", "out-of-distribution", "zero-shot"},
      {"phatgoose",
       "per token and module: <LN(x), LN(v_e)> / sqrt(d) with the expert's trained gate v_e; softmax, keep top-k, "
       "renormalise",
       {{"top_k", "2", "experts kept per token"}, {"layer_norm_eps", "1e-5", "LN without affine parameters"}},
       "custom", "private", "expert", "step", "module", "sparse", "output", "out-of-distribution", "zero-shot"},
      {"centroid",
       "average activation: per token and module <x, c_e> / sqrt(d), c_e the mean input of the module on the "
       "expert's data; softmax",
       {{"top_k", "0", "0 = dense softmax over all experts; k > 0 keeps the top k, renormalised"},
        {"temperature", "sqrt(d)", "logits are divided by it"}},
       "standard", "private", "expert", "step", "module", "dense", "output", "out-of-distribution", "zero-shot"},
      {"retrieval",
       "LoraRetriever / AdapterSoup: per sequence, cosine of its mean hidden state with each expert's embedding; "
       "top-k experts, weight 1/k each",
       {{"top_k", "3", "experts mixed per sequence"}},
       "standard", "private", "expert", "example", "model", "sparse", "output", "out-of-distribution", "zero-shot"},
      {"cbtm",
       "c-BTM ensemble: per sequence, softmax(-d^2 / T) over the top-k nearest expert centroids; predictions mixed "
       "as log sum_j w_j p_j",
       {{"top_k", "2", "experts ensembled per sequence"},
        {"temperature", "0.1", "T of softmax(-d^2 / T) (the c-BTM paper)"},
        {"normalization", "top_k", "top_k: softmax over the kept k; all: softmax over all, kept unrenormalised (c-BTM code)"}},
       "standard", "private", "expert", "example", "model", "sparse", "output", "out-of-distribution", "zero-shot"},
      {"lorahub",
       "weights w in [-1.5, 1.5]^N found by CMA-ES on a few target examples (loss + 0.05 mean|w|, 40 evaluations); "
       "A and B combined separately, then merged",
       {{"budget", "40", "loss evaluations, exactly"},
        {"bound", "1.5", "box of the weights"},
        {"l1", "0.05", "weight of mean|w| in the objective"},
        {"seed", "0", "CMA-ES draws"}},
       "standard", "private", "target", "task", "model", "dense", "parameter", "out-of-distribution", "few-shot"},
      {"learned",
       "softmax regression on mean hidden states, trained on the experts' labelled data by full-batch gradient "
       "descent; softmax gate over expert outputs",
       {{"top_k", "0", "0 = dense gate"},
        {"l2", "1e-3", "weight decay of the gate"},
        {"n_step", "200", "gradient steps"},
        {"learning_rate", "auto", "1 / L, L the objective's smoothness bound"}},
       "standard", "shared", "expert", "example", "module", "dense", "output", "in-distribution", "full"},
  };
  return table;
}

std::optional<RouterInfo> router_info(std::string_view name) {
  const auto& table = router_table();
  const auto found = std::find_if(table.begin(), table.end(), [name](const RouterInfo& info) { return info.name == name; });
  if (found == table.end()) return std::nullopt;
  return *found;
}

}  // namespace moerge::route
