// The distributed streaming merge executor (see engine.hpp): row blocks per rank read through each
// input's source (mapped safetensors, or collective reads of a library object), integer
// statistics reduced across ranks, slabs written with pwrite, atomic publish, resume journal.
#include "moerge/merge/engine.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "moerge/core/error.hpp"
#include "moerge/core/hash.hpp"
#include "moerge/core/log.hpp"
#include "moerge/core/progress.hpp"
#include "moerge/io/atomic.hpp"
#include "moerge/merge/source.hpp"

namespace fs = std::filesystem;

namespace moerge::merge {

namespace {

constexpr std::string_view kJournal = "moerge_journal.txt";

/// A file descriptor closed on destruction.
class Fd {
 public:
  Fd(const fs::path& path, int flags, mode_t mode = 0644) : path_(path), fd_(::open(path.c_str(), flags, mode)) {
    if (fd_ < 0) throw IoError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&&) = delete;

  void pwrite_all(std::span<const std::byte> bytes, std::uint64_t offset) const {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw IoError(fmt::format("{}: write at offset {} failed: {}", path_.string(), offset + done,
                                            std::strerror(errno)));
      done += static_cast<std::size_t>(n);
    }
  }
  void append(std::span<const std::byte> bytes) const {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw IoError(fmt::format("{}: append failed: {}", path_.string(), std::strerror(errno)));
      done += static_cast<std::size_t>(n);
    }
  }
  /// Starts writing back bytes [offset, offset + n_byte) without waiting, so that the final
  /// fdatasync finds little left to write. A hint: a failure here shows in the fdatasync.
  void start_writeback(std::uint64_t offset, std::uint64_t n_byte) const {
    if (n_byte > 0)
      static_cast<void>(::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(n_byte),
                                          SYNC_FILE_RANGE_WRITE));
  }
  void sync() const {
    if (::fdatasync(fd_) != 0) throw IoError(fmt::format("{}: fdatasync failed: {}", path_.string(), std::strerror(errno)));
  }
  void truncate(std::uint64_t size) const {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      throw IoError(fmt::format("{}: cannot size to {} bytes: {}", path_.string(), size, std::strerror(errno)));
  }

 private:
  fs::path path_;
  int fd_ = -1;
};

std::span<const std::byte> as_bytes(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

/// The fingerprint a journal must carry to be resumed: the recipe and the output layout.
std::string plan_fingerprint(const MergePlan& plan) {
  hash::Sha256 sha;
  sha.update(as_bytes(plan.recipe.text));
  for (const auto& shard : plan.shards) {
    sha.update(as_bytes(shard.file));
    sha.update(as_bytes(shard.header));
  }
  for (const auto& input : plan.inputs) sha.update(as_bytes(input.label));
  return sha.hex();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw IoError(fmt::format("{}: cannot write", path.string()));
}

using Sources = std::vector<std::unique_ptr<InputSource>>;

/// Reads row blocks of every input as f32, checking they are finite.
class BlockReader {
 public:
  BlockReader(const MergePlan& plan, const TensorTask& task, Sources& sources)
      : plan_(plan), task_(task), sources_(sources) {}

  /// rows [row_begin, row_begin + n_row) of `part` of input `input_idx` (a HF model's tensor or
  /// its Fisher) as f32.
  void read_rows(std::size_t input_idx, Part part, std::uint64_t row_begin, std::uint64_t n_row,
                 std::span<float> out) const {
    const std::uint64_t first = row_begin * task_.row_length;
    const std::uint64_t count = n_row * task_.row_length;
    InputSource& source = *sources_[input_idx];
    const Block block = source.read(part, task_.name, first, count);
    if (!convert_to_f32_all_finite(block.dtype, block.bytes, out.first(count)))
      check_finite(plan_.inputs[input_idx], fmt::format("{} '{}'", part_label(plan_.inputs[input_idx], part), task_.name),
                   out.first(count), first);
    // Consumed: a mapping unmaps the block's pages at once, so resident memory stays at the
    // buffers' size even within one large tensor (a later pass maps them again from the page cache).
    source.consumed(block);
  }

  /// theta of input `input_idx` on the rows (peft: base + delta, rounded to f32).
  void theta(std::size_t input_idx, std::uint64_t row_begin, std::uint64_t n_row, std::span<const float> base,
             std::span<float> out) {
    const PlanInput& input = plan_.inputs[input_idx];
    if (input.kind == InputKind::hf_model) {
      read_rows(input_idx, Part::weight, row_begin, n_row, out);
      return;
    }
    const std::uint64_t count = n_row * task_.row_length;
    if (!lora_delta(input_idx, row_begin, n_row, out)) {
      std::copy_n(base.begin(), count, out.begin());
      return;
    }
    for (std::uint64_t idx = 0; idx < count; ++idx) out[idx] = base[idx] + out[idx];
  }

  /// tau = theta - base (peft: the delta s B A itself).
  void tau(std::size_t input_idx, std::uint64_t row_begin, std::uint64_t n_row, std::span<const float> base,
           std::span<float> out) {
    const PlanInput& input = plan_.inputs[input_idx];
    const std::uint64_t count = n_row * task_.row_length;
    if (input.kind == InputKind::hf_model) {
      read_rows(input_idx, Part::weight, row_begin, n_row, out);
      task_vector(out.first(count), base.first(count), out.first(count));
      return;
    }
    if (!lora_delta(input_idx, row_begin, n_row, out)) std::fill_n(out.begin(), count, 0.0f);
  }

 private:
  static void check_finite(const PlanInput& input, std::string_view what, std::span<const float> values,
                           std::uint64_t first_element) {
    // A non-finite f32 has all exponent bits set: a branch-free integer pass the compiler
    // vectorises; the element is searched for only when the pass found one.
    std::uint32_t any_nonfinite = 0;
    for (const float value : values) {
      const auto bits = std::bit_cast<std::uint32_t>(value);
      any_nonfinite |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (any_nonfinite == 0) return;
    for (std::size_t idx = 0; idx < values.size(); ++idx)
      if (!std::isfinite(values[idx]))
        throw InputError(fmt::format("model '{}': {} holds a non-finite value ({}) at element {}", input.label, what,
                                     values[idx], first_element + idx));
  }

  /// delta rows of a LoRA-adapted weight into out; false when the adapter does not touch it.
  bool lora_delta(std::size_t input_idx, std::uint64_t row_begin, std::uint64_t n_row, std::span<float> out) {
    const PlanInput& input = plan_.inputs[input_idx];
    const auto found = input.lora_of_weight.find(task_.name);
    if (found == input.lora_of_weight.end()) return false;
    const io::LoraModule& module = input.adapter->modules[found->second];
    auto& a = a_cache_[input_idx];
    const auto d_in = static_cast<std::size_t>(module.d_in);
    const auto rank = static_cast<std::size_t>(module.r);
    InputSource& source = *sources_[input_idx];
    if (a.empty()) {
      const Block block = source.read(Part::lora_a, module.module, 0, rank * d_in);
      a.resize(rank * d_in);
      convert_to_f32(block.dtype, block.bytes, a);
      source.consumed(block);
      check_finite(input, fmt::format("tensor '{}'", module.a_key), a, 0);
    }
    const Block b_block = source.read(Part::lora_b, module.module, row_begin * rank, n_row * rank);
    std::vector<float> b_rows(n_row * rank);
    convert_to_f32(b_block.dtype, b_block.bytes, b_rows);
    source.consumed(b_block);
    check_finite(input, fmt::format("tensor '{}'", module.b_key), b_rows, row_begin * rank);
    // One row per call: a GEMM's blocking depends on its size, so rows computed alone give the same
    // bits whatever the chunk or the rank split.
    for (std::uint64_t row = 0; row < n_row; ++row)
      lora_delta_rows(std::span<const float>(b_rows).subspan(row * rank, rank), a, rank, d_in, input.adapter->scale(),
                      out.subspan(row * d_in, d_in));
    return true;
  }

  const MergePlan& plan_;
  const TensorTask& task_;
  Sources& sources_;
  std::map<std::size_t, std::vector<float>> a_cache_;
};

/// Sums every ExactSum across ranks (limbs as uint64, wrapping).
void reduce_sums(std::span<ExactSum* const> sums, const comm::Comm& comm) {
  std::vector<std::uint64_t> limbs;
  for (const ExactSum* sum : sums) limbs.insert(limbs.end(), sum->limbs().begin(), sum->limbs().end());
  comm.allreduce(std::span<std::uint64_t>(limbs), comm::Op::sum);
  std::size_t offset = 0;
  for (ExactSum* sum : sums) {
    std::copy_n(limbs.begin() + static_cast<std::ptrdiff_t>(offset), ExactSum::n_limb, sum->limbs().begin());
    offset += ExactSum::n_limb;
  }
}

/// Number of elements before this rank's block that count: the exclusive prefix sum over ranks.
std::uint64_t exclusive_prefix(std::uint64_t mine, const comm::Comm& comm) {
  const auto all = comm.allgather(mine);
  std::uint64_t before = 0;
  for (int rank = 0; rank < comm.rank(); ++rank) before += all[static_cast<std::size_t>(rank)];
  return before;
}

class Engine {
 public:
  /// Opens every input's source (collective for library objects: every rank in plan order).
  Engine(const MergePlan& plan, const EngineOptions& options, const comm::Comm& comm)
      : plan_(plan), options_(options), comm_(comm), info_(plan.recipe.info()), n_merged_(plan.merged.size()) {
    for (const PlanInput& input : plan_.inputs) {
      sources_.push_back(open_source(input, comm_));
      if (sources_.back()->collective()) ++n_collective_;
    }
  }

  /// After a failure on this rank: drop the library files unclosed (see InputSource::abandon).
  void abandon_sources() noexcept {
    for (auto& source : sources_) source->abandon();
  }

  /// This rank's rows of a tensor.
  std::pair<std::uint64_t, std::uint64_t> my_rows(const TensorTask& task) const {
    const auto size = static_cast<std::uint64_t>(comm_.size());
    const auto rank = static_cast<std::uint64_t>(comm_.rank());
    return {task.n_row * rank / size, task.n_row * (rank + 1) / size};
  }

  /// Rows per chunk: the working buffers stay within the memory limit, and each buffer near
  /// kChunkElements so that a block is still in cache when the next step of the kernel reads it
  /// (at least one row).
  std::uint64_t chunk_rows(const TensorTask& task) const {
    constexpr std::uint64_t kChunkElements = std::uint64_t{1} << 16;
    const std::uint64_t row_length = std::max<std::uint64_t>(1, task.row_length);
    // f32 working buffers, plus one read buffer (at most 4 bytes an element) per library input.
    const std::uint64_t per_row = row_length * 4 * (3 * n_merged_ + 5 + n_collective_);
    const std::uint64_t by_memory = options_.memory_limit_bytes / per_row;
    const std::uint64_t by_cache = kChunkElements / row_length;
    return std::max<std::uint64_t>(1, std::min(by_memory, by_cache));
  }

  /// fn(row, n_row) over this rank's rows in chunks. With collective reads every rank takes as many
  /// steps as the rank with the most rows, its extra steps empty (n_row 0), so that every read
  /// call has its partner on every rank.
  template <class Fn>
  void for_chunks(const TensorTask& task, Fn&& fn) const {
    const auto [row_begin, row_end] = my_rows(task);
    const std::uint64_t step = chunk_rows(task);
    std::uint64_t n_row_max = row_end - row_begin;
    if (n_collective_ > 0) {
      const auto size = static_cast<std::uint64_t>(comm_.size());
      for (std::uint64_t rank = 0; rank < size; ++rank)
        n_row_max = std::max(n_row_max, task.n_row * (rank + 1) / size - task.n_row * rank / size);
    }
    const std::uint64_t n_chunk = (n_row_max + step - 1) / step;
    for (std::uint64_t chunk_idx = 0; chunk_idx < n_chunk; ++chunk_idx) {
      const std::uint64_t row = std::min(row_begin + chunk_idx * step, row_end);
      fn(row, std::min(step, row_end - row));
    }
  }

  void ensure_buffers(const TensorTask& task) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_rows(task), std::max<std::uint64_t>(task.n_row, 1)) * task.row_length);
    if (n <= capacity_) return;
    capacity_ = n;
    base_.assign(n, 0.0f);
    out_.assign(n, 0.0f);
    inputs_.assign(n_merged_, std::vector<float>(n));
    sparse_.assign(n_merged_, std::vector<float>(n));
    fishers_.assign(n_merged_, std::vector<float>(n));
  }

  /// Give back the mapped pages of a finished tensor's inputs, so resident memory stays bounded by
  /// the working buffers whatever the model size.
  void release_inputs(const TensorTask& task) const {
    for (const auto& source : sources_) source->release(task.name);
  }

  std::span<float> buf(std::vector<float>& v, std::uint64_t count) { return std::span<float>(v).first(count); }

  /// Reads the base rows (or zeros when the method has no base).
  void read_base(BlockReader& reader, const TensorTask& task, std::uint64_t row, std::uint64_t n_row) {
    const std::uint64_t count = n_row * task.row_length;
    if (plan_.base) {
      reader.read_rows(*plan_.base, Part::weight, row, n_row, buf(base_, count));
    } else {
      std::fill_n(base_.begin(), count, 0.0f);
    }
  }

  void read_taus(BlockReader& reader, const TensorTask& task, std::uint64_t row, std::uint64_t n_row) {
    read_base(reader, task, row, n_row);
    const std::uint64_t count = n_row * task.row_length;
    for (std::size_t model = 0; model < n_merged_; ++model)
      reader.tau(plan_.merged[model], row, n_row, buf(base_, count), buf(inputs_[model], count));
  }

  void read_thetas(BlockReader& reader, const TensorTask& task, std::uint64_t row, std::uint64_t n_row) {
    read_base(reader, task, row, n_row);
    const std::uint64_t count = n_row * task.row_length;
    for (std::size_t model = 0; model < n_merged_; ++model)
      reader.theta(plan_.merged[model], row, n_row, buf(base_, count), buf(inputs_[model], count));
  }

  std::vector<std::span<const float>> spans(std::vector<std::vector<float>>& buffers, std::uint64_t count) {
    std::vector<std::span<const float>> out;
    for (auto& buffer : buffers) out.emplace_back(buffer.data(), count);
    return out;
  }

  /// Task-vector methods on one tensor (per-tensor scope).
  void gta(const TensorTask& task, const std::function<void(std::uint64_t, std::uint64_t)>& emit) {
    BlockReader reader(plan_, task, sources_);
    std::vector<SparsifyState> states(n_merged_);
    for (std::size_t model = 0; model < n_merged_; ++model) {
      const auto stream_key = philox_key(plan_.recipe.seed, static_cast<std::uint32_t>(model), task.name);
      states[model].key = stream_key;
    }
    const bool magnitude = info_.sparsify == SparsifyMethod::magnitude || info_.sparsify == SparsifyMethod::magnitude_outliers;
    // 1. radix selects of the cut ranks, every model and cut in the same two passes (16-bit
    //    digits); pass 1's local histograms also give this rank's ties with each cut key.
    struct Cut {
      std::size_t model;
      bool upper;
      WideRadixSelect select;
      std::vector<std::uint32_t> counters;  // interleaved 32-bit counts of the current pass
      std::vector<std::uint64_t> local;     // this rank's pass-1 histogram, before the reduction
    };
    std::vector<Cut> cuts;
    if (magnitude) {
      for (std::size_t model = 0; model < n_merged_; ++model) {
        const RankRange range = magnitude_rank_range(task.sparsify[model], task.numel);
        if (range.end < task.numel) cuts.push_back({model, true, WideRadixSelect(task.numel, range.end), {}, {}});
        if (range.begin > 0) cuts.push_back({model, false, WideRadixSelect(task.numel, range.begin), {}, {}});
      }
    }
    // A 32-bit counter takes at most this many elements between folds.
    constexpr std::uint64_t kFoldEvery = std::numeric_limits<std::uint32_t>::max();
    for (int pass = 0; pass < WideRadixSelect::n_pass; ++pass) {
      std::vector<std::uint64_t> hists;
      std::vector<std::size_t> offsets;
      for (auto& cut : cuts) {
        offsets.push_back(hists.size());
        hists.resize(hists.size() + cut.select.n_bin(), 0);
        cut.counters.assign(cut.select.n_counter(), 0u);
      }
      if (hists.empty()) break;
      const auto fold_all = [&] {
        for (std::size_t cut_idx = 0; cut_idx < cuts.size(); ++cut_idx) {
          auto& cut = cuts[cut_idx];
          if (cut.select.done()) continue;
          cut.select.fold(cut.counters, std::span<std::uint64_t>(hists).subspan(offsets[cut_idx], cut.select.n_bin()));
        }
      };
      std::uint64_t n_since_fold = 0;
      for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
        read_taus(reader, task, row, n_row);
        const std::uint64_t count = n_row * task.row_length;
        if (n_since_fold + count > kFoldEvery) {
          fold_all();
          n_since_fold = 0;
        }
        n_since_fold += count;
        for (auto& cut : cuts)
          if (!cut.select.done()) cut.select.histogram(buf(inputs_[cut.model], count), cut.counters);
      });
      fold_all();
      if (pass == WideRadixSelect::n_pass - 1)
        for (std::size_t cut_idx = 0; cut_idx < cuts.size(); ++cut_idx)
          if (!cuts[cut_idx].select.done())
            cuts[cut_idx].local.assign(hists.begin() + static_cast<std::ptrdiff_t>(offsets[cut_idx]),
                                       hists.begin() + static_cast<std::ptrdiff_t>(offsets[cut_idx] + cuts[cut_idx].select.n_bin()));
      comm_.allreduce(std::span<std::uint64_t>(hists), comm::Op::sum);
      for (std::size_t cut_idx = 0; cut_idx < cuts.size(); ++cut_idx) {
        auto& cut = cuts[cut_idx];
        if (cut.select.done()) continue;
        cut.select.narrow(std::span<const std::uint64_t>(hists).subspan(offsets[cut_idx], cut.select.n_bin()));
      }
    }
    for (auto& cut : cuts) {
      cut.counters = {};
      (cut.upper ? states[cut.model].upper : states[cut.model].lower) = cut.select.cut();
    }

    // 2. ties with each cut key before this rank's block: the exclusive prefix over ranks of the
    //    local counts. A model without an upper (lower) cut keeps everything (nothing) whatever the
    //    ordinal, so its count is irrelevant and left 0.
    std::vector<BlockTies> rank_ties(n_merged_);
    if (magnitude) {
      std::vector<std::uint64_t> counts(2 * n_merged_, 0);
      for (const auto& cut : cuts)
        if (!cut.local.empty()) counts[2 * cut.model + (cut.upper ? 0 : 1)] = cut.select.local_ties(cut.local);
      for (std::size_t model = 0; model < n_merged_; ++model) {
        rank_ties[model].upper = exclusive_prefix(counts[2 * model], comm_);
        rank_ties[model].lower = exclusive_prefix(counts[2 * model + 1], comm_);
      }
    }
    auto advance_ties = [&](std::vector<BlockTies>& ties, std::uint64_t count) {
      if (!magnitude) return;
      for (std::size_t model = 0; model < n_merged_; ++model) {
        ties[model].upper += count_key(buf(inputs_[model], count), states[model].upper.key);
        ties[model].lower += count_key(buf(inputs_[model], count), states[model].lower.key);
      }
    };

    // 3. L1 rescale statistics.
    const bool l1 = info_.sparsify != SparsifyMethod::none &&
                    std::any_of(task.sparsify.begin(), task.sparsify.end(),
                                [](const SparsifyParams& params) { return params.rescale == RescaleMode::l1; });
    if (l1) {
      std::vector<ExactSum> sums(2 * n_merged_);
      std::vector<BlockTies> ties = rank_ties;
      for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
        read_taus(reader, task, row, n_row);
        const std::uint64_t count = n_row * task.row_length;
        const BlockPosition position{row * task.row_length, task.row_length};
        for (std::size_t model = 0; model < n_merged_; ++model)
          add_l1_rescale_stats(task.sparsify[model], states[model], ties[model], position, buf(inputs_[model], count),
                               sums[2 * model], sums[2 * model + 1]);
        advance_ties(ties, count);
      });
      std::vector<ExactSum*> pointers;
      for (auto& sum : sums) pointers.push_back(&sum);
      reduce_sums(pointers, comm_);
      for (std::size_t model = 0; model < n_merged_; ++model)
        states[model].l1_scale = l1_rescale_scale(sums[2 * model], sums[2 * model + 1]);
    }

    // 4. apply.
    const CombineParams combine{info_.consensus, task.normalize, task.lambda};
    std::vector<BlockTies> ties = rank_ties;
    for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
      read_taus(reader, task, row, n_row);
      const std::uint64_t count = n_row * task.row_length;
      const BlockPosition position{row * task.row_length, task.row_length};
      for (std::size_t model = 0; model < n_merged_; ++model)
        sparsify_block(task.sparsify[model], states[model], ties[model], position, buf(inputs_[model], count),
                       buf(sparse_[model], count));
      advance_ties(ties, count);
      combine_block(combine, task.weight, spans(sparse_, count), buf(base_, count), buf(out_, count));
      emit(row, n_row);
    });
  }

  void linear(const TensorTask& task, const std::function<void(std::uint64_t, std::uint64_t)>& emit) {
    BlockReader reader(plan_, task, sources_);
    for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
      read_thetas(reader, task, row, n_row);
      const std::uint64_t count = n_row * task.row_length;
      linear_block(task.weight, spans(inputs_, count), task.normalize, buf(out_, count));
      emit(row, n_row);
    });
  }

  void slerp(const TensorTask& task, const std::function<void(std::uint64_t, std::uint64_t)>& emit) {
    BlockReader reader(plan_, task, sources_);
    SlerpStats stats;
    for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
      read_thetas(reader, task, row, n_row);
      const std::uint64_t count = n_row * task.row_length;
      stats.add_block(buf(base_, count), buf(inputs_[0], count));
    });
    std::array<ExactSum*, 3> sums{&stats.dot, &stats.norm2_a, &stats.norm2_b};
    reduce_sums(sums, comm_);
    const SlerpCoefficients coefficients = slerp_coefficients(task.t, stats);
    for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
      read_thetas(reader, task, row, n_row);
      const std::uint64_t count = n_row * task.row_length;
      interpolate_block(coefficients, buf(base_, count), buf(inputs_[0], count), buf(out_, count));
      emit(row, n_row);
    });
  }

  void model_stock(const TensorTask& task, const std::function<void(std::uint64_t, std::uint64_t)>& emit) {
    BlockReader reader(plan_, task, sources_);
    if (task.filter_wise) {
      for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
        read_thetas(reader, task, row, n_row);
        const std::uint64_t count = n_row * task.row_length;
        model_stock_rows_block(buf(base_, count), spans(inputs_, count), task.row_length, buf(out_, count));
        emit(row, n_row);
      });
      return;
    }
    ModelStockStats stats(n_merged_);
    for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
      read_thetas(reader, task, row, n_row);
      const std::uint64_t count = n_row * task.row_length;
      stats.add_block(buf(base_, count), spans(inputs_, count));
    });
    std::vector<ExactSum*> pointers;
    for (auto& sum : stats.sums()) pointers.push_back(&sum);
    reduce_sums(pointers, comm_);
    const double t = model_stock_t(stats);
    for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
      read_thetas(reader, task, row, n_row);
      const std::uint64_t count = n_row * task.row_length;
      model_stock_block(t, buf(base_, count), spans(inputs_, count), buf(out_, count));
      emit(row, n_row);
    });
  }

  /// Per-model Fisher L2 norms over the whole model (only with normalize).
  std::vector<double> fisher_norms() {
    std::vector<ExactSum> sums(n_merged_);
    for (const TensorTask& task : plan_.tensors) {
      ensure_buffers(task);
      BlockReader reader(plan_, task, sources_);
      for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
        const std::uint64_t count = n_row * task.row_length;
        for (std::size_t model = 0; model < n_merged_; ++model) {
          reader.read_rows(plan_.merged[model], Part::fisher, row, n_row, buf(fishers_[model], count));
          sums[model].add_squares(buf(fishers_[model], count));
        }
      });
    }
    std::vector<ExactSum*> pointers;
    for (auto& sum : sums) pointers.push_back(&sum);
    reduce_sums(pointers, comm_);
    std::vector<double> norms;
    for (const auto& sum : sums) norms.push_back(std::sqrt(sum.value()));
    return norms;
  }

  void fisher(const TensorTask& task, const std::vector<double>& norms,
              const std::function<void(std::uint64_t, std::uint64_t)>& emit) {
    BlockReader reader(plan_, task, sources_);
    std::vector<double> coefficients;
    for (std::size_t model = 0; model < n_merged_; ++model)
      coefficients.push_back(norms.empty() ? task.weight[model] : task.weight[model] / norms[model]);
    for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
      read_thetas(reader, task, row, n_row);
      const std::uint64_t count = n_row * task.row_length;
      for (std::size_t model = 0; model < n_merged_; ++model)
        reader.read_rows(plan_.merged[model], Part::fisher, row, n_row, buf(fishers_[model], count));
      fisher_block(coefficients, spans(inputs_, count), spans(fishers_, count), 1e-6, buf(out_, count));
      emit(row, n_row);
    });
  }

  /// RegMean on a linear weight: every output row solved against the summed Gram matrices
  /// (factorised once per tensor); any other tensor: the weighted mean.
  void regmean(const TensorTask& task, const std::function<void(std::uint64_t, std::uint64_t)>& emit) {
    if (!task.regmean) {
      linear(task, emit);
      return;
    }
    const std::size_t d_in = task.row_length;
    std::vector<std::vector<float>> grams(n_merged_, std::vector<float>(d_in * d_in));
    for (std::size_t model = 0; model < n_merged_; ++model) {
      InputSource& source = *sources_[plan_.merged[model]];
      const Block block = source.read(Part::gram, task.name, 0, d_in * d_in);
      if (!convert_to_f32_all_finite(block.dtype, block.bytes, grams[model]))
        throw InputError(fmt::format("model '{}': the Gram matrix of '{}' holds a non-finite value",
                                     plan_.merged_input(model).label, task.name));
      source.consumed(block);
    }
    std::vector<std::span<const float>> gram_spans(grams.begin(), grams.end());
    const RegmeanSolver solver(gram_spans, d_in, task.regmean_alpha);
    BlockReader reader(plan_, task, sources_);
    for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
      read_thetas(reader, task, row, n_row);
      const std::uint64_t count = n_row * task.row_length;
      // One row per solve: a product's blocking depends on its size, so rows solved alone give the
      // same bits whatever the block or the rank split.
      std::vector<std::span<const float>> row_spans(n_merged_);
      for (std::uint64_t row_idx = 0; row_idx < n_row; ++row_idx) {
        for (std::size_t model = 0; model < n_merged_; ++model)
          row_spans[model] = std::span<const float>(inputs_[model]).subspan(row_idx * d_in, d_in);
        solver.apply(row_spans, 1, buf(out_, count).subspan(row_idx * d_in, d_in));
      }
      emit(row, n_row);
    });
  }

  void passthrough(const TensorTask& task, const std::function<void(std::uint64_t, std::uint64_t)>& emit) {
    BlockReader reader(plan_, task, sources_);
    for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
      read_thetas(reader, task, row, n_row);
      const std::uint64_t count = n_row * task.row_length;
      for (std::uint64_t idx = 0; idx < count; ++idx)
        out_[idx] = static_cast<float>(static_cast<double>(inputs_[0][idx]) * task.scale);
      emit(row, n_row);
    });
  }

  /// Global TIES: the cut of each model over its whole task vector, and the majority sign.
  struct GlobalTies {
    std::vector<SparsifyState> states;
    int majority = 0;
  };
  GlobalTies global_ties_stats() {
    const std::string label = plan_.recipe.file.string();
    std::uint64_t n_total = 0;
    for (const auto& task : plan_.tensors) n_total += task.numel;
    std::vector<RadixSelect> selects;
    for (std::size_t model = 0; model < n_merged_; ++model) {
      const double density = plan_.tensors.front().sparsify[model].density;
      for (const auto& task : plan_.tensors)
        if (task.sparsify[model].density != density)
          throw ConfigError(fmt::format("{}: ties_scope global needs one density per model over the whole model; "
                                        "model {} has {} on '{}' and {} on '{}'",
                                        label, model, density, plan_.tensors.front().name, task.sparsify[model].density,
                                        task.name));
      const auto c = density >= 1.0 ? n_total : static_cast<std::uint64_t>(density * static_cast<double>(n_total));
      selects.emplace_back(n_total, c);
    }
    for (int pass = 0; pass < RadixSelect::n_pass; ++pass) {
      std::vector<std::uint64_t> hists;
      std::vector<std::size_t> offsets;
      for (const auto& select : selects) {
        offsets.push_back(hists.size());
        hists.resize(hists.size() + select.n_bin(), 0);
      }
      if (hists.empty()) break;
      for (const auto& task : plan_.tensors) {
        ensure_buffers(task);
        BlockReader reader(plan_, task, sources_);
        for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
          read_taus(reader, task, row, n_row);
          const std::uint64_t count = n_row * task.row_length;
          for (std::size_t model = 0; model < n_merged_; ++model)
            if (!selects[model].done())
              selects[model].histogram(buf(inputs_[model], count),
                                       std::span<std::uint64_t>(hists).subspan(offsets[model], selects[model].n_bin()));
        });
      }
      comm_.allreduce(std::span<std::uint64_t>(hists), comm::Op::sum);
      for (std::size_t model = 0; model < n_merged_; ++model)
        if (!selects[model].done())
          selects[model].narrow(std::span<const std::uint64_t>(hists).subspan(offsets[model], selects[model].n_bin()));
    }
    GlobalTies out;
    out.states.resize(n_merged_);
    for (std::size_t model = 0; model < n_merged_; ++model) out.states[model].upper = selects[model].cut().with_all_ties();
    std::int64_t sign_sum = 0;
    for (const auto& task : plan_.tensors) {
      ensure_buffers(task);
      BlockReader reader(plan_, task, sources_);
      for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
        trimmed(reader, task, out.states, row, n_row);
        sign_sum += ties_global_sign_sum(task.weight, spans(sparse_, n_row * task.row_length));
      });
    }
    sign_sum = comm_.allreduce(sign_sum, comm::Op::sum);
    out.majority = sign_sum > 0 ? 1 : sign_sum < 0 ? -1 : 0;
    return out;
  }

  void trimmed(BlockReader& reader, const TensorTask& task, const std::vector<SparsifyState>& states, std::uint64_t row,
               std::uint64_t n_row) {
    read_taus(reader, task, row, n_row);
    const std::uint64_t count = n_row * task.row_length;
    const BlockPosition position{row * task.row_length, task.row_length};
    for (std::size_t model = 0; model < n_merged_; ++model) {
      SparsifyParams params = task.sparsify[model];
      params.method = SparsifyMethod::magnitude;
      params.rescale = RescaleMode::none;
      // The global cut decides what is kept (it is `everything` for density >= 1); a density below 1
      // makes sparsify_block apply the cut instead of passing the tensor through.
      params.density = std::min(params.density, 0.5);
      sparsify_block(params, states[model], BlockTies{}, position, buf(inputs_[model], count), buf(sparse_[model], count));
    }
  }

  void ties_global(const TensorTask& task, const GlobalTies& stats,
                   const std::function<void(std::uint64_t, std::uint64_t)>& emit) {
    BlockReader reader(plan_, task, sources_);
    for_chunks(task, [&](std::uint64_t row, std::uint64_t n_row) {
      trimmed(reader, task, stats.states, row, n_row);
      const std::uint64_t count = n_row * task.row_length;
      ties_global_block(task.weight, spans(sparse_, count), stats.majority, task.lambda, buf(base_, count),
                        buf(out_, count));
      emit(row, n_row);
    });
  }

  MergeSummary run(const fs::path& out_dir) {
    const auto start = std::chrono::steady_clock::now();
    const fs::path final_dir = out_dir.filename().empty() ? out_dir.parent_path() : out_dir;
    const fs::path partial = partial_dir(final_dir);
    const std::string fingerprint = plan_fingerprint(plan_);
    MergeSummary summary;
    summary.n_tensor = plan_.tensors.size();
    summary.n_byte_in = plan_.n_byte_in;
    summary.n_byte_out = plan_.n_byte_out;

    // Rank 0 prepares the partial directory (fresh, or kept for --resume) and the journal.
    std::vector<std::uint8_t> done(plan_.tensors.size(), 0);
    if (comm_.is_root()) {
      std::error_code error;
      if (fs::exists(final_dir, error))
        throw ConfigError(fmt::format("{}: already exists (refusing to overwrite)", final_dir.string()));
      bool resumed = false;
      if (options_.resume && fs::exists(partial / kJournal)) {
        std::ifstream journal(partial / kJournal);
        std::string line;
        std::getline(journal, line);
        if (line == "moerge-merge " + fingerprint) {
          resumed = true;
          while (std::getline(journal, line)) {
            std::istringstream fields(line);
            std::string word, name;
            std::size_t idx = 0;
            if (fields >> word >> idx >> name && word == "done" && idx < done.size() && plan_.tensors[idx].name == name)
              done[idx] = 1;
          }
        } else {
          log::warn("{}: the partial merge there is of another recipe or layout; starting afresh", partial.string());
        }
      } else if (options_.resume) {
        log::info("nothing to resume at {}; starting afresh", partial.string());
      } else if (fs::exists(partial, error)) {
        throw ConfigError(fmt::format("{}: a partial merge into {} is there (interrupted, or still running); rerun "
                                      "with --resume to continue it, or remove it to start afresh",
                                      partial.string(), final_dir.string()));
      }
      if (!resumed) {
        std::fill(done.begin(), done.end(), 0);
        fs::remove_all(partial, error);
        if (error) throw IoError(fmt::format("{}: cannot remove: {}", partial.string(), error.message()));
        fs::create_directories(partial, error);
        if (error) throw IoError(fmt::format("{}: cannot create: {}", partial.string(), error.message()));
        for (const auto& shard : plan_.shards) {
          const Fd fd(partial / shard.file, O_WRONLY | O_CREAT | O_TRUNC);
          fd.pwrite_all(as_bytes(shard.header), 0);
          fd.truncate(shard.size);
        }
        write_text(partial / kJournal, "moerge-merge " + fingerprint + "\n");
      }
    }
    comm_.bcast(std::span<std::uint8_t>(done), 0);
    for (const auto flag : done) summary.n_tensor_resumed += flag;
    if (comm_.is_root() && summary.n_tensor_resumed > 0)
      log::info("resuming {}: {} of {} tensors were already merged; skipping them", partial.string(),
                summary.n_tensor_resumed, summary.n_tensor);

    std::vector<Fd> shard_fds;
    for (const auto& shard : plan_.shards) shard_fds.emplace_back(partial / shard.file, O_WRONLY);
    std::optional<Fd> journal;
    if (comm_.is_root()) journal.emplace(partial / kJournal, O_WRONLY | O_APPEND);

    progress::Progress bar("merge " + std::string(info_.name), "tensors", plan_.tensors.size(), plan_.n_byte_in,
                           progress::options_for(options_.quiet, comm_.rank()));
    std::vector<double> norms;
    if (plan_.recipe.method == Method::fisher && plan_.tensors.front().normalize) norms = fisher_norms();
    std::optional<GlobalTies> global;
    if (plan_.recipe.method == Method::ties && plan_.recipe.ties_scope == TiesScope::global) global = global_ties_stats();

    std::uint64_t n_nonfinite = 0;
    std::vector<std::byte> out_bytes;
    for (std::size_t task_idx = 0; task_idx < plan_.tensors.size(); ++task_idx) {
      const TensorTask& task = plan_.tensors[task_idx];
      if (done[task_idx]) {
        bar.advance(1, task.n_byte_in);
        continue;
      }
      ensure_buffers(task);
      const Fd& fd = shard_fds[task.shard];
      const std::size_t element_size = dtype_size(task.out_dtype);
      std::uint64_t written_begin = std::numeric_limits<std::uint64_t>::max(), written_end = 0;
      auto emit = [&](std::uint64_t row, std::uint64_t n_row) {
        const std::uint64_t count = n_row * task.row_length;
        const std::uint64_t first = row * task.row_length;
        const float limit = task.out_dtype == DType::F16 ? 65504.0f : std::numeric_limits<float>::max();
        out_bytes.resize(count * element_size);
        // A branch-free pass the compiler vectorises (NaN fails the comparison); for bf16 output it
        // converts in the same pass. The element is searched for only when it found one.
        bool any_bad = false;
        const float* __restrict values = out_.data();
        if (task.out_dtype == DType::BF16) {
          auto* __restrict bits = reinterpret_cast<std::uint16_t*>(out_bytes.data());
          for (std::uint64_t idx = 0; idx < count; ++idx) {
            any_bad |= !(std::abs(values[idx]) <= limit);
            bits[idx] = f32_to_bf16(values[idx]);
          }
        } else {
          for (std::uint64_t idx = 0; idx < count; ++idx) any_bad |= !(std::abs(values[idx]) <= limit);
          convert_from_f32(task.out_dtype, buf(out_, count), out_bytes);
        }
        for (std::uint64_t idx = 0; any_bad && idx < count; ++idx) {
          if (std::abs(out_[idx]) <= limit) continue;
          if (options_.nonfinite == NonfinitePolicy::error)
            throw InputError(fmt::format("merged tensor '{}' has a non-finite value ({}) at element {} in {}; nothing "
                                         "is published (--nonfinite report writes it anyway)",
                                         task.name, out_[idx], first + idx, dtype_name(task.out_dtype)));
          ++n_nonfinite;
        }
        const std::uint64_t offset = task.file_offset + first * element_size;
        fd.pwrite_all(out_bytes, offset);
        written_begin = std::min(written_begin, offset);
        written_end = std::max(written_end, offset + out_bytes.size());
      };
      switch (plan_.recipe.method) {
        case Method::linear: linear(task, emit); break;
        case Method::slerp: slerp(task, emit); break;
        case Method::model_stock: model_stock(task, emit); break;
        case Method::fisher: fisher(task, norms, emit); break;
        case Method::regmean: regmean(task, emit); break;
        case Method::passthrough: passthrough(task, emit); break;
        case Method::ties:
          if (global) {
            ties_global(task, *global, emit);
            break;
          }
          [[fallthrough]];
        default: gta(task, emit); break;
      }
      release_inputs(task);
      if (written_end > written_begin) fd.start_writeback(written_begin, written_end - written_begin);
      // Every rank's slab of this tensor is written before the journal says so.
      comm_.barrier();
      if (journal) journal->append(as_bytes(fmt::format("done {} {}\n", task_idx, task.name)));
      bar.advance(1, task.n_byte_in);
    }
    for (const auto& fd : shard_fds) fd.sync();
    shard_fds.clear();
    for (auto& source : sources_) source->close();
    summary.n_nonfinite = comm_.allreduce(n_nonfinite, comm::Op::sum);
    comm_.barrier();
    bar.finish();

    if (comm_.is_root()) {
      write_text(partial / "config.json", plan_.config_text);
      write_text(partial / "moerge_recipe.yml", plan_.recipe.text);
      if (plan_.shards.size() > 1) {
        io::ShardIndex index;
        index.metadata["total_size"] = std::to_string(plan_.n_byte_out);
        for (const auto& shard : plan_.shards)
          for (const std::size_t idx : shard.tensors) index.weight_map[plan_.tensors[idx].name] = shard.file;
        io::write_shard_index(partial / "model.safetensors.index.json", index);
      }
      journal.reset();
      fs::remove(partial / kJournal);
      // Verify what will be published: every shard parses and holds the planned tensors.
      const io::TensorSet set = io::TensorSet::open_dir(partial);
      if (set.names().size() != plan_.tensors.size())
        throw IoError(fmt::format("{}: holds {} tensors, {} planned", partial.string(), set.names().size(),
                                  plan_.tensors.size()));
      io::fsync_path(partial);
      std::error_code error;
      fs::rename(partial, final_dir, error);
      if (error)
        throw IoError(fmt::format("{}: cannot rename to {}: {}", partial.string(), final_dir.string(), error.message()));
      io::fsync_dir(final_dir.parent_path());
    }
    comm_.barrier();
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
  }

 private:
  const MergePlan& plan_;
  const EngineOptions& options_;
  const comm::Comm& comm_;
  const MethodInfo& info_;
  std::size_t n_merged_;
  Sources sources_;              // one per plan input
  std::size_t n_collective_ = 0;  // sources whose reads are collective (library objects)
  std::size_t capacity_ = 0;
  std::vector<float> base_;
  std::vector<float> out_;
  std::vector<std::vector<float>> inputs_;   // tau or theta per merged model
  std::vector<std::vector<float>> sparse_;   // sparsified tau per merged model
  std::vector<std::vector<float>> fishers_;  // Fisher per merged model
};

}  // namespace

fs::path partial_dir(const fs::path& out_dir) {
  const fs::path final_dir = out_dir.filename().empty() ? out_dir.parent_path() : out_dir;
  return final_dir.parent_path() / fmt::format(".{}.moerge-partial", final_dir.filename().string());
}

MergeSummary run_merge(const MergePlan& plan, const fs::path& out_dir, const EngineOptions& options,
                       const comm::Comm& comm) {
  Engine engine(plan, options, comm);
  try {
    return engine.run(out_dir);
  } catch (...) {
    // The caller ends the job (MPI_Abort); closing a library file here would wait for peers that
    // are in another collective.
    if (comm.size() > 1) engine.abandon_sources();
    throw;
  }
}

}  // namespace moerge::merge
