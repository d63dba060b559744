// The merge plan: every input of a recipe resolved and checked (names, shapes, dtypes, vocabulary,
// adapters against the base, Fisher and Gram statistics), every tensor's parameters evaluated, and
// the output layout (shards, headers, offsets) fixed, all before any work, so a bad input fails at
// once with one message listing every problem. An input is a directory (HF model or PEFT adapter,
// memory-mapped) or an object of an expert library (`LIB/:experts/NAME`, `LIB/:base`,
// `LIB/:merges/NAME`, described here and read collectively by the engine).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "moerge/io/hf.hpp"
#include "moerge/io/library.hpp"
#include "moerge/io/safetensors.hpp"
#include "moerge/merge/recipe.hpp"

namespace moerge::merge {

enum class InputKind { hf_model, peft_adapter };

/// The parts of an input the engine reads, each a set of tensors by name: `weight` by HF tensor
/// name (an HF model), `lora_a` / `lora_b` by module path (a LoRA adapter, e.g.
/// "model.layers.0.self_attn.q_proj"), `fisher` by tensor name, `gram` by linear weight name.
enum class Part { weight, lora_a, lora_b, fisher, gram };

/// One tensor of an input, wherever it is stored.
struct InputTensor {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;  // row-major
  std::uint64_t n_bytes = 0;
};
using TensorCatalog = std::map<std::string, InputTensor, std::less<>>;

/// A library object used as an input: the engine opens `name` in `library` on every rank and
/// reads the datasets library_dataset_path() names.
struct LibraryObject {
  std::filesystem::path library;  // the library directory
  std::string name;               // the object's name in its catalogue
  io::ObjectKind kind = io::ObjectKind::full;
  std::filesystem::path file;     // the object file (for messages)
};

/// The dataset of a library object that holds tensor `name` of `part`: /params/<name>,
/// /lora/<module>/A and B, /stats/fisher/<name>, /stats/gram/<module>/G (`name` is
/// "<module>.weight").
std::string library_dataset_path(Part part, const std::string& name);

/// One distinct model of the recipe, opened: a directory memory-mapped, or a library object
/// described (its tensors are read by the engine).
struct PlanInput {
  std::string label;  // the reference as the recipe writes it
  InputKind kind = InputKind::hf_model;
  std::optional<io::HfModel> model;        // hf_model from a directory
  std::optional<io::PeftAdapter> adapter;  // peft_adapter (from a library: r, alpha, rslora, config and
                                           // modules from the object; `tensors` empty)
  std::optional<io::TensorSet> fisher;     // <dir>/fisher.safetensors (method fisher)
  std::optional<io::TensorSet> gram;       // <dir>/regmean_gram.safetensors (method regmean)
  std::optional<LibraryObject> object;     // set for a library object
  io::LlamaConfig config;                  // hf_model: its config.json (a merge object: the base's)
  std::map<Part, TensorCatalog> tensors;   // what each part holds (fisher and gram: when the method reads them)
  std::map<std::string, std::size_t> lora_of_weight;  // "<module>.weight" -> index into adapter->modules

  /// The tensor `name` of `part` (the plan has checked that it is there).
  const InputTensor& tensor(Part part, std::string_view name) const;
  /// Where the statistics of this input live, for messages: "<dir>/fisher.safetensors" or
  /// "<object file>:/stats/fisher".
  std::string stats_location(Part part) const;
};

/// Open one model reference as the plan does: a directory (HF model or PEFT adapter, mapped) or a
/// library object (its catalogue entry, kind, attributes and dataset shapes). InputError naming
/// the reference, the library and the object when it cannot be used.
PlanInput open_plan_input(const ModelRef& ref);

/// One output tensor: its parameters per merged model, evaluated for this tensor.
struct TensorTask {
  std::string name;
  std::vector<std::int64_t> shape;  // row-major
  DType out_dtype = DType::F32;
  std::uint64_t numel = 0;
  std::uint64_t n_row = 0;       // rows as the engine splits them: shape[0] for a matrix, 1 for a vector
  std::uint64_t row_length = 0;  // numel / n_row
  double layer_t = 0;            // mergekit's layer position, for gradients
  std::vector<double> weight;    // per merged model
  std::vector<SparsifyParams> sparsify;  // per merged model
  double scale = 1.0;                    // passthrough
  bool normalize = false;
  double lambda = 1.0;
  double t = 0;  // slerp
  bool filter_wise = false;
  bool regmean = false;       // regmean: a linear weight with Gram matrices (else a weighted mean)
  double regmean_alpha = 1.0;
  std::size_t shard = 0;         // index into MergePlan::shards
  std::uint64_t file_offset = 0; // absolute byte offset of its data in the shard file
  std::uint64_t n_byte_out = 0;
  std::uint64_t n_byte_in = 0;   // bytes read from every input for it (for progress)
};

/// One output safetensors file: name, the complete header bytes (8-byte length + padded JSON),
/// and its total size.
struct ShardLayout {
  std::string file;
  std::string header;
  std::uint64_t size = 0;
  std::vector<std::size_t> tensors;  // indices into MergePlan::tensors
};

struct MergePlan {
  Recipe recipe;
  std::vector<PlanInput> inputs;       // distinct models; the base (when given) first
  std::optional<std::size_t> base;     // index into inputs
  std::vector<std::size_t> merged;     // indices into inputs of the merged models, in recipe order
  std::vector<TensorTask> tensors;     // sorted by name
  std::vector<ShardLayout> shards;
  std::string config_text;             // config.json of the output
  std::uint64_t n_byte_in = 0;
  std::uint64_t n_byte_out = 0;

  /// The task vector / theta of merged model `merged_idx` comes from this input.
  const PlanInput& merged_input(std::size_t merged_idx) const { return inputs.at(merged.at(merged_idx)); }
};

/// Resolve and check everything. Throws InputError listing every input problem, or ConfigError for
/// a parameter that is out of range for some tensor (naming the recipe file, tensor and model).
MergePlan make_plan(Recipe recipe, std::uint64_t max_shard_bytes);

/// "model-00001-of-00003.safetensors", or "model.safetensors" when there is one shard.
std::string shard_file_name(std::size_t shard_idx, std::size_t n_shard);

}  // namespace moerge::merge
