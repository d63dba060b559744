// Benchmark of bench/distributed: expert-parallel serving (serve::ExpertDispatcher) under
// mpirun. Rank 0 (the coordinator) runs the base model and the Arrow router; the LoRA experts are
// placed on the other ranks (all on rank 0 at one rank). Workloads on windows of real text: a
// prefill of B x L tokens (no cache) and KV-cached decode at batch 1 and B (a P-token prompt,
// untimed, then N one-token steps). Each workload runs as `dense` (the base alone, the peer),
// `routed` (Arrow top-k through the dispatcher) and, at one rank, `routed_local` (the same experts
// applied in-process by model::LoraSet, the runtime benchmark's path), alternately, R times after a
// warm-up. Every timed routed run gets a fresh dispatcher, so its ServeTimings are that run's
// only; the split of the fastest run is reported. Router time is measured by wrapping the hook.
// Memory per rank: resident set before and after the experts were loaded, the bytes of the experts
// placed there (Placement::bytes_of) and the peak (VmHWM). With two ranks or more, ranks 0 and 1
// also measure MPI point-to-point ping-pong and the dispatcher's exchange pattern (Ialltoall of
// counts, Ialltoallv out and back) at a range of message sizes, for the alpha-beta fit of
// docs/scaling.md.
//
// Experts: --lora DIR (repeated; PEFT directories, loaded by their hosts only) or --generate N
// (N random rank --generate-rank adapters on all 7 modules at the base's shapes, made in memory by
// their hosts from --seed and the expert index, so a rank never holds another rank's experts).
//
// Output on rank 0, one line per observation (key=value; parsed by bench/distributed/report.py):
//   RESULT label=.. ranks=.. mode=dense|routed|routed_local phase=prefill|decode batch=B n_token=T
//          best_s=.. median_s=.. tokens_per_s=.. router_s=.. base_s=.. expert_s=.. comm_s=.. wait_s=..
//          other_s=.. n_exchange=.. n_row=..   (coordinator's split of the fastest run)
//   RANK   label=.. ranks=.. mode=.. phase=.. batch=.. rank=r base_s expert_s comm_s wait_s n_exchange n_row
//   MEMORY label=.. ranks=.. rank=r n_hosted=.. expert_bytes=.. rss_before_experts_kb=..
//          rss_after_experts_kb=.. peak_rss_kb=..
//   COMM   kind=p2p|exchange bytes=.. one_way_s=.. runs=..
//   LOAD   label=.. ranks=.. expert=e name=.. n_entry=..   (routing entries per expert, all runs)
//   GEMM   n_row=.. d_in=.. d_out=.. best_s=.. gflops=..   (one rank only: Eigen's rate at some shapes)
//
// usage: mpirun -np N moerge_bench_distributed --model DIR --text DIR --label NAME
//          (--lora DIR... | --generate N [--generate-rank R] [--seed S])
//          [--batch B] [--length L] [--prompt P] [--steps N] [--repeat R] [--top-k K]
//          [--memory-only 0|1] [--comm 0|1] [--overlap 0|1]
#include <fmt/core.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "moerge/eval/bpb.hpp"
#include "moerge/io/hf.hpp"
#include "moerge/model/llama.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/route/hooks.hpp"
#include "moerge/serve/dispatch.hpp"
#include "moerge/serve/hosting.hpp"
#include "moerge/serve/placement.hpp"

namespace fs = std::filesystem;
using moerge::ConfigError;
using moerge::comm::Comm;
using moerge::model::KvCache;
using moerge::model::LlamaModel;
using moerge::model::LoraSet;
using moerge::model::Matrix;
using moerge::model::ModelConfig;
using moerge::model::ModuleHook;
using moerge::model::ModuleId;
using moerge::model::TokenBatch;
using moerge::model::TokenId;
using moerge::serve::ExpertDispatcher;
using moerge::serve::Placement;
using moerge::serve::ServeTimings;
using Clock = std::chrono::steady_clock;

namespace {

struct Config {
  fs::path model_dir;
  fs::path text_dir;
  std::string label;
  std::vector<fs::path> lora_dirs;
  int n_generate = 0;
  int generate_rank = 8;
  unsigned seed = 1;
  int batch = 16;    // prefill batch, and the larger decode batch
  int length = 128;  // prefill tokens per sequence (BOS + length - 1 bytes)
  int prompt = 64;   // decode: prompt tokens per sequence (untimed)
  int steps = 64;    // decode: timed steps
  int repeat = 5;
  int top_k = 2;
  bool memory_only = false;
  bool comm = true;
  bool overlap = true;  // the base product runs while the exchange is in flight
};

int parse_int(std::string_view flag, const std::string& text, int min_value) {
  std::size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < min_value)
    throw ConfigError(fmt::format("{} {}: expected an integer >= {}", flag, text, min_value));
  return value;
}

bool parse_flag(std::string_view flag, const std::string& text) {
  if (text != "0" && text != "1") throw ConfigError(fmt::format("{} {}: expected 0 or 1", flag, text));
  return text == "1";
}

Config parse_args(int argc, char** argv) {
  Config config;
  for (int arg_idx = 1; arg_idx < argc; ++arg_idx) {
    const std::string_view flag = argv[arg_idx];
    if (arg_idx + 1 >= argc) throw ConfigError(fmt::format("{}: missing value", flag));
    const std::string value = argv[++arg_idx];
    if (flag == "--model") config.model_dir = value;
    else if (flag == "--text") config.text_dir = value;
    else if (flag == "--label") config.label = value;
    else if (flag == "--lora") config.lora_dirs.emplace_back(value);
    else if (flag == "--generate") config.n_generate = parse_int(flag, value, 1);
    else if (flag == "--generate-rank") config.generate_rank = parse_int(flag, value, 1);
    else if (flag == "--seed") config.seed = static_cast<unsigned>(parse_int(flag, value, 0));
    else if (flag == "--batch") config.batch = parse_int(flag, value, 1);
    else if (flag == "--length") config.length = parse_int(flag, value, 2);
    else if (flag == "--prompt") config.prompt = parse_int(flag, value, 1);
    else if (flag == "--steps") config.steps = parse_int(flag, value, 1);
    else if (flag == "--repeat") config.repeat = parse_int(flag, value, 1);
    else if (flag == "--top-k") config.top_k = parse_int(flag, value, 1);
    else if (flag == "--memory-only") config.memory_only = parse_flag(flag, value);
    else if (flag == "--comm") config.comm = parse_flag(flag, value);
    else if (flag == "--overlap") config.overlap = parse_flag(flag, value);
    else throw ConfigError(fmt::format("unknown option {}", flag));
  }
  if (config.model_dir.empty()) throw ConfigError("--model DIR is required");
  if (config.text_dir.empty()) throw ConfigError("--text DIR is required (documents the windows are cut from)");
  if (config.label.empty()) throw ConfigError("--label NAME is required (names the expert set in the output)");
  if (config.lora_dirs.empty() == (config.n_generate == 0))
    throw ConfigError("give either --lora DIR (repeated) or --generate N, not both or neither");
  return config;
}

/// A field of /proc/self/status in kB (VmRSS, VmHWM).
long status_kb(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':')
      return std::stol(line.substr(field.size() + 1));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // kB; only reached when /proc is not mounted
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A barrier that naps instead of spinning: idle ranks must not take the core the coordinator's
/// compute runs on (2 cores, shared).
void polite_barrier(const Comm& comm) {
  const std::vector<std::int32_t> send(static_cast<std::size_t>(comm.size()), 0);
  std::vector<std::int32_t> receive(send.size(), 0);
  moerge::comm::Request request = comm.ialltoall(std::span<const std::int32_t>(send), std::span<std::int32_t>(receive));
  auto pause = std::chrono::microseconds(20);
  while (!request.test()) {
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

/// Random rank-r LoRA factors on all 7 modules at the base's shapes, from (seed, expert_idx):
/// A ~ N(0, 1/d_in), B ~ N(0, 0.01^2), scale alpha / r with alpha = 2 r.
moerge::model::LoraExpert generate_expert(const ModelConfig& config, int expert_idx, int rank, unsigned seed) {
  std::mt19937_64 generator(static_cast<std::uint64_t>(seed) * 1000003u + static_cast<std::uint64_t>(expert_idx));
  moerge::model::LoraExpert expert;
  expert.name = fmt::format("generated{:03d}", expert_idx);
  expert.scale = 2.0f;
  const int n_module = config.n_layer * moerge::model::n_module_kind;
  expert.modules.resize(static_cast<std::size_t>(n_module));
  for (int index = 0; index < n_module; ++index) {
    const ModuleId module{.layer_idx = index / moerge::model::n_module_kind,
                          .kind = static_cast<moerge::model::ModuleKind>(index % moerge::model::n_module_kind)};
    const int d_in = config.d_in(module.kind);
    std::normal_distribution<float> a_normal(0.0f, 1.0f / std::sqrt(static_cast<float>(d_in)));
    std::normal_distribution<float> b_normal(0.0f, 0.01f);
    auto factors = std::make_shared<moerge::model::LoraFactors>();
    factors->a.resize(rank, d_in);
    factors->b.resize(config.d_out(module.kind), rank);
    for (Eigen::Index idx = 0; idx < factors->a.size(); ++idx) factors->a.data()[idx] = a_normal(generator);
    for (Eigen::Index idx = 0; idx < factors->b.size(); ++idx) factors->b.data()[idx] = b_normal(generator);
    expert.modules[static_cast<std::size_t>(index)] = std::move(factors);
  }
  return expert;
}

std::uint64_t generated_bytes(const ModelConfig& config, int rank) {
  std::uint64_t n_float = 0;
  for (int kind_idx = 0; kind_idx < moerge::model::n_module_kind; ++kind_idx) {
    const auto kind = static_cast<moerge::model::ModuleKind>(kind_idx);
    n_float += static_cast<std::uint64_t>(rank) * static_cast<std::uint64_t>(config.d_in(kind) + config.d_out(kind));
  }
  return n_float * static_cast<std::uint64_t>(config.n_layer) * sizeof(float);
}

/// Forwards to the router and adds up the time spent in it.
class TimedHook : public ModuleHook {
 public:
  TimedHook(ModuleHook& inner, int n_expert) : inner_(inner), n_entry_(static_cast<std::size_t>(n_expert), 0) {}
  void at_module(const ModuleId& module, const Matrix& input, const moerge::model::BatchLayout& layout,
                 moerge::model::RoutingDecision& decision) override {
    const Clock::time_point start = Clock::now();
    inner_.at_module(module, input, layout, decision);
    seconds_ += seconds_since(start);
    for (const std::int32_t expert_idx : decision.expert_idx) ++n_entry_[static_cast<std::size_t>(expert_idx)];
  }
  double seconds() const { return seconds_; }
  void reset() { seconds_ = 0; }
  /// Routing entries per expert over every forward so far (the load the hosts see).
  const std::vector<std::int64_t>& n_entry() const { return n_entry_; }

 private:
  ModuleHook& inner_;
  double seconds_ = 0;
  std::vector<std::int64_t> n_entry_;
};

/// Windows of real text: sequence s is BOS then the bytes at an evenly spaced offset of the
/// concatenated documents, [n_seq][n_token].
std::vector<std::vector<TokenId>> text_windows(const std::vector<moerge::eval::Document>& documents, int n_seq,
                                               int n_token, TokenId bos) {
  std::string text;
  for (const auto& document : documents) text += document.bytes;
  const auto span = static_cast<std::size_t>(n_token - 1);
  if (text.size() < span * static_cast<std::size_t>(n_seq))
    throw moerge::InputError(fmt::format("--text: {} bytes of documents, need at least {} for {} windows of {}",
                                         text.size(), span * static_cast<std::size_t>(n_seq), n_seq, n_token));
  const std::size_t stride = (text.size() - span) / static_cast<std::size_t>(n_seq);
  std::vector<std::vector<TokenId>> out(static_cast<std::size_t>(n_seq));
  for (std::size_t seq_idx = 0; seq_idx < out.size(); ++seq_idx) {
    out[seq_idx].push_back(bos);
    for (std::size_t pos = 0; pos < span; ++pos)
      out[seq_idx].push_back(static_cast<TokenId>(static_cast<unsigned char>(text[seq_idx * stride + pos])));
  }
  return out;
}

TokenBatch slice_batch(const std::vector<std::vector<TokenId>>& tokens, int n_seq, int first, int n) {
  TokenBatch batch;
  for (int seq_idx = 0; seq_idx < n_seq; ++seq_idx)
    batch.add(std::span<const TokenId>(tokens[static_cast<std::size_t>(seq_idx)].data() + first,
                                       static_cast<std::size_t>(n)));
  return batch;
}

/// One measured shape: prefill (one forward of batch x length) or decode (prompt into a cache,
/// untimed; then `steps` one-token forwards).
struct Shape {
  std::string phase;
  int batch = 0;
};

struct Workload {
  Shape shape;
  TokenBatch prefill;  // prefill: the timed batch; decode: the prompt
  std::vector<TokenBatch> steps;
  int capacity = 0;

  long n_timed_token() const {
    return steps.empty() ? static_cast<long>(prefill.n_row())
                         : static_cast<long>(shape.batch) * static_cast<long>(steps.size());
  }
};

Workload make_workload(const Shape& shape, const std::vector<std::vector<TokenId>>& tokens, const Config& config) {
  Workload workload;
  workload.shape = shape;
  if (shape.phase == "prefill") {
    workload.prefill = slice_batch(tokens, shape.batch, 0, config.length);
    return workload;
  }
  workload.prefill = slice_batch(tokens, shape.batch, 0, config.prompt);
  for (int step_idx = 0; step_idx < config.steps; ++step_idx)
    workload.steps.push_back(slice_batch(tokens, shape.batch, config.prompt + step_idx, 1));
  workload.capacity = config.prompt + config.steps;
  return workload;
}

/// What the coordinator learns from one timed run.
struct RunResult {
  double seconds = 0;
  double router_s = 0;
  std::vector<ServeTimings> per_rank;  // routed runs: every rank's timings (rank order)
};

enum class Mode : std::uint8_t { dense, routed, routed_local };

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::dense: return "dense";
    case Mode::routed: return "routed";
    case Mode::routed_local: return "routed_local";
  }
  return "?";
}

/// Everything the ranks share for the timed runs.
struct Bench {
  const Config& config;
  const Comm& comm;
  const Placement& placement;
  const ModelConfig& model_config;
  const LoraSet& local;         // this rank's experts (every expert at one rank)
  const LlamaModel* base;       // coordinator only
  TimedHook* hook;              // coordinator only
  const LoraSet* all_experts;   // one rank only (routed_local)

  bool coordinator() const { return comm.rank() == moerge::serve::kCoordinator; }

  ExpertDispatcher make_dispatcher() const {
    return ExpertDispatcher(comm, placement, model_config, local,
                            moerge::serve::ServeOptions{.overlap = config.overlap}, /*quiet=*/true);
  }

  /// One dispatcher's life: the coordinator runs `work` through it, then releases the hosts.
  std::vector<ServeTimings> session(const std::function<void(const ExpertDispatcher&)>& work, bool gather) const {
    ExpertDispatcher dispatcher = make_dispatcher();
    if (coordinator()) {
      work(dispatcher);
      dispatcher.stop();
    } else {
      dispatcher.serve();
    }
    return gather ? dispatcher.gather_timings() : std::vector<ServeTimings>{};
  }

  /// Coordinator: the timed part of `workload` with `options` (a decode's prompt runs first, untimed).
  double time_workload(const Workload& workload, moerge::model::ForwardOptions options) const {
    if (workload.steps.empty()) {
      const Clock::time_point start = Clock::now();
      base->forward(workload.prefill, options);
      return seconds_since(start);
    }
    KvCache cache(base->config(), workload.shape.batch, workload.capacity);
    options.cache = &cache;
    base->forward(workload.prefill, options);
    const Clock::time_point start = Clock::now();
    for (const TokenBatch& step : workload.steps) base->forward(step, options);
    return seconds_since(start);
  }

  /// Collective: one run of `workload` in `mode`; the result matters on the coordinator.
  RunResult run(Mode mode, const Workload& workload) const {
    RunResult result;
    if (mode == Mode::dense || mode == Mode::routed_local) {
      if (coordinator()) {
        hook->reset();
        result.seconds = mode == Mode::dense
                             ? time_workload(workload, {})
                             : time_workload(workload, {.hook = hook, .experts = all_experts});
        result.router_s = hook->seconds();
      }
      polite_barrier(comm);
      return result;
    }
    // Routed: a decode's prompt goes through a dispatcher of its own, so that the timings of the
    // timed steps' dispatcher are the steps' only.
    if (workload.shape.phase == "prefill") {  // every rank knows the shape; only the coordinator has the tokens
      result.per_rank = session(
          [&](const ExpertDispatcher& dispatcher) {
            hook->reset();
            const Clock::time_point start = Clock::now();
            base->forward(workload.prefill, {.hook = hook, .experts = &dispatcher});
            result.seconds = seconds_since(start);
            result.router_s = hook->seconds();
          },
          true);
      return result;
    }
    std::optional<KvCache> cache;
    if (coordinator()) cache.emplace(base->config(), workload.shape.batch, workload.capacity);
    session([&](const ExpertDispatcher& dispatcher) {
      base->forward(workload.prefill, {.hook = hook, .experts = &dispatcher, .cache = &*cache});
    }, false);
    result.per_rank = session(
        [&](const ExpertDispatcher& dispatcher) {
          hook->reset();
          const moerge::model::ForwardOptions options{.hook = hook, .experts = &dispatcher, .cache = &*cache};
          const Clock::time_point start = Clock::now();
          for (const TokenBatch& step : workload.steps) base->forward(step, options);
          result.seconds = seconds_since(start);
          result.router_s = hook->seconds();
        },
        true);
    return result;
  }
};

void print_results(const Bench& bench, Mode mode, const Workload& workload, std::vector<RunResult> runs) {
  std::sort(runs.begin(), runs.end(), [](const RunResult& a, const RunResult& b) { return a.seconds < b.seconds; });
  const std::size_t n_run = runs.size();
  const double median_s = n_run % 2 == 1 ? runs[n_run / 2].seconds
                                          : 0.5 * (runs[n_run / 2 - 1].seconds + runs[n_run / 2].seconds);
  const RunResult& best = runs.front();
  const long n_token = workload.n_timed_token();
  ServeTimings coordinator;
  if (!best.per_rank.empty()) coordinator = best.per_rank.front();
  else coordinator.base_s = best.seconds - best.router_s;  // no dispatcher: the step is the base's
  // At one rank the coordinator also computes the experts; routed_local's expert work is inside
  // the base's time (LoraSet runs in the forward pass).
  const double other_s = best.per_rank.empty() ? 0.0
                                               : best.seconds - best.router_s - coordinator.base_s -
                                                     coordinator.expert_s - coordinator.comm_s - coordinator.wait_s;
  double expert_s = 0;
  for (const ServeTimings& timings : best.per_rank) expert_s = std::max(expert_s, timings.expert_s);
  const Config& config = bench.config;
  const std::string key = fmt::format("label={} ranks={} mode={} phase={} batch={}", config.label, bench.comm.size(),
                                      mode_name(mode), workload.shape.phase, workload.shape.batch);
  fmt::print("RESULT {} n_token={} best_s={:.9g} median_s={:.9g} tokens_per_s={:.9g} router_s={:.9g} base_s={:.9g} "
             "expert_s={:.9g} comm_s={:.9g} wait_s={:.9g} other_s={:.9g} n_exchange={} n_row={} runs={} top_k={} "
             "n_expert={}\n",
             key, n_token, best.seconds, median_s, static_cast<double>(n_token) / best.seconds, best.router_s,
             coordinator.base_s, expert_s, coordinator.comm_s, coordinator.wait_s, other_s, coordinator.n_exchange,
             coordinator.n_row, n_run, config.top_k, bench.placement.n_expert());
  for (std::size_t rank = 0; rank < best.per_rank.size(); ++rank) {
    const ServeTimings& timings = best.per_rank[rank];
    fmt::print("RANK {} rank={} base_s={:.9g} expert_s={:.9g} comm_s={:.9g} wait_s={:.9g} n_exchange={} n_row={}\n",
               key, rank, timings.base_s, timings.expert_s, timings.comm_s, timings.wait_s, timings.n_exchange,
               timings.n_row);
  }
  std::fflush(stdout);
}

/// Ranks 0 and 1: one-way time of a message of `n_byte` bytes, the best over 5 batches of round
/// trips (half a round trip each). Point to point (Isend / Irecv) or the dispatcher's pattern: an
/// Ialltoall of counts, then Ialltoallv there and Ialltoallv back.
double one_way_seconds(const Comm& comm, std::string_view kind, std::size_t n_byte, int n_iter) {
  std::vector<std::byte> out(n_byte, std::byte{1});
  std::vector<std::byte> in(n_byte);
  const int rank = comm.rank();
  const int peer = 1 - rank;
  constexpr int kTag = 7201;
  std::vector<std::int64_t> to_peer(2, 0);
  to_peer[static_cast<std::size_t>(peer)] = static_cast<std::int64_t>(n_byte);
  const std::vector<std::int64_t> none(2, 0);
  std::vector<std::int64_t> from_peer(2, 0);
  from_peer[static_cast<std::size_t>(peer)] = static_cast<std::int64_t>(n_byte);
  const auto send_layout = moerge::comm::Layout::from_counts(to_peer, "ping-pong");
  const auto empty_layout = moerge::comm::Layout::from_counts(none, "ping-pong");
  const auto receive_layout = moerge::comm::Layout::from_counts(from_peer, "ping-pong");
  std::vector<std::int32_t> counts_out(2, static_cast<std::int32_t>(n_byte));
  std::vector<std::int32_t> counts_in(2, 0);
  // One leg: `sender` sends n_byte bytes to the other rank.
  const auto leg = [&](int sender) {
    if (kind == "p2p") {
      if (rank == sender) comm.isend(std::span<const std::byte>(out), peer, kTag).wait();
      else comm.irecv(std::span<std::byte>(in), peer, kTag).wait();
      return;
    }
    comm.ialltoall(std::span<const std::int32_t>(counts_out), std::span<std::int32_t>(counts_in)).wait();
    if (rank == sender)
      comm.ialltoallv(std::span<const std::byte>(out), send_layout, std::span<std::byte>(), empty_layout).wait();
    else
      comm.ialltoallv(std::span<const std::byte>(), empty_layout, std::span<std::byte>(in), receive_layout).wait();
  };
  double best = 1e30;
  for (int batch_idx = 0; batch_idx < 6; ++batch_idx) {
    comm.barrier();
    const Clock::time_point start = Clock::now();
    for (int iter = 0; iter < n_iter; ++iter) {
      leg(0);
      leg(1);
    }
    const double seconds = seconds_since(start) / (2.0 * n_iter);
    if (batch_idx > 0) best = std::min(best, seconds);  // batch 0 warms up
  }
  return best;
}

void measure_comm(const Comm& comm) {
  // Ranks past 1 stay out of it, in a communicator of their own.
  MPI_Comm pair_raw = MPI_COMM_NULL;
  moerge::comm::check(MPI_Comm_split(comm.raw(), comm.rank() < 2 ? 0 : MPI_UNDEFINED, comm.rank(), &pair_raw),
                      "MPI_Comm_split");
  if (pair_raw != MPI_COMM_NULL) {
    const Comm pair(pair_raw);
    moerge::comm::check(MPI_Comm_free(&pair_raw), "MPI_Comm_free");
    for (const std::string_view kind : {"p2p", "exchange"})
      for (std::size_t n_byte = 8; n_byte <= (std::size_t{8} << 20); n_byte *= 8) {
        const int n_iter = static_cast<int>(std::clamp<std::size_t>((std::size_t{64} << 20) / (n_byte + 4096), 10, 2000));
        const double seconds = one_way_seconds(pair, kind, n_byte, n_iter);
        if (pair.rank() == 0)
          fmt::print("COMM kind={} bytes={} one_way_s={:.9g} runs={}\n", kind, n_byte, seconds, n_iter);
      }
    std::fflush(stdout);
  }
  polite_barrier(comm);
}

/// Eigen's f32 GEMM rate, y = x W^T as the runtime computes a linear layer, at the zoo's shapes,
/// at LoRA shapes and at a 7B-class model's (for docs/scaling.md): best of 5 after a warm-up.
void measure_gemm() {
  struct GemmShape {
    int n_row, d_in, d_out;
  };
  std::mt19937 generator(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const auto random = [&](int rows, int cols) {
    Matrix out(rows, cols);
    for (Eigen::Index idx = 0; idx < out.size(); ++idx) out.data()[idx] = normal(generator);
    return out;
  };
  for (const GemmShape shape : {GemmShape{2048, 128, 384}, GemmShape{16, 128, 384}, GemmShape{2048, 128, 688},
                                GemmShape{128, 128, 8}, GemmShape{128, 8, 344}, GemmShape{256, 4096, 4096},
                                GemmShape{16, 4096, 4096}, GemmShape{256, 4096, 16}, GemmShape{256, 16, 4096}}) {
    const Matrix x = random(shape.n_row, shape.d_in);
    const Matrix w = random(shape.d_out, shape.d_in);
    Matrix y(shape.n_row, shape.d_out);
    const double flops = 2.0 * shape.n_row * shape.d_in * shape.d_out;
    const int n_inner = static_cast<int>(std::clamp(2e8 / flops, 1.0, 10000.0));
    double best = 1e30;
    for (int run_idx = 0; run_idx < 6; ++run_idx) {
      const Clock::time_point start = Clock::now();
      for (int inner = 0; inner < n_inner; ++inner) y.noalias() = x * w.transpose();
      const double seconds = seconds_since(start) / n_inner;
      if (run_idx > 0) best = std::min(best, seconds);
    }
    fmt::print("GEMM n_row={} d_in={} d_out={} best_s={:.9g} gflops={:.6g}\n", shape.n_row, shape.d_in, shape.d_out,
               best, flops / best * 1e-9);
  }
  std::fflush(stdout);
}

int run(const Config& config, const Comm& comm) {
  const bool coordinator = comm.rank() == moerge::serve::kCoordinator;
  const moerge::io::LlamaConfig hf_config = moerge::io::parse_llama_config(config.model_dir / "config.json");
  const ModelConfig model_config = ModelConfig::from_hf(hf_config);

  // Placement by bytes (serve::make_placement), the same on every rank.
  std::vector<std::string> names;
  std::vector<std::uint64_t> n_bytes;
  std::vector<moerge::serve::ModelSource> sources;  // the zoo adapters (none for generated experts)
  if (config.n_generate > 0) {
    for (int expert_idx = 0; expert_idx < config.n_generate; ++expert_idx) {
      names.push_back(fmt::format("generated{:03d}", expert_idx));
      n_bytes.push_back(generated_bytes(model_config, config.generate_rank));
    }
  } else {
    for (const fs::path& dir : config.lora_dirs) {
      sources.push_back(moerge::serve::ModelSource::parse(dir.string()));
      names.push_back(sources.back().name);
      n_bytes.push_back(moerge::serve::expert_bytes(sources.back()));
    }
  }
  const Placement placement = moerge::serve::make_placement(names, n_bytes, comm.size(), std::nullopt, true);

  // The coordinator loads the base and the text; every rank then its experts only.
  std::optional<LlamaModel> base;
  std::vector<std::vector<TokenId>> tokens;
  if (coordinator) {
    base.emplace(LlamaModel::load_dir(config.model_dir));
    const int n_token = std::max(config.length, config.prompt + config.steps);
    if (n_token > model_config.n_ctx)
      throw ConfigError(fmt::format("--length {} / --prompt {} + --steps {}: longer than the model's context {}",
                                    config.length, config.prompt, config.steps, model_config.n_ctx));
    tokens = text_windows(moerge::eval::read_documents(config.text_dir), config.batch, n_token, base->byte_vocab().bos);
  }
  const long rss_before_kb = status_kb("VmRSS");
  LoraSet local(model_config);
  if (config.n_generate > 0) {
    for (const int expert_idx : placement.experts_of(comm.rank()))
      local.add(generate_expert(model_config, expert_idx, config.generate_rank, config.seed));
  } else {
    local = moerge::serve::load_hosted_experts(placement, comm.rank(), sources, hf_config,
                                               config.model_dir.string());
  }
  const long rss_after_kb = status_kb("VmRSS");

  // Arrow prototypes computed by the hosts, gathered on the coordinator.
  std::optional<moerge::route::TokenRouterHook> router;
  {
    ExpertDispatcher dispatcher(comm, placement, model_config, local,
                                moerge::serve::ServeOptions{.overlap = config.overlap}, true);
    moerge::serve::check_router_layout(dispatcher);
    std::vector<Matrix> prototypes = moerge::serve::gather_arrow_prototypes(dispatcher);
    if (coordinator) {
      moerge::route::TokenRouterOptions options;
      options.top_k = config.top_k;
      router.emplace(moerge::route::TokenRouterKind::arrow, std::move(prototypes), options);
    }
    dispatcher.stop();
    dispatcher.serve();
  }
  std::optional<TimedHook> hook;
  if (coordinator) hook.emplace(*router, placement.n_expert());

  if (!config.memory_only) {
    const Bench bench{.config = config,
                      .comm = comm,
                      .placement = placement,
                      .model_config = model_config,
                      .local = local,
                      .base = base ? &*base : nullptr,
                      .hook = hook ? &*hook : nullptr,
                      .all_experts = comm.size() == 1 ? &local : nullptr};
    std::vector<Mode> modes{Mode::dense, Mode::routed};
    if (comm.size() == 1) modes.push_back(Mode::routed_local);
    for (const Shape& shape : {Shape{"prefill", config.batch}, Shape{"decode", 1}, Shape{"decode", config.batch}}) {
      Workload workload;
      if (coordinator) workload = make_workload(shape, tokens, config);
      workload.shape = shape;
      for (const Mode mode : modes) (void)bench.run(mode, workload);  // warm-up
      std::vector<std::vector<RunResult>> runs(modes.size());
      for (int run_idx = 0; run_idx < config.repeat; ++run_idx)  // alternate: the same conditions for every mode
        for (std::size_t mode_idx = 0; mode_idx < modes.size(); ++mode_idx)
          runs[mode_idx].push_back(bench.run(modes[mode_idx], workload));
      if (coordinator)
        for (std::size_t mode_idx = 0; mode_idx < modes.size(); ++mode_idx)
          print_results(bench, modes[mode_idx], workload, std::move(runs[mode_idx]));
    }
  }
  if (coordinator && !config.memory_only) {
    for (int expert_idx = 0; expert_idx < placement.n_expert(); ++expert_idx)
      fmt::print("LOAD label={} ranks={} expert={} name={} n_entry={}\n", config.label, comm.size(), expert_idx,
                 placement.expert_names[static_cast<std::size_t>(expert_idx)],
                 hook->n_entry()[static_cast<std::size_t>(expert_idx)]);
    if (comm.size() == 1) measure_gemm();
  }
  if (config.comm && comm.size() >= 2) measure_comm(comm);

  // Memory per rank, gathered on the coordinator.
  const std::vector<double> mine{static_cast<double>(placement.experts_of(comm.rank()).size()),
                                 static_cast<double>(placement.bytes_of(comm.rank())),
                                 static_cast<double>(rss_before_kb), static_cast<double>(rss_after_kb),
                                 static_cast<double>(status_kb("VmHWM"))};
  const std::vector<std::int64_t> counts(static_cast<std::size_t>(comm.size()), static_cast<std::int64_t>(mine.size()));
  const auto layout = moerge::comm::Layout::from_counts(counts, "gather of memory figures");
  std::vector<double> all(coordinator ? static_cast<std::size_t>(layout.total()) : 0);
  comm.gatherv(std::span<const double>(mine), std::span<double>(all), layout, moerge::serve::kCoordinator);
  if (coordinator)
    for (int rank = 0; rank < comm.size(); ++rank) {
      const double* value = all.data() + static_cast<std::size_t>(rank) * mine.size();
      fmt::print("MEMORY label={} ranks={} rank={} n_hosted={:.0f} expert_bytes={:.0f} rss_before_experts_kb={:.0f} "
                 "rss_after_experts_kb={:.0f} peak_rss_kb={:.0f}\n",
                 config.label, comm.size(), rank, value[0], value[1], value[2], value[3], value[4]);
    }
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const moerge::comm::MpiSession session(&argc, &argv);
  const Comm comm = Comm::world();
  Config config;
  try {
    config = parse_args(argc, argv);  // the same arguments on every rank: all fail alike
  } catch (const std::exception& error) {
    if (comm.rank() == 0) std::fprintf(stderr, "moerge_bench_distributed: %s\n", error.what());
    return 2;
  }
  try {
    return run(config, comm);
  } catch (const std::exception& error) {
    comm.abort(fmt::format("moerge_bench_distributed: [rank {}] {}", comm.rank(), error.what()), 1);
  }
}
