// A routed system run expert-parallel, as `moerge eval` and `moerge infer` use it: placement of
// the LoRA experts over the ranks, each rank loading only what it needs (the coordinator the
// base, the hosts their experts), the dispatcher, and the router's hook built on the coordinator
// from vectors the hosts computed (docs/serving.md).
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "moerge/comm/comm.hpp"
#include "moerge/model/llama.hpp"
#include "moerge/model/routing.hpp"
#include "moerge/serve/dispatch.hpp"
#include "moerge/serve/placement.hpp"

namespace moerge::serve {

/// Routers that run expert-parallel: "" (one expert on every row), "oracle" (a given expert per
/// sequence), "arrow" and "phatgoose" (per token, vectors from the hosts), and the routers whose
/// statistics come from forwards through the dispatcher ("centroid", "retrieval", "cbtm",
/// "learned", mixing outputs). forward_options() has a hook for the first four only.
bool router_runs_expert_parallel(std::string_view router);

struct ParallelSystemSpec {
  std::string model;                 // the base: HF directory or LIB/:base
  std::vector<std::string> experts;  // PEFT adapter directories or LIB/:experts/NAME (LoRA)
  std::string router;                // see router_runs_expert_parallel
  int top_k = 0;                     // arrow, phatgoose; 0: the router's default
  std::optional<std::filesystem::path> placement_file;
  ServeOptions serve;
  bool quiet = false;
};

class ParallelSystem {
 public:
  /// Collective over `comm` (which must outlive the system). Errors on any rank reach every
  /// rank before the exchange starts (io::AgreedError).
  ParallelSystem(const comm::Comm& comm, ParallelSystemSpec spec);

  bool is_coordinator() const { return dispatcher_->is_coordinator(); }
  /// Expert ranks: answer exchanges until the coordinator stops; returns at once on the coordinator.
  void serve() { dispatcher_->serve(); }
  /// Coordinator: release the expert ranks.
  void stop() { dispatcher_->stop(); }

  /// The experts' names in the system's order (every rank).
  const std::vector<std::string>& expert_names() const { return dispatcher_->placement().expert_names; }
  std::optional<int> expert_index(std::string_view name) const;

  /// Coordinator only: the base model, and forward options that route through the dispatcher with
  /// the router's hook (for "oracle", a per-sequence hook: set_sequence_experts before a forward).
  const model::LlamaModel& base() const;
  model::ForwardOptions forward_options() const;
  /// "oracle": expert of each sequence of the next forwards (-1: the base alone).
  void set_sequence_experts(const std::vector<int>& expert_of_sequence);

  ExpertDispatcher& dispatcher() { return *dispatcher_; }
  /// The router's top-k as used (default filled in).
  int top_k() const { return top_k_; }
  /// Coordinator, arrow / phatgoose: the experts' vectors the hosts computed (moved out once).
  std::vector<model::Matrix> router_vectors();

 private:
  ParallelSystemSpec spec_;
  std::optional<model::LlamaModel> base_;
  std::unique_ptr<ExpertDispatcher> dispatcher_;
  std::unique_ptr<model::ModuleHook> hook_;
  std::vector<model::Matrix> vectors_;
  int top_k_ = 0;
};

}  // namespace moerge::serve
