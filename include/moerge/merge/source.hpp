// Where the merge engine reads an input's tensors from, in blocks of whole rows and in their
// stored dtype: the memory-mapped safetensors of a directory (zero copy), or the datasets of a
// library object (collective MPI-IO reads through io::ParallelObjectReader, every rank in step).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "moerge/comm/comm.hpp"
#include "moerge/merge/plan.hpp"

namespace moerge::merge {

/// Consecutive elements of one tensor, in the tensor's stored dtype.
struct Block {
  DType dtype = DType::F32;
  std::span<const std::byte> bytes;
};

class InputSource {
 public:
  virtual ~InputSource() = default;

  /// Elements [first, first + count) of tensor `name` of `part` (as PlanInput::tensors names it);
  /// `first` and `count` are whole rows of the tensor's dimension 0. The bytes stay valid until the
  /// next read from this source. When collective(), every rank of the communicator calls it with
  /// the same part and name in the same order, a rank without rows with count 0.
  virtual Block read(Part part, const std::string& name, std::uint64_t first, std::uint64_t count) = 0;
  /// The block read last has been used (a mapping gives its pages back at once).
  virtual void consumed(const Block& block) = 0;
  /// Every block of tensor `name` (all parts) has been used.
  virtual void release(const std::string& name) = 0;
  /// Whether read() is collective over the communicator the source was opened on.
  virtual bool collective() const = 0;
  /// Close open files now (collective when collective()); errors throw.
  virtual void close() = 0;
  /// Drop open files without closing them: closing is collective, and after a failure on this rank
  /// its peers wait in another collective. Only for a process about to end (MPI_Abort).
  virtual void abandon() noexcept = 0;
};

/// The source of one plan input: its mapped files, or its library object opened on every rank of
/// `comm` (collective: every rank opens the plan's inputs in the same order).
std::unique_ptr<InputSource> open_source(const PlanInput& input, const comm::Comm& comm);

/// How messages call a tensor of `part` of this input: "tensor", "fisher.safetensors tensor",
/// "/stats/fisher dataset", ...
std::string part_label(const PlanInput& input, Part part);

}  // namespace moerge::merge
