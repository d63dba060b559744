// Bits per byte (methods.md, "Evaluation: bits per byte"): documents from a directory, their
// windows, and the score of a domain as total bits over total scored bytes, computed the same
// for any number of MPI ranks.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/comm/comm.hpp"
#include "moerge/model/llama.hpp"

namespace moerge::eval {

/// One document: a file's bytes.
struct Document {
  std::filesystem::path path;
  std::string bytes;
};

/// Every regular file under `dir` (recursively, symlinks followed, sorted by path) as one
/// document; a regular file given as `dir` is the only document. InputError naming the path when
/// it is missing, neither a directory nor a file, or holds no byte of text; IoError when a file
/// cannot be read.
std::vector<Document> read_documents(const std::filesystem::path& dir);

/// A window of document doc_idx: bytes [begin, begin + n_byte). Fed to the model as
/// [BOS, b0 .. b(n_byte - 2)]; all n_byte bytes are scored.
struct Window {
  std::int32_t doc_idx = 0;
  std::int64_t begin = 0;
  std::int32_t n_byte = 0;
};
/// Consecutive, non-overlapping windows of `context` bytes per document, the last one shorter.
std::vector<Window> make_windows(std::span<const Document> documents, int context);

/// Split labels of the results files.
inline constexpr std::string_view kInDistribution = "in_distribution";
inline constexpr std::string_view kHeldOut = "held_out";

/// A domain to evaluate: its name (a CSV-safe word), its documents' directory and split label.
struct DomainSpec {
  std::string name;
  std::filesystem::path dir;
  std::string split{kInDistribution};
};
/// Parse `--domain NAME=DIR`; ConfigError naming the argument when malformed.
DomainSpec parse_domain_arg(std::string_view text, std::string_view split);
/// The domains of a zoo-style domains.json ({"domains": [{"name", "held_out", "eval_dirs":
/// {"test": DIR, ...}}]}, DIRs relative to the file's directory), with the documents of
/// `eval_split` ("test", "validation"). InputError naming the file and the bad key.
std::vector<DomainSpec> read_domains_json(const std::filesystem::path& path, std::string_view eval_split);
/// ConfigError unless `label` is in_distribution or held_out.
void check_split_label(std::string_view label);

/// What is evaluated: anything that gives next-token log-probabilities for a batch of sequences
/// (a dense model, a base with LoRA experts and a router, an ensemble of models).
class Scorer {
 public:
  virtual ~Scorer() = default;
  /// Natural-log probabilities [n_row, n_vocab] of the token after every row, rows in batch order.
  virtual model::Matrix log_probs(const model::TokenBatch& batch) = 0;
  /// Called by score_domain before each log_probs with the batch's windows (sequence s of the
  /// batch is windows[s]) and the domain's documents, for scorers that route a window on the
  /// bytes before it (docs/routing.md, "Sequence-level routers"). Default: ignored.
  virtual void prepare_batch(std::span<const Window> /*windows*/, std::span<const Document> /*documents*/) {}
  virtual model::ByteVocab vocab() const = 0;
  /// The context the model was trained for (max_position_embeddings).
  virtual int n_ctx() const = 0;
};

/// A LlamaModel forward with fixed options (hook + experts for LoRA systems).
class ModelScorer : public Scorer {
 public:
  ModelScorer(const model::LlamaModel& model, model::ForwardOptions options = {});
  model::Matrix log_probs(const model::TokenBatch& batch) override;
  model::ByteVocab vocab() const override { return vocab_; }
  int n_ctx() const override { return model_.config().n_ctx; }

 private:
  const model::LlamaModel& model_;
  model::ForwardOptions options_;
  model::ByteVocab vocab_;
};

struct EvalOptions {
  int context = 0;          // window length L in bytes (> 0)
  int n_window_batch = 16;  // windows per forward pass
  bool quiet = false;
};

struct DomainScore {
  std::string domain;
  std::string split;
  std::int64_t n_bytes = 0;
  double bits = 0.0;  // total -log2 p over the scored bytes
  double bits_per_byte() const { return bits / static_cast<double>(n_bytes); }
};

/// Score one domain's documents. Batches of windows are spread over `comm`'s ranks round-robin and
/// every window's bits are summed in window order, so every rank count gives the same figure.
/// Collective: every rank of `comm` calls it with the same documents.
DomainScore score_domain(Scorer& scorer, const DomainSpec& domain, std::span<const Document> documents,
                         const EvalOptions& options, const comm::Comm& comm);

}  // namespace moerge::eval
