// Runtime models from an HDF5 expert library (docs/library.md): the base, a full fine-tune or a
// merge as a LlamaModel and a LoRA expert as a LoraExpert checked against its base, each read from
// its own object file only (a rank opens only the experts it hosts). The weights are converted to
// f32 exactly as from the HF / PEFT directories they were imported from, so both give the same bits.
#pragma once
#include <string>
#include <string_view>

#include "moerge/io/library.hpp"
#include "moerge/model/llama.hpp"
#include "moerge/model/lora.hpp"

namespace moerge::model {

/// The object `name` of kind base, full or merge as a model. Its architecture is the object's
/// `config` attribute (a merge without one takes the base's). InputError for a LoRA object; IoError
/// when the file does not match its catalogue entry or a dataset its checksum; InputError naming
/// the file and tensor for a missing tensor, a wrong shape or a non-finite value.
LlamaModel load_library_model(const io::Library& library, std::string_view name);

/// The LoRA object `name` as an expert named `expert_name`, checked against `base`: every module
/// one of the seven adaptable layers of a layer of the base, A [r, d_in] and B [d_out, r] for it,
/// the rank of the file's `r` attribute. InputError naming the file, the module and the shapes.
LoraExpert load_library_lora(const io::Library& library, std::string_view name, const LlamaModel& base,
                             std::string expert_name);
/// The same against a base known by its config only (`base_label` names it in messages): what a
/// rank that hosts experts but not the base uses.
LoraExpert load_library_lora(const io::Library& library, std::string_view name, const ModelConfig& config,
                             std::string_view base_label, std::string expert_name);

/// The architecture of model object `name` (base, full or merge): its `config` attribute, or the
/// base's for a merge stored without one.
io::LlamaConfig library_model_config(const io::Library& library, std::string_view name);

}  // namespace moerge::model
