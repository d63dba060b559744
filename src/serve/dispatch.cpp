// Expert-parallel LoRA experts over MPI (see include/moerge/serve/dispatch.hpp): message layout,
// the coordinator's exchange and combine, the expert ranks' answer loop, liveness probes.
#include "moerge/serve/dispatch.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"

namespace moerge::serve {

namespace {

using Clock = std::chrono::steady_clock;
using model::Matrix;

constexpr int kProbeTag = 7101;
constexpr int kProbeReplyTag = 7102;
constexpr std::int32_t kStop = -1;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What the coordinator says when the launcher stops the job while it waits on expert ranks (a
// rank that died makes mpirun / srun -K1 terminate the others): formatted before any wait, written
// from the signal handler with write(2) only.
char g_waiting_text[4096] = "";
struct sigaction g_previous_term {};

extern "C" void on_terminate(int signal_number) {
  if (g_waiting_text[0] != '\0') {
    const ssize_t ignored = ::write(STDERR_FILENO, g_waiting_text, std::strlen(g_waiting_text));
    (void)ignored;
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

/// Append / read plain values to / from a byte message.
template <class T>
void put(std::vector<std::byte>& out, const T* values, std::size_t n_value) {
  const std::size_t offset = out.size();
  out.resize(offset + n_value * sizeof(T));
  if (n_value > 0) std::memcpy(out.data() + offset, values, n_value * sizeof(T));
}

class Reader {
 public:
  Reader(std::span<const std::byte> bytes, int source) : bytes_(bytes), source_(source) {}
  template <class T>
  void get(T* values, std::size_t n_value) {
    const std::size_t n_byte = n_value * sizeof(T);
    if (offset_ + n_byte > bytes_.size())
      throw Error(fmt::format("expert exchange: a message of {} bytes from rank {} ends before byte {}",
                              bytes_.size(), source_, offset_ + n_byte));
    if (n_byte > 0) std::memcpy(values, bytes_.data() + offset_, n_byte);
    offset_ += n_byte;
  }
  template <class T>
  T get() {
    T value{};
    get(&value, 1);
    return value;
  }
  bool done() const { return offset_ == bytes_.size(); }

 private:
  std::span<const std::byte> bytes_;
  int source_;
  std::size_t offset_ = 0;
};

/// One piece of one expert's rows of one module, as exchanged.
struct Item {
  std::size_t routed_idx = 0;  // into the modules of apply()
  int module_index = 0;
  int expert_idx = 0;
  int host = 0;
  std::size_t first = 0;  // into the module's ExpertRows (rows / weights)
  std::int32_t n_row = 0;
  std::int64_t send_bytes = 0;  // header entry + activations + weights
  std::int64_t reply_floats = 0;
  std::int64_t reply_offset = 0;  // in the round's results, floats
};

model::ModuleId module_of(int index) {
  return model::ModuleId{.layer_idx = index / model::n_module_kind,
                         .kind = static_cast<model::ModuleKind>(index % model::n_module_kind)};
}

}  // namespace

struct ExpertDispatcher::Impl {
  const comm::Comm* comm = nullptr;
  Placement placement;
  model::ModelConfig config;
  model::LoraSet local;
  std::vector<int> local_experts;    // global index of each local expert
  std::vector<int> local_of_global;  // -1 when not hosted here
  std::vector<ExpertInfo> infos;
  ServeOptions options;
  bool quiet = false;
  bool stopped = false;
  bool handler_installed = false;
  mutable ServeTimings timings;
  struct Header {
    std::int32_t module_index, expert_idx, n_row;
  };
  // Reused buffers.
  mutable Matrix block, x, low, delta;
  mutable std::vector<float> weights;

  Impl(const comm::Comm& comm_in, Placement placement_in, const model::ModelConfig& config_in,
       model::LoraSet local_in, ServeOptions options_in, bool quiet_in)
      : comm(&comm_in),
        placement(std::move(placement_in)),
        config(config_in),
        local(std::move(local_in)),
        options(options_in),
        quiet(quiet_in) {}

  bool coordinator() const { return comm->rank() == kCoordinator; }
  /// More ranks on this node than it has cores.
  bool oversubscribed = false;
  double probe_timeout() const { return std::min(options.probe_timeout_s, options.reply_timeout_s); }
  int n_module() const { return config.n_layer * model::n_module_kind; }

  /// Wait for `request`; an expert rank answers liveness probes meanwhile. The coordinator probes
  /// the expert ranks after reply_timeout_s and ends the job when one stays silent.
  void wait(comm::Request& request, std::string_view stage) const {
    const Clock::time_point start = Clock::now();
    Clock::time_point deadline = start + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(options.reply_timeout_s));
    // With a core per rank, poll with yields (an exchange on one node takes microseconds; a sleep
    // costs at least the kernel's ~50 us timer slack, and a napping expert rank adds its nap to
    // every exchange). Oversubscribed (more ranks than cores), poll for a short while, then back
    // off to 1 ms naps so that an idle rank does not take a core from the coordinator.
    const Clock::time_point spin_until =
        oversubscribed ? start + std::chrono::microseconds(300) : Clock::time_point::max();
    auto pause = std::chrono::microseconds(50);
    while (!request.test()) {
      if (!coordinator()) {
        answer_probe();
      } else if (Clock::now() > deadline) {
        probe_expert_ranks(stage);  // returns only when every expert rank answered: slow, not gone
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(options.reply_timeout_s));
      }
      if (Clock::now() < spin_until) {
        std::this_thread::yield();
        continue;
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
    timings.wait_s += seconds_since(start);
  }

  void answer_probe() const {
    if (!comm->iprobe(kCoordinator, kProbeTag)) return;
    std::int32_t token = 0;
    comm->irecv(std::span(&token, 1), kCoordinator, kProbeTag).wait();
    comm->isend(std::span<const std::int32_t>(&token, 1), kCoordinator, kProbeReplyTag).wait();
  }

  std::string hosted_text(int rank) const {
    std::string names;
    for (const int expert_idx : placement.experts_of(rank))
      names += fmt::format("{}{}", names.empty() ? "" : ", ",
                           placement.expert_names[static_cast<std::size_t>(expert_idx)]);
    return names.empty() ? "no experts" : "experts " + names;
  }

  void probe_expert_ranks(std::string_view stage) const {
    const int n_rank = comm->size();
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(n_rank), 1);
    std::vector<std::int32_t> replies(static_cast<std::size_t>(n_rank), 0);
    std::vector<comm::Request> receives(static_cast<std::size_t>(n_rank));
    std::vector<comm::Request> sends(static_cast<std::size_t>(n_rank));
    for (int rank = 0; rank < n_rank; ++rank) {
      if (rank == kCoordinator) continue;
      const auto slot = static_cast<std::size_t>(rank);
      receives[slot] = comm->irecv(std::span(&replies[slot], 1), rank, kProbeReplyTag);
      sends[slot] = comm->isend(std::span<const std::int32_t>(&tokens[slot], 1), rank, kProbeTag);
    }
    const Clock::time_point start = Clock::now();
    std::vector<int> silent;
    for (;;) {
      silent.clear();
      for (int rank = 0; rank < n_rank; ++rank)
        if (rank != kCoordinator && !receives[static_cast<std::size_t>(rank)].test()) silent.push_back(rank);
      if (silent.empty() || seconds_since(start) > probe_timeout()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    for (comm::Request& send : sends) (void)send.test();
    if (silent.empty()) {
      if (!quiet)
        log::warn("expert exchange ({}): no result after {:.0f} s, but every expert rank answers: waiting on",
                  stage, options.reply_timeout_s);
      return;
    }
    std::string text;
    for (const int rank : silent) text += fmt::format("\n  rank {} ({})", rank, hosted_text(rank));
    comm->abort(
        fmt::format("expert exchange ({}): no result after {:.0f} s and no answer to a liveness probe "
                    "within {:.0f} s from {} expert rank{}; ending the job:{}",
                    stage, options.reply_timeout_s, probe_timeout(), silent.size(),
                    silent.size() == 1 ? "" : "s", text),
        1);
  }

  /// One expert's result for its rows `x`: the kernel every path runs (model::lora_delta).
  void compute(const Header& header, const Matrix& rows_in, std::span<const float> row_weights) const {
    const model::ModuleId module = module_of(header.module_index);
    const model::LoraExpert& expert =
        local.expert(local_of_global[static_cast<std::size_t>(header.expert_idx)]);
    const model::LoraFactors* factors = expert.find(module);
    if (factors == nullptr)
      throw Error(fmt::format("expert exchange: expert '{}' does not adapt module {}", expert.name,
                              module.hf_path()));
    const Clock::time_point start = Clock::now();
    model::lora_delta(*factors, expert.scale, rows_in, row_weights, low, delta);
    timings.expert_s += seconds_since(start);
    timings.n_row += header.n_row;
  }

  /// The results of the items of one message, appended to `reply`. A message is
  ///   [n_block_row][n_item] [module, expert, n_row] x n_item
  ///   [the distinct input rows the items use: n_block_row x d_in floats]
  ///   per item: [n_row row positions in the block][n_row routing weights]
  /// so a row routed to several modules of the group (q k v, gate up) travels once.
  void answer(std::span<const std::byte> message, int source, std::vector<float>& reply) const {
    Reader reader(message, source);
    const auto n_block_row = reader.get<std::int32_t>();
    const auto n_item = reader.get<std::int32_t>();
    if (n_block_row < 0 || n_item < 0)
      throw Error(fmt::format("expert exchange: rank {} got a message of {} rows and {} items from rank {}",
                              comm->rank(), n_block_row, n_item, source));
    std::vector<Header> headers(static_cast<std::size_t>(n_item));
    int d_in = -1;
    for (Header& header : headers) {
      header.module_index = reader.get<std::int32_t>();
      header.expert_idx = reader.get<std::int32_t>();
      header.n_row = reader.get<std::int32_t>();
      if (header.module_index < 0 || header.module_index >= n_module() || header.expert_idx < 0 ||
          header.expert_idx >= placement.n_expert() || header.n_row <= 0 ||
          local_of_global[static_cast<std::size_t>(header.expert_idx)] < 0)
        throw Error(
            fmt::format("expert exchange: rank {} got a request for expert {} at module {} ({} rows) "
                        "that it does not host",
                        comm->rank(), header.expert_idx, header.module_index, header.n_row));
      const int module_d_in = config.d_in(module_of(header.module_index).kind);
      if (d_in >= 0 && module_d_in != d_in)
        throw Error(fmt::format("expert exchange: modules of one message take inputs of {} and {} columns",
                                d_in, module_d_in));
      d_in = module_d_in;
    }
    block.resize(n_block_row, std::max(d_in, 0));
    reader.get(block.data(), static_cast<std::size_t>(block.size()));
    std::vector<std::int32_t> positions;
    for (const Header& header : headers) {
      positions.resize(static_cast<std::size_t>(header.n_row));
      reader.get(positions.data(), positions.size());
      weights.resize(static_cast<std::size_t>(header.n_row));
      reader.get(weights.data(), weights.size());
      x.resize(header.n_row, d_in);
      for (std::int32_t row = 0; row < header.n_row; ++row) {
        const std::int32_t position = positions[static_cast<std::size_t>(row)];
        if (position < 0 || position >= n_block_row)
          throw Error(fmt::format("expert exchange: row position {} outside the {} rows sent", position,
                                  n_block_row));
        x.row(row) = block.row(position);
      }
      compute(header, x, weights);
      reply.insert(reply.end(), delta.data(), delta.data() + delta.size());
    }
    if (!reader.done())
      throw Error(fmt::format("expert exchange: {} trailing bytes in a message from rank {}", message.size(),
                              source));
  }
};

ExpertDispatcher::ExpertDispatcher(const comm::Comm& comm, Placement placement,
                                   const model::ModelConfig& config, model::LoraSet local,
                                   ServeOptions options, bool quiet)
    : impl_(std::make_unique<Impl>(comm, std::move(placement), config, std::move(local), options, quiet)) {
  Impl& d = *impl_;
  const unsigned n_core = std::thread::hardware_concurrency();
  d.oversubscribed = n_core == 0 || static_cast<unsigned>(comm.node_size()) > n_core;  // collective
  if (d.placement.n_rank != comm.size())
    throw Error(
        fmt::format("expert placement for {} ranks used on {} ranks", d.placement.n_rank, comm.size()));
  d.local_experts = d.placement.experts_of(comm.rank());
  d.local_of_global.assign(static_cast<std::size_t>(d.placement.n_expert()), -1);
  if (static_cast<std::size_t>(d.local.n_expert()) != d.local_experts.size())
    throw Error(fmt::format("rank {} hosts {} experts but was given {}", comm.rank(), d.local_experts.size(),
                            d.local.n_expert()));
  // Every rank tells every rank what its experts are.
  nlohmann::json mine = nlohmann::json::array();
  for (std::size_t local_idx = 0; local_idx < d.local_experts.size(); ++local_idx) {
    const int expert_idx = d.local_experts[local_idx];
    d.local_of_global[static_cast<std::size_t>(expert_idx)] = static_cast<int>(local_idx);
    const model::LoraExpert& expert = d.local.expert(static_cast<int>(local_idx));
    if (expert.name != d.placement.expert_names[static_cast<std::size_t>(expert_idx)])
      throw Error(fmt::format("rank {}: local expert {} is '{}', placement says '{}'", comm.rank(), local_idx,
                              expert.name, d.placement.expert_names[static_cast<std::size_t>(expert_idx)]));
    std::vector<std::int32_t> ranks(static_cast<std::size_t>(d.n_module()), 0);
    for (int index = 0; index < d.n_module(); ++index)
      if (const model::LoraFactors* factors = expert.find(module_of(index)))
        ranks[static_cast<std::size_t>(index)] = static_cast<std::int32_t>(factors->a.rows());
    mine.push_back(
        {{"expert", expert_idx}, {"name", expert.name}, {"scale", expert.scale}, {"module_rank", ranks}});
  }
  const std::vector<std::string> all = comm.allgather(mine.dump());
  d.infos.resize(static_cast<std::size_t>(d.placement.n_expert()));
  std::vector<int> reported_by(d.infos.size(), -1);
  for (int rank = 0; rank < comm.size(); ++rank)
    for (const nlohmann::json& entry : nlohmann::json::parse(all[static_cast<std::size_t>(rank)])) {
      const auto expert_idx = entry.at("expert").get<std::size_t>();
      ExpertInfo info{.name = entry.at("name").get<std::string>(),
                      .scale = entry.at("scale").get<float>(),
                      .module_rank = entry.at("module_rank").get<std::vector<std::int32_t>>()};
      if (reported_by[expert_idx] < 0) {
        d.infos[expert_idx] = std::move(info);
        reported_by[expert_idx] = rank;
      } else if (info.scale != d.infos[expert_idx].scale ||
                 info.module_rank != d.infos[expert_idx].module_rank) {
        throw InputError(
            fmt::format("expert '{}' differs between its hosts rank {} and rank {} (scale {} vs {}): "
                        "they loaded different files",
                        info.name, reported_by[expert_idx], rank, d.infos[expert_idx].scale, info.scale));
      }
    }
  for (std::size_t expert_idx = 0; expert_idx < d.infos.size(); ++expert_idx)
    if (reported_by[expert_idx] < 0)
      throw Error(fmt::format("expert '{}' is hosted by no rank", d.placement.expert_names[expert_idx]));
  if (comm.rank() == kCoordinator && comm.size() > 1) {
    if (!quiet)
      for (const std::string& line : d.placement.describe()) log::info("placement: {}", line);
    std::string text = "moerge: the job was stopped while the coordinator waited for the expert ranks;";
    for (int rank = 1; rank < comm.size(); ++rank)
      text += fmt::format(" rank {} hosts {};", rank, d.hosted_text(rank));
    text += "\n";
    std::snprintf(g_waiting_text, sizeof(g_waiting_text), "%s", text.c_str());
    struct sigaction action {};
    action.sa_handler = on_terminate;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, &g_previous_term);
    d.handler_installed = true;
  }
}

ExpertDispatcher::~ExpertDispatcher() {
  try {
    stop();
  } catch (const std::exception& error) {
    log::error("stopping the expert ranks: {}", error.what());
  }
  if (impl_->handler_installed) {
    sigaction(SIGTERM, &g_previous_term, nullptr);
    g_waiting_text[0] = '\0';
  }
}

bool ExpertDispatcher::is_coordinator() const { return impl_->coordinator(); }
const Placement& ExpertDispatcher::placement() const { return impl_->placement; }
const std::vector<ExpertInfo>& ExpertDispatcher::experts() const { return impl_->infos; }
int ExpertDispatcher::n_expert() const { return impl_->placement.n_expert(); }
const std::string& ExpertDispatcher::expert_name(int expert_idx) const {
  return impl_->placement.expert_names.at(static_cast<std::size_t>(expert_idx));
}
const model::LoraSet& ExpertDispatcher::local() const { return impl_->local; }
const std::vector<int>& ExpertDispatcher::local_experts() const { return impl_->local_experts; }
const ServeTimings& ExpertDispatcher::timings() const { return impl_->timings; }

void ExpertDispatcher::apply(std::span<model::RoutedModule> modules, const Matrix& input,
                             const std::function<void()>& base) const {
  const Impl& d = *impl_;
  if (!d.coordinator())
    throw Error(fmt::format("ExpertDispatcher::apply called on expert rank {}", d.comm->rank()));
  if (d.stopped) throw Error("ExpertDispatcher::apply after stop()");
  Clock::time_point pack_start = Clock::now();
  const int n_rank = d.comm->size();
  const auto d_in = static_cast<std::size_t>(input.cols());

  // Group every module's rows by expert; one item per (module, expert) with rows, in that order,
  // split into pieces only when one expert's rows exceed a message.
  std::vector<model::ExpertRows> grouped;
  grouped.reserve(modules.size());
  std::vector<Item> items;
  for (std::size_t routed_idx = 0; routed_idx < modules.size(); ++routed_idx) {
    const model::RoutedModule& routed = modules[routed_idx];
    const int d_out = d.config.d_out(routed.module.kind);
    if (input.cols() != d.config.d_in(routed.module.kind) || routed.output.rows() != input.rows() ||
        routed.output.cols() != d_out)
      throw Error(fmt::format("module {}: input [{}, {}] / output [{}, {}] do not fit the module",
                              routed.module.hf_path(), input.rows(), input.cols(), routed.output.rows(),
                              routed.output.cols()));
    grouped.push_back(model::group_rows_by_expert(routed.module, *routed.decision, input.rows(), n_expert()));
    const int module_index = routed.module.index();
    // Bytes a row may add to a message (its input, if not sent yet, its position and weight) and
    // to a reply.
    const auto row_send = static_cast<std::int64_t>(d_in + 2) * 4;
    const std::int64_t row_reply = d_out;  // floats
    const std::int64_t max_piece_rows =
        std::max<std::int64_t>(1, (d.options.max_message_bytes - 64) / std::max(row_send, 4 * row_reply));
    for (int expert_idx = 0; expert_idx < n_expert(); ++expert_idx) {
      const auto n_row = static_cast<std::int64_t>(grouped.back().n_row(expert_idx));
      if (n_row == 0 ||
          d.infos[static_cast<std::size_t>(expert_idx)].module_rank[static_cast<std::size_t>(module_index)] ==
              0)
        continue;
      const auto first =
          static_cast<std::size_t>(grouped.back().offsets[static_cast<std::size_t>(expert_idx)]);
      for (std::int64_t piece_first = 0; piece_first < n_row; piece_first += max_piece_rows) {
        const auto n_piece = static_cast<std::int32_t>(std::min(max_piece_rows, n_row - piece_first));
        items.push_back(Item{.routed_idx = routed_idx,
                             .module_index = module_index,
                             .expert_idx = expert_idx,
                             .host = d.placement.host_for(expert_idx, module_index),
                             .first = first + static_cast<std::size_t>(piece_first),
                             .n_row = n_piece,
                             .send_bytes = 12 + n_piece * row_send,
                             .reply_floats = n_piece * row_reply});
      }
    }
  }

  bool base_done = false;
  const auto run_base = [&] {
    if (base_done) return;
    const Clock::time_point base_start = Clock::now();
    base();  // the base model's product, while the rows travel
    d.timings.base_s += seconds_since(base_start);
    base_done = true;
  };
  std::size_t next_item = 0;
  std::vector<std::byte> send;
  std::vector<float> results;       // remote items' results, in rank order
  std::vector<float> self_results;  // items this rank hosts
  std::vector<std::int32_t> position_of_row(static_cast<std::size_t>(input.rows()), -1);
  std::vector<std::int32_t> block_rows;
  Matrix x;
  while (next_item < items.size()) {
    // One round: as many items as keep every message within max_message_bytes.
    if (next_item > 0) pack_start = Clock::now();
    const std::size_t round_begin = next_item;
    std::int64_t round_send = 8 * n_rank;
    std::int64_t round_reply = 0;
    while (next_item < items.size() &&
           (next_item == round_begin ||
            (round_send + items[next_item].send_bytes <= d.options.max_message_bytes &&
             round_reply + 4 * items[next_item].reply_floats <= d.options.max_message_bytes))) {
      round_send += items[next_item].send_bytes;
      round_reply += 4 * items[next_item].reply_floats;
      ++next_item;
    }
    const std::span<Item> round(items.data() + round_begin, next_item - round_begin);
    std::vector<std::vector<std::size_t>> of_host(static_cast<std::size_t>(n_rank));
    for (std::size_t idx = 0; idx < round.size(); ++idx)
      of_host[static_cast<std::size_t>(round[idx].host)].push_back(idx);

    // Messages to the other hosts (see Impl::answer for the layout).
    send.clear();
    std::vector<std::int64_t> send_counts(static_cast<std::size_t>(n_rank), 0);
    std::vector<std::int64_t> reply_counts(static_cast<std::size_t>(n_rank), 0);
    std::int64_t reply_offset = 0;
    std::int64_t self_offset = 0;
    for (int rank = 0; rank < n_rank; ++rank) {
      const std::vector<std::size_t>& mine = of_host[static_cast<std::size_t>(rank)];
      if (mine.empty()) continue;
      if (rank == d.comm->rank()) {
        for (const std::size_t idx : mine) {
          round[idx].reply_offset = self_offset;
          self_offset += round[idx].reply_floats;
        }
        continue;
      }
      const std::size_t start = send.size();
      block_rows.clear();
      for (const std::size_t idx : mine) {
        const model::ExpertRows& rows = grouped[round[idx].routed_idx];
        for (std::int32_t row = 0; row < round[idx].n_row; ++row) {
          const std::int32_t input_row = rows.rows[round[idx].first + static_cast<std::size_t>(row)];
          if (position_of_row[static_cast<std::size_t>(input_row)] < 0) {
            position_of_row[static_cast<std::size_t>(input_row)] =
                static_cast<std::int32_t>(block_rows.size());
            block_rows.push_back(input_row);
          }
        }
      }
      const std::int32_t counts_header[2] = {static_cast<std::int32_t>(block_rows.size()),
                                             static_cast<std::int32_t>(mine.size())};
      put(send, counts_header, 2);
      for (const std::size_t idx : mine) {
        const std::int32_t header[3] = {round[idx].module_index, round[idx].expert_idx, round[idx].n_row};
        put(send, header, 3);
      }
      for (const std::int32_t input_row : block_rows) put(send, input.row(input_row).data(), d_in);
      for (const std::size_t idx : mine) {
        Item& item = round[idx];
        const model::ExpertRows& rows = grouped[item.routed_idx];
        for (std::int32_t row = 0; row < item.n_row; ++row) {
          const std::int32_t input_row = rows.rows[item.first + static_cast<std::size_t>(row)];
          put(send, &position_of_row[static_cast<std::size_t>(input_row)], 1);
        }
        put(send, rows.weights.data() + item.first, static_cast<std::size_t>(item.n_row));
        item.reply_offset = reply_offset;
        reply_offset += item.reply_floats;
        reply_counts[static_cast<std::size_t>(rank)] += item.reply_floats;
      }
      for (const std::int32_t input_row : block_rows)
        position_of_row[static_cast<std::size_t>(input_row)] = -1;
      send_counts[static_cast<std::size_t>(rank)] = static_cast<std::int64_t>(send.size() - start);
    }
    results.resize(static_cast<std::size_t>(reply_offset));
    self_results.resize(static_cast<std::size_t>(self_offset));
    const bool remote = reply_offset > 0;
    d.timings.comm_s += seconds_since(pack_start);

    comm::Request counts_request;
    comm::Request scatter_request;
    comm::Request gather_request;
    std::vector<std::int32_t> counts(static_cast<std::size_t>(n_rank), 0);
    std::vector<std::int32_t> counts_back(static_cast<std::size_t>(n_rank), 0);
    const std::vector<std::int64_t> zeros(static_cast<std::size_t>(n_rank), 0);
    const comm::Layout nothing = comm::Layout::from_counts(zeros, "expert exchange");
    comm::Layout send_layout;
    comm::Layout reply_layout;
    if (remote) {
      send_layout = comm::Layout::from_counts(send_counts, "expert exchange (activations)");
      reply_layout = comm::Layout::from_counts(reply_counts, "expert exchange (results)");
      counts.assign(send_layout.counts.begin(), send_layout.counts.end());
      counts_request =
          d.comm->ialltoall(std::span<const std::int32_t>(counts), std::span<std::int32_t>(counts_back));
      scatter_request =
          d.comm->ialltoallv(std::span<const std::byte>(send), send_layout, std::span<std::byte>(), nothing);
      gather_request =
          d.comm->ialltoallv(std::span<const float>(), nothing, std::span<float>(results), reply_layout);
    }
    if (d.options.overlap || !remote) run_base();
    // The experts this rank hosts (every expert with one rank), while the others compute.
    for (const std::size_t idx : of_host[static_cast<std::size_t>(d.comm->rank())]) {
      const Item& item = round[idx];
      const model::ExpertRows& rows = grouped[item.routed_idx];
      x.resize(item.n_row, input.cols());
      for (std::int32_t row = 0; row < item.n_row; ++row)
        x.row(row) = input.row(rows.rows[item.first + static_cast<std::size_t>(row)]);
      d.compute(
          Impl::Header{item.module_index, item.expert_idx, item.n_row}, x,
          std::span<const float>(rows.weights.data() + item.first, static_cast<std::size_t>(item.n_row)));
      std::copy(d.delta.data(), d.delta.data() + d.delta.size(), self_results.begin() + item.reply_offset);
    }
    if (remote) {
      d.wait(counts_request, "counts");
      d.wait(scatter_request, "activations");
      d.wait(gather_request, "results");
      ++d.timings.n_exchange;
      run_base();  // without overlap: now
    }

    // Combine in item order: module by module, experts ascending, as LoraSet::apply adds them.
    const Clock::time_point combine_start = Clock::now();
    for (const Item& item : round) {
      const model::RoutedModule& routed = modules[item.routed_idx];
      const float* item_results =
          (item.host == d.comm->rank() ? self_results.data() : results.data()) + item.reply_offset;
      const Eigen::Map<const Matrix> item_delta(item_results, item.n_row, routed.output.cols());
      const model::ExpertRows& rows = grouped[item.routed_idx];
      model::scatter_add_rows(
          item_delta,
          std::span<const std::int32_t>(rows.rows.data() + item.first, static_cast<std::size_t>(item.n_row)),
          routed.output);
    }
    d.timings.comm_s += seconds_since(combine_start);
  }
  run_base();  // no routed rows for experts that adapt these modules
}

void ExpertDispatcher::serve() {
  Impl& d = *impl_;
  if (d.coordinator()) return;
  const int n_rank = d.comm->size();
  std::vector<std::int32_t> no_counts(static_cast<std::size_t>(n_rank), 0);
  std::vector<std::int32_t> counts(static_cast<std::size_t>(n_rank), 0);
  const std::vector<std::int64_t> zeros(static_cast<std::size_t>(n_rank), 0);
  const comm::Layout empty = comm::Layout::from_counts(zeros, "expert exchange");
  std::vector<std::byte> message;
  std::vector<float> reply;
  for (;;) {
    comm::Request counts_request =
        d.comm->ialltoall(std::span<const std::int32_t>(no_counts), std::span<std::int32_t>(counts));
    d.wait(counts_request, "counts");
    const std::int32_t n_byte = counts[kCoordinator];
    if (n_byte == kStop) break;
    message.resize(static_cast<std::size_t>(n_byte));
    std::vector<std::int64_t> receive_counts(static_cast<std::size_t>(n_rank), 0);
    receive_counts[kCoordinator] = n_byte;
    comm::Request scatter_request =
        d.comm->ialltoallv(std::span<const std::byte>(), empty, std::span<std::byte>(message),
                           comm::Layout::from_counts(receive_counts, "expert exchange (activations)"));
    d.wait(scatter_request, "activations");
    reply.clear();
    if (n_byte > 0) d.answer(message, kCoordinator, reply);
    std::vector<std::int64_t> reply_counts(static_cast<std::size_t>(n_rank), 0);
    reply_counts[kCoordinator] = static_cast<std::int64_t>(reply.size());
    comm::Request gather_request = d.comm->ialltoallv(
        std::span<const float>(reply), comm::Layout::from_counts(reply_counts, "expert exchange (results)"),
        std::span<float>(), empty);
    d.wait(gather_request, "results");
    ++d.timings.n_exchange;
  }
}

void ExpertDispatcher::stop() {
  Impl& d = *impl_;
  if (!d.coordinator() || d.stopped) return;
  d.stopped = true;
  if (d.comm->size() == 1) return;
  const std::vector<std::int32_t> stop_all(static_cast<std::size_t>(d.comm->size()), kStop);
  std::vector<std::int32_t> counts_back(stop_all.size(), 0);
  comm::Request request =
      d.comm->ialltoall(std::span<const std::int32_t>(stop_all), std::span<std::int32_t>(counts_back));
  d.wait(request, "stop");
}

std::vector<Matrix> ExpertDispatcher::gather_module_vectors(const std::vector<Matrix>& local_vectors) const {
  const Impl& d = *impl_;
  const auto n_module = static_cast<std::size_t>(d.n_module());
  if (local_vectors.size() != n_module)
    throw Error(
        fmt::format("gather_module_vectors: {} modules, expected {}", local_vectors.size(), n_module));
  // This rank's rows: per local expert, per module it adapts, d_in floats.
  std::vector<float> mine;
  for (std::size_t local_idx = 0; local_idx < d.local_experts.size(); ++local_idx) {
    const ExpertInfo& info = d.infos[static_cast<std::size_t>(d.local_experts[local_idx])];
    for (std::size_t index = 0; index < n_module; ++index) {
      if (info.module_rank[index] == 0) continue;
      const Matrix& vectors = local_vectors[index];
      const int d_in = d.config.d_in(module_of(static_cast<int>(index)).kind);
      if (vectors.rows() != static_cast<Eigen::Index>(d.local_experts.size()) || vectors.cols() != d_in)
        throw Error(fmt::format("gather_module_vectors: module {} has [{}, {}] on rank {}, expected [{}, {}]",
                                module_of(static_cast<int>(index)).hf_path(), vectors.rows(), vectors.cols(),
                                d.comm->rank(), d.local_experts.size(), d_in));
      const auto row = vectors.row(static_cast<Eigen::Index>(local_idx));
      mine.insert(mine.end(), row.data(), row.data() + d_in);
    }
  }
  const auto row_floats = [&](int expert_idx) {
    std::int64_t n_float = 0;
    const ExpertInfo& info = d.infos[static_cast<std::size_t>(expert_idx)];
    for (std::size_t index = 0; index < n_module; ++index)
      if (info.module_rank[index] != 0) n_float += d.config.d_in(module_of(static_cast<int>(index)).kind);
    return n_float;
  };
  std::vector<std::int64_t> counts(static_cast<std::size_t>(d.comm->size()), 0);
  for (int rank = 0; rank < d.comm->size(); ++rank)
    for (const int expert_idx : d.placement.experts_of(rank))
      counts[static_cast<std::size_t>(rank)] += row_floats(expert_idx);
  const comm::Layout layout = comm::Layout::from_counts(counts, "gather of routing vectors");
  std::vector<float> all(d.coordinator() ? static_cast<std::size_t>(layout.total()) : 0);
  d.comm->gatherv(std::span<const float>(mine), std::span<float>(all), layout, kCoordinator);
  if (!d.coordinator()) return {};

  std::vector<Matrix> out(n_module);
  for (std::size_t index = 0; index < n_module; ++index) {
    bool adapted = false;
    for (const ExpertInfo& info : d.infos) adapted = adapted || info.module_rank[index] != 0;
    if (adapted)
      out[index] = Matrix::Zero(n_expert(), d.config.d_in(module_of(static_cast<int>(index)).kind));
  }
  for (int rank = 0; rank < d.comm->size(); ++rank) {
    std::size_t offset = static_cast<std::size_t>(layout.displs[static_cast<std::size_t>(rank)]);
    for (const int expert_idx : d.placement.experts_of(rank)) {
      const bool first_host = d.placement.hosts[static_cast<std::size_t>(expert_idx)].front() == rank;
      const ExpertInfo& info = d.infos[static_cast<std::size_t>(expert_idx)];
      for (std::size_t index = 0; index < n_module; ++index) {
        if (info.module_rank[index] == 0) continue;
        const int d_in = d.config.d_in(module_of(static_cast<int>(index)).kind);
        if (first_host)
          out[index].row(expert_idx) = Eigen::Map<const Eigen::RowVectorXf>(all.data() + offset, d_in);
        offset += static_cast<std::size_t>(d_in);
      }
    }
  }
  return out;
}

std::vector<ServeTimings> ExpertDispatcher::gather_timings() const {
  const Impl& d = *impl_;
  const ServeTimings& mine = d.timings;
  const std::vector<double> values{mine.base_s,
                                   mine.expert_s,
                                   mine.comm_s,
                                   mine.wait_s,
                                   static_cast<double>(mine.n_exchange),
                                   static_cast<double>(mine.n_row)};
  constexpr std::int64_t kPerRank = 6;
  const std::vector<std::int64_t> counts(static_cast<std::size_t>(d.comm->size()), kPerRank);
  const comm::Layout layout = comm::Layout::from_counts(counts, "gather of timings");
  std::vector<double> all(d.coordinator() ? static_cast<std::size_t>(layout.total()) : 0);
  d.comm->gatherv(std::span<const double>(values), std::span<double>(all), layout, kCoordinator);
  std::vector<ServeTimings> out;
  if (!d.coordinator()) return out;
  for (int rank = 0; rank < d.comm->size(); ++rank) {
    const double* value = all.data() + rank * kPerRank;
    out.push_back(ServeTimings{.base_s = value[0],
                               .expert_s = value[1],
                               .comm_s = value[2],
                               .wait_s = value[3],
                               .n_exchange = static_cast<std::int64_t>(value[4]),
                               .n_row = static_cast<std::int64_t>(value[5])});
  }
  return out;
}

}  // namespace moerge::serve
