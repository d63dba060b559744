// Bits per byte of a domain's documents (see include/moerge/eval/bpb.hpp).
#include "moerge/eval/bpb.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <numbers>
#include <sstream>

#include "moerge/core/error.hpp"
#include "moerge/core/progress.hpp"

namespace fs = std::filesystem;

namespace moerge::eval {

namespace {

/// Names that go into CSV cells and file names: letters, digits, '_', '-', '.', '+'.
bool is_plain_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '+';
  });
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open for reading", path.string()));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError(fmt::format("{}: read failed", path.string()));
  return bytes;
}

}  // namespace

std::vector<Document> read_documents(const fs::path& dir) {
  std::error_code error;
  const auto status = fs::status(dir, error);
  if (!fs::exists(status))
    throw InputError(fmt::format("{}: no such file or directory (domain documents)", dir.string()));
  if (fs::is_regular_file(status)) {
    Document document{.path = dir, .bytes = read_file(dir)};
    if (document.bytes.empty())
      throw InputError(fmt::format("{}: is empty (no byte to score)", dir.string()));
    return {std::move(document)};
  }
  if (!fs::is_directory(status))
    throw InputError(fmt::format("{}: is neither a directory nor a regular file", dir.string()));
  std::vector<fs::path> paths;
  fs::recursive_directory_iterator walk(dir, fs::directory_options::follow_directory_symlink, error);
  if (error) throw IoError(fmt::format("{}: cannot list: {}", dir.string(), error.message()));
  for (; walk != fs::recursive_directory_iterator(); walk.increment(error)) {
    if (error) throw IoError(fmt::format("{}: cannot list: {}", dir.string(), error.message()));
    std::error_code type_error;
    if (walk->is_regular_file(type_error)) paths.push_back(walk->path());
  }
  if (error) throw IoError(fmt::format("{}: cannot list: {}", dir.string(), error.message()));
  std::sort(paths.begin(), paths.end());
  if (paths.empty())
    throw InputError(fmt::format("{}: holds no files (a domain needs at least one document)", dir.string()));
  std::vector<Document> documents;
  documents.reserve(paths.size());
  std::size_t n_byte = 0;
  for (const fs::path& path : paths) {
    documents.push_back(Document{.path = path, .bytes = read_file(path)});
    n_byte += documents.back().bytes.size();
  }
  if (n_byte == 0)
    throw InputError(
        fmt::format("{}: its {} files are all empty (no byte to score)", dir.string(), paths.size()));
  return documents;
}

std::vector<Window> make_windows(std::span<const Document> documents, int context) {
  if (context <= 0) throw ConfigError(fmt::format("context length {} must be positive", context));
  std::vector<Window> windows;
  for (std::size_t doc_idx = 0; doc_idx < documents.size(); ++doc_idx) {
    const auto n_byte = static_cast<std::int64_t>(documents[doc_idx].bytes.size());
    for (std::int64_t begin = 0; begin < n_byte; begin += context)
      windows.push_back(
          Window{.doc_idx = static_cast<std::int32_t>(doc_idx),
                 .begin = begin,
                 .n_byte = static_cast<std::int32_t>(std::min<std::int64_t>(context, n_byte - begin))});
  }
  return windows;
}

void check_split_label(std::string_view label) {
  if (label != kInDistribution && label != kHeldOut)
    throw ConfigError(fmt::format("split label '{}' is not one of {}, {}", label, kInDistribution, kHeldOut));
}

DomainSpec parse_domain_arg(std::string_view text, std::string_view split) {
  check_split_label(split);
  const auto equals = text.find('=');
  if (equals == std::string_view::npos)
    throw ConfigError(
        fmt::format("--domain '{}': expected NAME=DIR (e.g. --domain python=eval/python/test)", text));
  const std::string_view name = text.substr(0, equals);
  const std::string_view dir = text.substr(equals + 1);
  if (!is_plain_name(name))
    throw ConfigError(fmt::format(
        "--domain '{}': the name '{}' must be letters, digits, '_', '-', '.' or '+'", text, name));
  if (dir.empty()) throw ConfigError(fmt::format("--domain '{}': the directory after '=' is empty", text));
  return DomainSpec{.name = std::string(name), .dir = fs::path(dir), .split = std::string(split)};
}

std::vector<DomainSpec> read_domains_json(const fs::path& path, std::string_view eval_split) {
  const std::string label = path.string();
  std::error_code error;
  if (!fs::is_regular_file(path, error))
    throw InputError(fmt::format("{}: no such file (domains.json)", label));
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& parse_error) {
    throw InputError(fmt::format("{}: not JSON: {}", label, parse_error.what()));
  }
  const auto domains = root.find("domains");
  if (!root.is_object() || domains == root.end() || !domains->is_array() || domains->empty())
    throw InputError(fmt::format("{}: key 'domains' must be a non-empty list", label));
  std::vector<DomainSpec> out;
  for (std::size_t domain_idx = 0; domain_idx < domains->size(); ++domain_idx) {
    const nlohmann::json& entry = (*domains)[domain_idx];
    const std::string where = fmt::format("{}: domains[{}]", label, domain_idx);
    if (!entry.is_object()) throw InputError(fmt::format("{} is not an object", where));
    const auto name = entry.find("name");
    if (name == entry.end() || !name->is_string() || !is_plain_name(name->get_ref<const std::string&>()))
      throw InputError(
          fmt::format("{}: key 'name' must be a plain name (letters, digits, '_', '-', '.', '+')", where));
    const auto held_out = entry.find("held_out");
    if (held_out != entry.end() && !held_out->is_boolean())
      throw InputError(
          fmt::format("{} ('{}'): key 'held_out' must be true or false", where, name->get<std::string>()));
    const auto dirs = entry.find("eval_dirs");
    const std::string split_key(eval_split);
    if (dirs == entry.end() || !dirs->is_object() || !dirs->contains(split_key) ||
        !(*dirs)[split_key].is_string())
      throw InputError(fmt::format("{} ('{}'): key 'eval_dirs.{}' must name a directory", where,
                                   name->get<std::string>(), split_key));
    DomainSpec spec;
    spec.name = name->get<std::string>();
    spec.dir = path.parent_path() / (*dirs)[split_key].get<std::string>();
    spec.split = held_out != entry.end() && held_out->get<bool>() ? kHeldOut : kInDistribution;
    out.push_back(std::move(spec));
  }
  return out;
}

ModelScorer::ModelScorer(const model::LlamaModel& model, model::ForwardOptions options)
    : model_(model), options_(options), vocab_(model.byte_vocab()) {
  if (options_.cache != nullptr)
    throw ConfigError("a ModelScorer scores windows from position 0: give it no KV cache");
}

model::Matrix ModelScorer::log_probs(const model::TokenBatch& batch) {
  model::Matrix logits = model_.forward(batch, options_);
  model::log_softmax_rows(logits);
  return logits;
}

DomainScore score_domain(Scorer& scorer, const DomainSpec& domain, std::span<const Document> documents,
                         const EvalOptions& options, const comm::Comm& comm) {
  const std::vector<Window> windows = make_windows(documents, options.context);
  if (options.n_window_batch <= 0)
    throw ConfigError(fmt::format("windows per batch {} must be positive", options.n_window_batch));
  const model::ByteVocab vocab = scorer.vocab();
  const auto n_window = static_cast<std::int64_t>(windows.size());
  const std::int64_t n_batch = (n_window + options.n_window_batch - 1) / options.n_window_batch;
  std::int64_t n_byte_total = 0;
  for (const Window& window : windows) n_byte_total += window.n_byte;

  // This rank's share: batches rank, rank + n_rank, ...
  std::int64_t n_byte_mine = 0;
  for (std::int64_t batch_idx = comm.rank(); batch_idx < n_batch; batch_idx += comm.size())
    for (std::int64_t window_idx = batch_idx * options.n_window_batch;
         window_idx < std::min(n_window, (batch_idx + 1) * options.n_window_batch); ++window_idx)
      n_byte_mine += windows[static_cast<std::size_t>(window_idx)].n_byte;
  progress::Progress progress(fmt::format("eval {}", domain.name), "bytes",
                              static_cast<std::uint64_t>(n_byte_mine), 0,
                              progress::options_for(options.quiet, comm.rank()));

  std::vector<double> window_nats(windows.size(), 0.0);  // -ln p summed over each window's bytes
  model::TokenBatch batch;
  std::vector<model::TokenId> sequence;
  for (std::int64_t batch_idx = comm.rank(); batch_idx < n_batch; batch_idx += comm.size()) {
    const std::int64_t first = batch_idx * options.n_window_batch;
    const std::int64_t last = std::min(n_window, first + options.n_window_batch);
    batch.tokens.clear();
    batch.seq_offsets.assign(1, 0);
    for (std::int64_t window_idx = first; window_idx < last; ++window_idx) {
      const Window& window = windows[static_cast<std::size_t>(window_idx)];
      const std::string& bytes = documents[static_cast<std::size_t>(window.doc_idx)].bytes;
      sequence.assign(1, vocab.bos);
      for (std::int64_t byte_idx = window.begin; byte_idx < window.begin + window.n_byte - 1; ++byte_idx)
        sequence.push_back(static_cast<unsigned char>(bytes[static_cast<std::size_t>(byte_idx)]));
      batch.add(sequence);
    }
    scorer.prepare_batch(std::span<const Window>(windows).subspan(static_cast<std::size_t>(first),
                                                                  static_cast<std::size_t>(last - first)),
                         documents);
    const model::Matrix log_probs = scorer.log_probs(batch);
    if (log_probs.rows() != batch.n_row() || log_probs.cols() < 256)
      throw Error(fmt::format("eval {}: the scorer returned [{}, {}] log-probabilities for {} rows",
                              domain.name, log_probs.rows(), log_probs.cols(), batch.n_row()));
    std::uint64_t n_byte_batch = 0;
    for (std::int64_t window_idx = first; window_idx < last; ++window_idx) {
      const Window& window = windows[static_cast<std::size_t>(window_idx)];
      const std::string& bytes = documents[static_cast<std::size_t>(window.doc_idx)].bytes;
      const std::int32_t first_row = batch.seq_offsets[static_cast<std::size_t>(window_idx - first)];
      double nats = 0.0;
      for (std::int32_t byte_idx = 0; byte_idx < window.n_byte; ++byte_idx) {
        const auto target =
            static_cast<unsigned char>(bytes[static_cast<std::size_t>(window.begin + byte_idx)]);
        nats -= static_cast<double>(log_probs(first_row + byte_idx, target));
      }
      if (!std::isfinite(nats))
        throw Error(fmt::format("eval {}: document {} (bytes {}..{}) scored a non-finite log-probability",
                                domain.name,
                                documents[static_cast<std::size_t>(window.doc_idx)].path.string(),
                                window.begin, window.begin + window.n_byte));
      window_nats[static_cast<std::size_t>(window_idx)] = nats;
      n_byte_batch += static_cast<std::uint64_t>(window.n_byte);
    }
    progress.advance(n_byte_batch);
  }
  progress.finish();
  // Each window was scored on exactly one rank (zeros elsewhere): the sum is exact, and the total
  // below is summed in window order on every rank.
  if (comm.size() > 1) comm.allreduce(std::span<double>(window_nats), comm::Op::sum);
  double total_nats = 0.0;
  for (const double nats : window_nats) total_nats += nats;
  return DomainScore{.domain = domain.name,
                     .split = domain.split,
                     .n_bytes = n_byte_total,
                     .bits = total_nats / std::numbers::ln2};
}

}  // namespace moerge::eval
