// ModuleId's HF module path (see include/moerge/model/routing.hpp).
#include "moerge/model/routing.hpp"

#include <fmt/core.h>

namespace moerge::model {

std::string ModuleId::hf_path() const {
  switch (kind) {
    case ModuleKind::q_proj:
      return fmt::format("model.layers.{}.self_attn.q_proj", layer_idx);
    case ModuleKind::k_proj:
      return fmt::format("model.layers.{}.self_attn.k_proj", layer_idx);
    case ModuleKind::v_proj:
      return fmt::format("model.layers.{}.self_attn.v_proj", layer_idx);
    case ModuleKind::o_proj:
      return fmt::format("model.layers.{}.self_attn.o_proj", layer_idx);
    case ModuleKind::gate_proj:
      return fmt::format("model.layers.{}.mlp.gate_proj", layer_idx);
    case ModuleKind::up_proj:
      return fmt::format("model.layers.{}.mlp.up_proj", layer_idx);
    case ModuleKind::down_proj:
      return fmt::format("model.layers.{}.mlp.down_proj", layer_idx);
  }
  return fmt::format("model.layers.{}.<unknown module kind {}>", layer_idx, static_cast<int>(kind));
}

}  // namespace moerge::model
