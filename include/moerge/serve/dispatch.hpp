// Expert-parallel LoRA experts: the coordinator rank runs the base model and the router; at every
// routed module it groups the rows by chosen expert, exchanges counts (MPI_Alltoall) and the
// grouped activations (MPI_Alltoallv) with the ranks hosting those experts, which run one grouped
// GEMM per expert and send the results back (MPI_Alltoallv); the coordinator adds them in expert
// order. The exchange is non-blocking and overlaps the base model's own product for the module.
// With one rank the coordinator hosts every expert and the same code runs (docs/serving.md).
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "moerge/comm/comm.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/model/routing.hpp"
#include "moerge/serve/placement.hpp"

namespace moerge::serve {

struct ServeOptions {
  /// An exchange not answered within this many seconds makes the coordinator probe the expert
  /// ranks; a rank that does not answer the probe within probe_timeout_s (at most reply_timeout_s)
  /// ends the job with its rank and experts named. Ranks that answer are only slow: the
  /// coordinator waits on.
  double reply_timeout_s = 120.0;
  double probe_timeout_s = 10.0;
  /// Bytes one exchange may move to or from a rank (MPI counts are ints): larger steps are split
  /// into rounds, and one expert's rows into pieces of at most this size.
  std::int64_t max_message_bytes = std::numeric_limits<int>::max();
  /// Run the base model's product while the exchange is in flight (true), or after it completed
  /// (false: for measuring what the overlap gains, bench/distributed).
  bool overlap = true;
};

/// Where a rank's time went, in seconds (bench/distributed).
struct ServeTimings {
  double base_s = 0;            // coordinator: the base model's products run while an exchange is in flight
  double expert_s = 0;          // this rank's expert GEMMs
  double comm_s = 0;            // packing, posting and combining
  double wait_s = 0;            // blocked: the coordinator on results, an expert rank on the next request
  std::int64_t n_exchange = 0;  // rounds of the exchange
  std::int64_t n_row = 0;       // rows this rank computed (expert ranks) or sent (coordinator)
};

/// What every rank knows about an expert.
struct ExpertInfo {
  std::string name;
  float scale = 1.0f;
  std::vector<std::int32_t> module_rank;  // per module index: LoRA rank r, 0 when not adapted
};

class ExpertDispatcher final : public model::ExpertApplier {
 public:
  /// Collective over `comm` (rank kCoordinator coordinates). `local` holds the experts this rank
  /// hosts, in the order of placement.experts_of(rank). Every rank learns every expert's name,
  /// scale and module ranks (InputError when two hosts disagree on an expert or an expert is
  /// missing). The coordinator logs the placement.
  ExpertDispatcher(const comm::Comm& comm, Placement placement, const model::ModelConfig& config,
                   model::LoraSet local, ServeOptions options = {}, bool quiet = false);
  ~ExpertDispatcher() override;
  ExpertDispatcher(const ExpertDispatcher&) = delete;
  ExpertDispatcher& operator=(const ExpertDispatcher&) = delete;

  bool is_coordinator() const;
  const Placement& placement() const;
  const std::vector<ExpertInfo>& experts() const;
  int n_expert() const override;
  const std::string& expert_name(int expert_idx) const override;
  /// The experts this rank hosts and their global indices.
  const model::LoraSet& local() const;
  const std::vector<int>& local_experts() const;

  /// Coordinator only (model::ExpertApplier): run `base` while the routed rows travel, then add
  /// the experts' results in expert order. Gives the bits of model::LoraSet::apply.
  void apply(std::span<model::RoutedModule> modules, const model::Matrix& input,
             const std::function<void()>& base) const override;

  /// Expert ranks: answer the coordinator's exchanges until it calls stop(). Returns at once on
  /// the coordinator.
  void serve();
  /// Coordinator: release the expert ranks from serve() (idempotent; the destructor calls it).
  void stop();

  /// Collective: per module index, [n_expert, d_in] with row e taken from expert e's first host;
  /// `local_vectors` are this rank's per-module [n_local, d_in] matrices (empty when no local
  /// expert adapts the module). An expert that does not adapt a module has a zero row; a module
  /// no expert adapts has an empty matrix (as route::arrow_prototypes gives). The result on the
  /// coordinator; other ranks get an empty vector.
  std::vector<model::Matrix> gather_module_vectors(const std::vector<model::Matrix>& local_vectors) const;

  const ServeTimings& timings() const;
  /// Collective: every rank's timings, in rank order, on the coordinator (empty elsewhere).
  std::vector<ServeTimings> gather_timings() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moerge::serve
