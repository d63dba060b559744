// The two input sources of the merge engine (see source.hpp): mapped safetensors and library
// objects read collectively.
#include "moerge/merge/source.hpp"

#include <fmt/format.h>

#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/io/library.hpp"
#include "moerge/io/safetensors.hpp"

namespace moerge::merge {

namespace {

/// A directory's tensors, memory-mapped: a block is a view into the mapping (no copy).
class MappedSource final : public InputSource {
 public:
  explicit MappedSource(const PlanInput& input) : input_(input) {}

  Block read(Part part, const std::string& name, std::uint64_t first, std::uint64_t count) override {
    const TensorView view = set(part).view(key(part, name));
    const std::size_t element_size = dtype_size(view.dtype);
    return {view.dtype, view.data.subspan(first * element_size, count * element_size)};
  }
  void consumed(const Block& block) override { io::release_pages(block.bytes); }
  void release(const std::string& name) override {
    if (input_.model) input_.model->tensors.release(name);
    if (input_.fisher && input_.fisher->contains(name)) input_.fisher->release(name);
    if (input_.gram && input_.gram->contains(name)) input_.gram->release(name);
  }
  bool collective() const override { return false; }
  void close() override {}
  void abandon() noexcept override {}

 private:
  const io::TensorSet& set(Part part) const {
    switch (part) {
      case Part::weight:
        return input_.model->tensors;
      case Part::lora_a:
      case Part::lora_b:
        return input_.adapter->tensors;
      case Part::fisher:
        return *input_.fisher;
      case Part::gram:
        return *input_.gram;
    }
    throw Error("MappedSource: unknown part");
  }
  /// The safetensors key: a tensor's own name, or the factor key of a LoRA module.
  const std::string& key(Part part, const std::string& name) const {
    if (part != Part::lora_a && part != Part::lora_b) return name;
    const io::LoraModule& module = input_.adapter->modules[input_.lora_of_weight.at(name + ".weight")];
    return part == Part::lora_a ? module.a_key : module.b_key;
  }

  const PlanInput& input_;
};

/// A library object's datasets, read collectively row block by row block into a buffer that is
/// reused for every read (at most one block of this input is alive at a time).
class LibrarySource final : public InputSource {
 public:
  LibrarySource(const PlanInput& input, const comm::Comm& comm) : input_(input) {
    const io::Library library = io::Library::open(input.object->library, /*quiet=*/true);
    reader_ = std::make_unique<io::ParallelObjectReader>(library, input.object->name, comm);
  }
  ~LibrarySource() override = default;
  LibrarySource(const LibrarySource&) = delete;
  LibrarySource& operator=(const LibrarySource&) = delete;

  Block read(Part part, const std::string& name, std::uint64_t first, std::uint64_t count) override {
    const InputTensor& tensor = input_.tensor(part, name);
    const std::string path = library_dataset_path(part, name);
    // Elements per row of dimension 0 of the dataset (1 for a vector).
    std::uint64_t row_elements = 1;
    for (std::size_t dim = 1; dim < tensor.shape.size(); ++dim)
      row_elements *= static_cast<std::uint64_t>(tensor.shape[dim]);
    if (tensor.shape.empty() || first % row_elements != 0 || count % row_elements != 0)
      throw Error(fmt::format("{}:{}: elements [{}, {}) are not whole rows of shape [{}]",
                              input_.object->file.string(), path, first, first + count,
                              fmt::join(tensor.shape, ", ")));
    buffer_.resize(count * dtype_size(tensor.dtype));
    reader_->read_rows(path, static_cast<std::int64_t>(first / row_elements),
                       static_cast<std::int64_t>(count / row_elements), buffer_);
    return {tensor.dtype, buffer_};
  }
  void consumed(const Block&) override {}
  void release(const std::string&) override {}
  bool collective() const override { return true; }
  void close() override {
    if (reader_) reader_->close();
    reader_.reset();
  }
  void abandon() noexcept override {
    // Deliberately leaked: its destructor would close the file, a collective call.
    static_cast<void>(reader_.release());
  }

 private:
  const PlanInput& input_;
  std::unique_ptr<io::ParallelObjectReader> reader_;
  std::vector<std::byte> buffer_;
};

}  // namespace

std::unique_ptr<InputSource> open_source(const PlanInput& input, const comm::Comm& comm) {
  if (input.object) return std::make_unique<LibrarySource>(input, comm);
  return std::make_unique<MappedSource>(input);
}

std::string part_label(const PlanInput& input, Part part) {
  switch (part) {
    case Part::fisher:
      return input.object ? "/stats/fisher dataset" : "fisher.safetensors tensor";
    case Part::gram:
      return input.object ? "/stats/gram dataset" : "regmean_gram.safetensors tensor";
    default:
      return "tensor";
  }
}

}  // namespace moerge::merge
