// Runtime benchmark of bench/runtime: tokens/s of the Llama runtime (src/model) at prefill (B
// sequences of L random bytes, no cache) and KV-cached decode (a P-token prompt, then N one-token
// steps at batch B), and routed decode/prefill (Arrow top-k over LoRA experts applied unmerged
// through a ModuleHook built from route/math) against the dense base at the same shapes, timed
// back to back. Warm-up run, then best (and median) of R. One machine-readable line per result:
//   RESULT mode=<prefill|decode|routed|dense> phase=<prefill|decode> batch=B n_token=T best_s=..
//          median_s=.. tokens_per_s=.. runs=R peak_rss_kb=..
// --check-dir DIR writes the tokens and logits of a small check batch (2 sequences: a 32-token
// prefill into a cache, then 4 decode steps) as .npy for bench/peers/runtime_torch.py to compare.
//
// usage: moerge_bench_runtime --model DIR --mode prefill|decode|routed [--phase prefill|decode]
//          [--batch B] [--length L] [--prompt P] [--steps N] [--repeat R] [--seed S]
//          [--lora DIR]... [--top-k K] [--check-dir DIR]
#include <fmt/core.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/model/llama.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/route/math.hpp"

namespace fs = std::filesystem;
using moerge::ConfigError;
using moerge::model::KvCache;
using moerge::model::LlamaModel;
using moerge::model::LoraSet;
using moerge::model::Matrix;
using moerge::model::ModuleHook;
using moerge::model::ModuleId;
using moerge::model::TokenBatch;
using moerge::model::TokenId;

namespace {

struct Config {
  fs::path model_dir;
  std::vector<fs::path> lora_dirs;
  std::string mode;            // prefill, decode, routed
  std::string phase = "prefill";  // routed only: which phase routed and dense are timed at
  int batch = 16;
  int length = 256;  // prefill: tokens per sequence
  int prompt = 128;  // decode: prompt tokens per sequence (not timed)
  int steps = 128;   // decode: timed steps
  int repeat = 5;
  int top_k = 2;
  unsigned seed = 0;
  fs::path check_dir;
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

Config parse_args(int argc, char** argv) {
  Config config;
  for (int arg_idx = 1; arg_idx < argc; ++arg_idx) {
    const std::string_view flag = argv[arg_idx];
    if (arg_idx + 1 >= argc) throw ConfigError(fmt::format("{}: missing value", flag));
    const std::string value = argv[++arg_idx];
    if (flag == "--model") config.model_dir = value;
    else if (flag == "--lora") config.lora_dirs.emplace_back(value);
    else if (flag == "--mode") config.mode = value;
    else if (flag == "--phase") config.phase = value;
    else if (flag == "--batch") config.batch = parse_int(flag, value, 1);
    else if (flag == "--length") config.length = parse_int(flag, value, 1);
    else if (flag == "--prompt") config.prompt = parse_int(flag, value, 1);
    else if (flag == "--steps") config.steps = parse_int(flag, value, 1);
    else if (flag == "--repeat") config.repeat = parse_int(flag, value, 1);
    else if (flag == "--top-k") config.top_k = parse_int(flag, value, 1);
    else if (flag == "--seed") config.seed = static_cast<unsigned>(parse_int(flag, value, 0));
    else if (flag == "--check-dir") config.check_dir = value;
    else throw ConfigError(fmt::format("unknown option {}", flag));
  }
  if (config.model_dir.empty()) throw ConfigError("--model DIR is required");
  if (config.mode != "prefill" && config.mode != "decode" && config.mode != "routed")
    throw ConfigError(fmt::format("--mode '{}': expected prefill, decode or routed", config.mode));
  if (config.phase != "prefill" && config.phase != "decode")
    throw ConfigError(fmt::format("--phase '{}': expected prefill or decode", config.phase));
  if (config.mode == "routed" && config.lora_dirs.empty())
    throw ConfigError("--mode routed needs LoRA experts (--lora DIR, repeated)");
  return config;
}

/// Random byte tokens [n_seq][n_token] from a fixed seed.
std::vector<std::vector<TokenId>> random_tokens(int n_seq, int n_token, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<TokenId> byte(0, 255);
  std::vector<std::vector<TokenId>> out(static_cast<std::size_t>(n_seq));
  for (auto& sequence : out) {
    sequence.resize(static_cast<std::size_t>(n_token));
    for (TokenId& token : sequence) token = byte(rng);
  }
  return out;
}

/// The batch of columns [first, first + n) of every sequence.
TokenBatch slice_batch(const std::vector<std::vector<TokenId>>& tokens, int first, int n) {
  TokenBatch batch;
  for (const auto& sequence : tokens)
    batch.add(std::span<const TokenId>(sequence.data() + first, static_cast<std::size_t>(n)));
  return batch;
}

/// Arrow routing at every module: prototypes from each expert's LoRA factors (route::arrow_prototype),
/// then the token-level top-k decision over |<x, v_e>| (route::arrow_route).
class ArrowHook : public ModuleHook {
 public:
  ArrowHook(const LoraSet& experts, int top_k) : top_k_(top_k) {
    const auto& config = experts.config();
    const auto n_module = static_cast<std::size_t>(config.n_layer) * moerge::model::n_module_kind;
    prototypes_.resize(n_module);
    expert_of_.resize(n_module);
    for (std::size_t index = 0; index < n_module; ++index) {
      const ModuleId module{.layer_idx = static_cast<int>(index / moerge::model::n_module_kind),
                            .kind = static_cast<moerge::model::ModuleKind>(index % moerge::model::n_module_kind)};
      std::vector<moerge::route::Vector> rows;
      for (int expert_idx = 0; expert_idx < experts.n_expert(); ++expert_idx) {
        const auto& expert = experts.expert(expert_idx);
        const auto* factors = expert.find(module);
        if (factors == nullptr) continue;
        rows.push_back(moerge::route::arrow_prototype(factors->a, factors->b, expert.scale,
                                                      expert.name + " " + module.hf_path())
                           .v);
        expert_of_[index].push_back(expert_idx);
      }
      Matrix& prototypes = prototypes_[index];  // [n_expert adapting the module, d_in]
      prototypes.resize(static_cast<Eigen::Index>(rows.size()), config.d_in(module.kind));
      for (std::size_t row_idx = 0; row_idx < rows.size(); ++row_idx)
        prototypes.row(static_cast<Eigen::Index>(row_idx)) = rows[row_idx].transpose();
    }
  }

  void at_module(const ModuleId& module, const Matrix& input, const moerge::model::BatchLayout& /*layout*/,
                 moerge::model::RoutingDecision& decision) override {
    const auto index = static_cast<std::size_t>(module.index());
    if (prototypes_[index].rows() == 0) return;
    decision = moerge::route::arrow_route(input, prototypes_[index], {.top_k = top_k_, .temperature = 1.0f});
    for (auto& expert_idx : decision.expert_idx)
      expert_idx = expert_of_[index][static_cast<std::size_t>(expert_idx)];
  }

 private:
  int top_k_;
  std::vector<Matrix> prototypes_;                  // per module: [n_expert, d_in]
  std::vector<std::vector<std::int32_t>> expert_of_;  // per module: prototype row -> expert_idx
};

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

struct Timing {
  double best_s = 0;
  double median_s = 0;
};

Timing summarize(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  const std::size_t n = seconds.size();
  return {seconds.front(), n % 2 == 1 ? seconds[n / 2] : 0.5 * (seconds[n / 2 - 1] + seconds[n / 2])};
}

double time_once(const std::function<void()>& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void print_result(std::string_view mode, std::string_view phase, int batch, long n_token, const Timing& timing,
                  int n_run) {
  fmt::print("RESULT mode={} phase={} batch={} n_token={} best_s={:.9g} median_s={:.9g} tokens_per_s={:.9g} "
             "runs={} peak_rss_kb={}\n",
             mode, phase, batch, n_token, timing.best_s, timing.median_s,
             static_cast<double>(n_token) / timing.best_s, n_run, peak_rss_kb());
  std::fflush(stdout);
}

/// Runs whose work is one prefill of `tokens` or a cached decode of them (prompt untimed).
struct Workload {
  const LlamaModel& model;
  const Config& config;
  std::vector<std::vector<TokenId>> tokens;  // [batch][length] or [batch][prompt + steps]
  TokenBatch prefill;                        // prefill phase: every token; decode phase: the prompt
  std::vector<TokenBatch> steps;             // decode phase: one batch per step

  Workload(const LlamaModel& model_in, const Config& config_in, bool decode)
      : model(model_in), config(config_in) {
    const int n_token = decode ? config.prompt + config.steps : config.length;
    tokens = random_tokens(config.batch, n_token, config.seed);
    prefill = slice_batch(tokens, 0, decode ? config.prompt : config.length);
    if (decode)
      for (int step_idx = 0; step_idx < config.steps; ++step_idx)
        steps.push_back(slice_batch(tokens, config.prompt + step_idx, 1));
  }

  long n_timed_token() const {
    return steps.empty() ? static_cast<long>(prefill.n_row())
                         : static_cast<long>(config.batch) * static_cast<long>(steps.size());
  }

  /// Seconds of the timed part of one run.
  double run(const moerge::model::ForwardOptions& base_options) const {
    if (steps.empty()) return time_once([&] { model.forward(prefill, base_options); });
    KvCache cache(model.config(), config.batch, config.prompt + config.steps);
    moerge::model::ForwardOptions options = base_options;
    options.cache = &cache;
    model.forward(prefill, options);
    return time_once([&] {
      for (const TokenBatch& step : steps) model.forward(step, options);
    });
  }
};

template <typename T>
void write_npy(const fs::path& path, const T* data, std::vector<long> shape, std::string_view descr) {
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': (", descr);
  long n_value = 1;
  for (const long dim : shape) {
    header += fmt::format("{}, ", dim);
    n_value *= dim;
  }
  header += "), }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const auto header_len = static_cast<std::uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(header_len & 0xff), static_cast<char>(header_len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(sizeof(T) * static_cast<std::size_t>(n_value)));
  if (!out) throw moerge::IoError(fmt::format("{}: write failed", path.string()));
}

/// Logits of a 2-sequence check batch: a 32-token prefill into a cache, then 4 decode steps; rows
/// in that order (prefill rows of sequence 0 then 1, then per step sequence 0 and 1).
void write_check(const LlamaModel& model, const fs::path& dir) {
  constexpr int n_seq = 2;
  constexpr int n_prefill = 32;
  constexpr int n_step = 4;
  const auto tokens = random_tokens(n_seq, n_prefill + n_step, 12345);
  KvCache cache(model.config(), n_seq, n_prefill + n_step);
  const moerge::model::ForwardOptions options{.cache = &cache};
  std::vector<Matrix> parts{model.forward(slice_batch(tokens, 0, n_prefill), options)};
  for (int step_idx = 0; step_idx < n_step; ++step_idx)
    parts.push_back(model.forward(slice_batch(tokens, n_prefill + step_idx, 1), options));
  Matrix logits(n_seq * (n_prefill + n_step), model.config().n_vocab);
  Eigen::Index row = 0;
  for (const Matrix& part : parts) {
    logits.middleRows(row, part.rows()) = part;
    row += part.rows();
  }
  std::vector<std::int32_t> flat;
  for (const auto& sequence : tokens) flat.insert(flat.end(), sequence.begin(), sequence.end());
  fs::create_directories(dir);
  write_npy(dir / "check_tokens.npy", flat.data(), {n_seq, n_prefill + n_step}, "<i4");
  write_npy(dir / "check_logits.npy", logits.data(), {logits.rows(), logits.cols()}, "<f4");
}

int run(const Config& config) {
  const LlamaModel model = LlamaModel::load_dir(config.model_dir);
  if (!config.check_dir.empty()) write_check(model, config.check_dir);
  const bool decode = config.mode == "decode" || (config.mode == "routed" && config.phase == "decode");
  const Workload workload(model, config, decode);
  const std::string_view phase = decode ? "decode" : "prefill";

  if (config.mode != "routed") {
    workload.run({});  // warm-up
    std::vector<double> seconds;
    for (int run_idx = 0; run_idx < config.repeat; ++run_idx) seconds.push_back(workload.run({}));
    print_result(config.mode, phase, config.batch, workload.n_timed_token(), summarize(seconds), config.repeat);
    return 0;
  }

  LoraSet experts(model.config());
  for (const fs::path& dir : config.lora_dirs)
    experts.add(moerge::model::load_lora_expert_dir(dir, model, dir.filename().string()));
  ArrowHook hook(experts, config.top_k);
  const moerge::model::ForwardOptions routed{.hook = &hook, .experts = &experts};
  workload.run({});
  workload.run(routed);
  std::vector<double> dense_seconds;
  std::vector<double> routed_seconds;
  for (int run_idx = 0; run_idx < config.repeat; ++run_idx) {  // alternate: same conditions for both
    dense_seconds.push_back(workload.run({}));
    routed_seconds.push_back(workload.run(routed));
  }
  print_result("dense", phase, config.batch, workload.n_timed_token(), summarize(dense_seconds), config.repeat);
  print_result("routed", phase, config.batch, workload.n_timed_token(), summarize(routed_seconds), config.repeat);
  fmt::print("INFO n_expert={} top_k={}\n", experts.n_expert(), config.top_k);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "moerge_bench_runtime: %s\n", error.what());
    return 1;
  }
}
