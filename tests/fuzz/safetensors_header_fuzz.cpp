// libFuzzer target: parse_safetensors on arbitrary bytes must either return a header whose layout
// holds or throw moerge::Error; anything else (crash, sanitizer report, other exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "moerge/core/error.hpp"
#include "moerge/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const moerge::io::SafetensorsHeader header = moerge::io::parse_safetensors(bytes, "fuzz-input");
    // An accepted header tiles the data section exactly; check the promise the reader relies on.
    std::uint64_t position = 0;
    for (const moerge::io::TensorEntry& entry : header.tensors) {
      if (entry.begin != position || entry.end < entry.begin) std::abort();
      position = entry.end;
    }
    if (header.data_offset() + position != size) std::abort();
  } catch (const moerge::Error&) {
    // Rejected with a message: the expected outcome for almost every input.
  }
  return 0;
}
