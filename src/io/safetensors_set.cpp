// Sharded safetensors: `model.safetensors.index.json` read/write, TensorSet over a model
// directory, and the sharded writer.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"
#include "moerge/io/safetensors.hpp"
#include "safetensors_detail.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace moerge::io {

namespace {

using detail::brief_json;

/// The whole of a small text file (an index), refusing one larger than a header may be.
std::string read_index_text(const fs::path& path) {
  const std::string label = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(fmt::format("{}: cannot open: {}", label, std::strerror(errno)));
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    const int saved_errno = errno;
    ::close(fd);
    throw IoError(fmt::format("{}: cannot stat: {}", label, std::strerror(saved_errno)));
  }
  if (!S_ISREG(status.st_mode)) {
    ::close(fd);
    throw IoError(fmt::format("{}: is not a regular file", label));
  }
  const auto file_size = static_cast<std::uint64_t>(status.st_size);
  if (file_size > kMaxHeaderSize) {
    ::close(fd);
    throw InputError(
        fmt::format("{}: index is {} bytes, above the limit of {} bytes", label, file_size, kMaxHeaderSize));
  }
  std::string text(file_size, '\0');
  std::size_t n_done = 0;
  while (n_done < text.size()) {
    const ssize_t n_read =
        ::pread(fd, text.data() + n_done, text.size() - n_done, static_cast<off_t>(n_done));
    if (n_read < 0 && errno == EINTR) continue;
    if (n_read <= 0) {
      const int saved_errno = errno;
      ::close(fd);
      throw IoError(fmt::format("{}: read failed after {} of {} bytes: {}", label, n_done, file_size,
                                n_read == 0 ? "unexpected end of file" : std::strerror(saved_errno)));
    }
    n_done += static_cast<std::size_t>(n_read);
  }
  ::close(fd);
  return text;
}

/// A shard name must stay inside the index's directory.
void check_shard_name(std::string_view label, const std::string& tensor, const std::string& shard) {
  if (shard.empty())
    throw InputError(fmt::format("{}: tensor '{}': shard file name is empty", label, tensor));
  if (shard.find('\0') != std::string::npos)
    throw InputError(fmt::format("{}: tensor '{}': shard file name {} contains a NUL character", label,
                                 tensor, brief_json(json(shard))));
  const fs::path shard_path(shard);
  if (shard_path.is_absolute() || shard.front() == '/')
    throw InputError(
        fmt::format("{}: tensor '{}': shard path '{}' is absolute; shard paths must be relative to the "
                    "index's directory",
                    label, tensor, shard));
  for (const fs::path& part : shard_path)
    if (part == "..")
      throw InputError(
          fmt::format("{}: tensor '{}': shard path '{}' contains '..'; shards must lie in the index's "
                      "directory",
                      label, tensor, shard));
}

std::string shard_file_name(std::size_t shard_idx, std::size_t n_shard) {
  return fmt::format("model-{:05d}-of-{:05d}.safetensors", shard_idx + 1, n_shard);
}

}  // namespace

ShardIndex read_shard_index(const fs::path& index_path) {
  const std::string label = index_path.string();
  const std::string text = read_index_text(index_path);
  const json root = detail::parse_json_strict(text, label, "index");
  if (!root.is_object())
    throw InputError(fmt::format("{}: index is not a JSON object (found {} {})", label, root.type_name(),
                                 brief_json(root)));

  ShardIndex index;
  for (const auto& [key, value] : root.items()) {
    if (key == "weight_map") continue;
    if (key == "metadata") {
      if (!value.is_object())
        throw InputError(
            fmt::format("{}: 'metadata' must be an object (found {})", label, brief_json(value)));
      for (const auto& [meta_key, meta_value] : value.items())
        index.metadata.emplace(meta_key, meta_value.dump());
      continue;
    }
    log::warn("{}: ignoring unknown top-level key '{}' of the shard index", label, key);
  }

  if (!root.contains("weight_map")) throw InputError(fmt::format("{}: index has no 'weight_map'", label));
  const json& weight_map = root.at("weight_map");
  if (!weight_map.is_object())
    throw InputError(fmt::format("{}: 'weight_map' must be an object of tensor name to shard file (found {})",
                                 label, brief_json(weight_map)));
  if (weight_map.empty()) throw InputError(fmt::format("{}: 'weight_map' names no tensors", label));

  const fs::path dir = index_path.parent_path();
  std::set<std::string> checked_shards;
  for (const auto& [tensor, shard_value] : weight_map.items()) {
    if (!shard_value.is_string())
      throw InputError(fmt::format("{}: tensor '{}': shard must be a file name string (found {})", label,
                                   tensor, brief_json(shard_value)));
    const std::string& shard = shard_value.get_ref<const std::string&>();
    if (!checked_shards.contains(shard)) {
      check_shard_name(label, tensor, shard);
      const fs::path shard_path = dir / shard;
      std::error_code error;
      const auto status = fs::status(shard_path, error);
      if (!fs::exists(status))
        throw InputError(fmt::format("{}: tensor '{}': shard '{}' does not exist ({})", label, tensor, shard,
                                     shard_path.string()));
      if (!fs::is_regular_file(status))
        throw InputError(fmt::format("{}: tensor '{}': shard '{}' is not a regular file ({})", label, tensor,
                                     shard, shard_path.string()));
      checked_shards.insert(shard);
    }
    index.weight_map.emplace(tensor, shard);
  }
  return index;
}

void write_shard_index(const fs::path& index_path, const ShardIndex& index) {
  const std::string label = index_path.string();
  json metadata = json::object();
  for (const auto& [key, value] : index.metadata) {
    // Values are JSON text ("12345", "\"pt\""); anything else is written as a plain string.
    json parsed = json::parse(value, nullptr, false);
    metadata[key] = parsed.is_discarded() ? json(value) : std::move(parsed);
  }
  json weight_map = json::object();
  for (const auto& [tensor, shard] : index.weight_map) {
    check_shard_name(label, tensor, shard);
    weight_map[tensor] = shard;
  }
  const json root = {{"metadata", metadata}, {"weight_map", weight_map}};
  std::string text;
  try {
    text = root.dump(2) + "\n";
  } catch (const json::exception& error) {
    throw InputError(fmt::format("{}: cannot encode the index as JSON: {}", label, error.what()));
  }
  detail::write_text_atomically(index_path, text);
}

// ---------------------------------------------------------------------------------------------
// TensorSet

TensorSet TensorSet::open_file(const fs::path& file) {
  TensorSet set;
  set.source_ = file;
  auto opened = std::make_shared<SafetensorsFile>(SafetensorsFile::open(file));
  for (const TensorEntry& entry : opened->header().tensors) set.file_of_tensor_.emplace(entry.name, 0);
  set.files_.push_back(std::move(opened));
  return set;
}

TensorSet TensorSet::open_dir(const fs::path& dir, std::string_view stem) {
  std::error_code error;
  const auto dir_status = fs::status(dir, error);
  if (!fs::exists(dir_status)) throw IoError(fmt::format("{}: no such directory", dir.string()));
  if (!fs::is_directory(dir_status)) throw InputError(fmt::format("{}: is not a directory", dir.string()));

  const fs::path single = dir / fmt::format("{}.safetensors", stem);
  const fs::path index_path = dir / fmt::format("{}.safetensors.index.json", stem);
  if (fs::exists(single)) {
    TensorSet set = open_file(single);
    set.source_ = dir;
    return set;
  }

  if (fs::exists(index_path)) {
    const std::string label = index_path.string();
    const ShardIndex index = read_shard_index(index_path);
    TensorSet set;
    set.source_ = dir;
    std::map<std::string, std::size_t> slot_of_shard;
    for (const auto& [tensor, shard] : index.weight_map) {
      auto [slot, inserted] = slot_of_shard.emplace(shard, set.files_.size());
      if (inserted)
        set.files_.push_back(std::make_shared<SafetensorsFile>(SafetensorsFile::open(dir / shard)));
      if (set.files_[slot->second]->find(tensor) == nullptr)
        throw InputError(fmt::format("{}: tensor '{}' absent from its shard '{}'", label, tensor, shard));
      set.file_of_tensor_.emplace(tensor, slot->second);
    }
    // A tensor the index does not assign to a shard would be invisible or ambiguous: refuse it.
    for (const auto& [shard, slot] : slot_of_shard) {
      for (const TensorEntry& entry : set.files_[slot]->header().tensors) {
        const auto named = index.weight_map.find(entry.name);
        if (named == index.weight_map.end())
          throw InputError(fmt::format("{}: shard '{}' holds tensor '{}' that the weight_map does not name",
                                       label, shard, entry.name));
        if (named->second != shard)
          throw InputError(
              fmt::format("{}: shard '{}' holds tensor '{}' that the weight_map assigns to shard '{}'", label,
                          shard, entry.name, named->second));
      }
    }
    return set;
  }

  // No safetensors: name a pickle checkpoint if there is one, so the user knows to convert it.
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(dir, error))
    if (entry.is_regular_file(error)) entries.push_back(entry.path());
  std::sort(entries.begin(), entries.end());
  for (const fs::path& entry : entries)
    if (detail::has_pickle_extension(entry.filename().string())) refuse_pickle(entry);
  throw InputError(fmt::format("{}: holds neither {}.safetensors nor {}.safetensors.index.json", dir.string(),
                               stem, stem));
}

std::vector<std::string> TensorSet::names() const {
  std::vector<std::string> out;
  out.reserve(file_of_tensor_.size());
  for (const auto& [name, file_idx] : file_of_tensor_) out.push_back(name);
  return out;
}

void TensorSet::release(std::string_view name) const {
  const auto found = file_of_tensor_.find(name);
  if (found == file_of_tensor_.end()) return;
  const auto& file = *files_[found->second];
  file.release(*file.find(name));
}

bool TensorSet::contains(std::string_view name) const {
  return file_of_tensor_.find(name) != file_of_tensor_.end();
}

const TensorEntry& TensorSet::entry(std::string_view name) const {
  const auto found = file_of_tensor_.find(name);
  if (found == file_of_tensor_.end())
    throw InputError(fmt::format("{}: has no tensor '{}'", source_.string(), name));
  return *files_[found->second]->find(name);
}

TensorView TensorSet::view(std::string_view name) const {
  const auto found = file_of_tensor_.find(name);
  if (found == file_of_tensor_.end())
    throw InputError(fmt::format("{}: has no tensor '{}'", source_.string(), name));
  const SafetensorsFile& file = *files_[found->second];
  return file.view(*file.find(name));
}

const fs::path& TensorSet::file_of(std::string_view name) const {
  const auto found = file_of_tensor_.find(name);
  if (found == file_of_tensor_.end())
    throw InputError(fmt::format("{}: has no tensor '{}'", source_.string(), name));
  return files_[found->second]->path();
}

// ---------------------------------------------------------------------------------------------
// Sharded writer

void write_sharded(const fs::path& dir, std::vector<TensorToWrite> tensors, std::uint64_t max_shard_bytes,
                   const std::map<std::string, std::string>& metadata) {
  const std::string label = dir.string();
  std::error_code error;
  if (!fs::is_directory(dir, error)) throw IoError(fmt::format("{}: is not an existing directory", label));
  if (max_shard_bytes == 0) throw InputError(fmt::format("{}: max_shard_bytes must be positive", label));
  detail::check_tensors_to_write(label, tensors);

  // Greedy split in name order; a tensor larger than the limit gets a shard of its own.
  std::vector<std::vector<TensorToWrite>> shards(1);
  std::uint64_t shard_bytes = 0;
  std::uint64_t total_bytes = 0;
  for (TensorToWrite& tensor : tensors) {
    const std::uint64_t n_byte = tensor.data.size();
    if (!shards.back().empty() && shard_bytes + n_byte > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shard_bytes += n_byte;
    total_bytes += n_byte;
    shards.back().push_back(std::move(tensor));
  }

  if (shards.size() == 1) {
    write_safetensors(dir / "model.safetensors", std::move(shards.front()), metadata);
    return;
  }

  const std::size_t n_shard = shards.size();
  const fs::path index_path = dir / "model.safetensors.index.json";
  std::vector<fs::path> outputs;
  for (std::size_t shard_idx = 0; shard_idx < n_shard; ++shard_idx)
    outputs.push_back(dir / shard_file_name(shard_idx, n_shard));
  // model.safetensors would shadow the index when the directory is opened: refuse it as well.
  for (const fs::path& path : {index_path, dir / "model.safetensors"})
    if (fs::exists(path))
      throw IoError(fmt::format("{}: already exists (refusing to overwrite)", path.string()));
  for (const fs::path& path : outputs)
    if (fs::exists(path))
      throw IoError(fmt::format("{}: already exists (refusing to overwrite)", path.string()));

  ShardIndex index;
  index.metadata["total_size"] = std::to_string(total_bytes);
  std::size_t n_written = 0;
  try {
    for (std::size_t shard_idx = 0; shard_idx < n_shard; ++shard_idx) {
      const std::string name = outputs[shard_idx].filename().string();
      for (const TensorToWrite& tensor : shards[shard_idx]) index.weight_map.emplace(tensor.name, name);
      write_safetensors(outputs[shard_idx], std::move(shards[shard_idx]), metadata);
      ++n_written;
    }
    write_shard_index(index_path, index);
  } catch (...) {
    // No partial set under final names: remove the shards this call published.
    for (std::size_t shard_idx = 0; shard_idx < n_written; ++shard_idx) fs::remove(outputs[shard_idx], error);
    throw;
  }
}

}  // namespace moerge::io
