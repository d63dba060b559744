// The HDF5 expert library (see include/moerge/io/library.hpp and docs/library.md).
#include "moerge/io/library.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>

#include "moerge/core/hash.hpp"
#include "moerge/core/log.hpp"
#include "moerge/core/progress.hpp"
#include "moerge/core/version.hpp"
#include "moerge/io/atomic.hpp"
#include "moerge/io/h5.hpp"
#include "moerge/io/safetensors.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace moerge::io {

namespace {

constexpr std::string_view kIndexFile = "library.h5";
constexpr std::string_view kBaseName = "base";
constexpr std::string_view kPhatgooseFile = "phatgoose_gates.safetensors";
constexpr std::string_view kFisherFile = "fisher.safetensors";
constexpr std::string_view kPeftPrefix = "base_model.model.";
constexpr std::string_view kGateSuffix = ".gate";
constexpr std::size_t kMaxNameLength = 200;
// HF's default shard size ("5GB"); exports above it are written as shards.
constexpr std::uint64_t kMaxShardBytes = 5'000'000'000ull;

// --- small helpers ------------------------------------------------------------------------------

std::string now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

fs::path absolute_normal(const fs::path& path) {
  fs::path out = fs::absolute(path).lexically_normal();
  if (out.filename().empty() && out.has_parent_path()) out = out.parent_path();
  return out;
}

std::string relative_file(ObjectKind kind, std::string_view name) {
  switch (kind) {
    case ObjectKind::base:
      return "base.h5";
    case ObjectKind::lora:
    case ObjectKind::full:
      return fmt::format("experts/{}.h5", name);
    case ObjectKind::merge:
      return fmt::format("merges/{}.h5", name);
  }
  return {};
}

json tags_to_json(const Tags& tags) {
  json out = json::object();
  for (const auto& [key, value] : tags) out[key] = value;
  return out;
}

Tags tags_from_text(const std::string& text, std::string_view where) {
  Tags tags;
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& error) {
    throw IoError(fmt::format("{}: attribute 'tags' is not JSON: {}", where, error.what()));
  }
  if (!root.is_object()) throw IoError(fmt::format("{}: attribute 'tags' is not a JSON object", where));
  for (const auto& [key, value] : root.items()) {
    if (!value.is_string()) throw IoError(fmt::format("{}: tag '{}' is not a string", where, key));
    tags[key] = value.get<std::string>();
  }
  return tags;
}

json entry_to_json(const CatalogueEntry& entry) {
  return json{{"name", entry.name},
              {"kind", kind_name(entry.kind)},
              {"file", entry.file},
              {"tags", tags_to_json(entry.tags)},
              {"sha256", entry.sha256},
              {"size", entry.size},
              {"created", entry.created},
              {"source", entry.source},
              {"r", entry.r},
              {"n_param", entry.n_param},
              {"dtypes", entry.dtypes}};
}

CatalogueEntry entry_from_json(const json& root) {
  CatalogueEntry entry;
  entry.name = root.at("name").get<std::string>();
  entry.kind = *kind_from_name(root.at("kind").get<std::string>());
  entry.file = root.at("file").get<std::string>();
  for (const auto& [key, value] : root.at("tags").items()) entry.tags[key] = value.get<std::string>();
  entry.sha256 = root.at("sha256").get<std::string>();
  entry.size = root.at("size").get<std::uint64_t>();
  entry.created = root.at("created").get<std::string>();
  entry.source = root.at("source").get<std::string>();
  entry.r = root.at("r").get<std::int64_t>();
  entry.n_param = root.at("n_param").get<std::uint64_t>();
  entry.dtypes = root.at("dtypes").get<std::string>();
  return entry;
}

}  // namespace

void run_agreed(const comm::Comm& comm, const std::function<void()>& work) {
  if (comm.size() == 1) {
    work();
    return;
  }
  std::string error;
  try {
    work();
  } catch (const std::exception& caught) {
    error = caught.what();
    if (error.empty()) error = "unknown error";
  }
  if (!comm.any(!error.empty())) return;
  const auto messages = comm.allgather(error);
  // The same failure on every rank (a bad argument, a missing file) is said once.
  if (std::all_of(messages.begin(), messages.end(),
                  [&](const auto& text) { return text == messages.front(); }))
    throw AgreedError(messages.front());
  std::string joined;
  for (std::size_t rank = 0; rank < messages.size(); ++rank)
    if (!messages[rank].empty())
      joined += fmt::format("{}[rank {}] {}", joined.empty() ? "" : "\n", rank, messages[rank]);
  throw AgreedError(joined);
}

namespace {

/// An exclusive lock on LIB/.lock for the duration of a change to the library. Best effort: on a
/// filesystem without flock the change goes ahead unlocked, and the log says so.
class DirLock {
 public:
  explicit DirLock(const fs::path& dir) : path_(dir / ".lock") {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw IoError(
          fmt::format("{}: cannot open the library lock: {}", path_.string(), std::strerror(errno)));
    bool told = false;
    for (;;) {
      if (::flock(fd_, told ? LOCK_EX : LOCK_EX | LOCK_NB) == 0) return;
      const int error = errno;
      if (error == EINTR) continue;
      if (error == EWOULDBLOCK && !told) {
        log::info("{}: another process is changing the library; waiting for it", dir.string());
        told = true;
        continue;
      }
      if (error == ENOLCK || error == EOPNOTSUPP || error == ENOSYS || error == EINVAL) {
        log::info("{}: the filesystem has no flock ({}); changing the library without a lock (best effort)",
                  path_.string(), std::strerror(error));
        return;
      }
      ::close(fd_);
      throw IoError(fmt::format("{}: cannot lock: {}", path_.string(), std::strerror(error)));
    }
  }
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  fs::path path_;
  int fd_ = -1;
};

/// A tensor name as an HDF5 link name: not empty, no '/', not "." or "..".
void check_tensor_key(std::string_view key, std::string_view where) {
  if (key.empty() || key.find('/') != std::string_view::npos || key == "." || key == "..")
    throw InputError(
        fmt::format("{}: tensor name '{}' cannot be stored (empty, '.', '..' or holding '/')", where, key));
}

void write_text_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw IoError(fmt::format("{}: cannot create: {}", path.string(), std::strerror(errno)));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw IoError(fmt::format("{}: write failed", path.string()));
}

/// The safetensors "__metadata__" of the first file of a set, as JSON text.
std::string set_metadata_text(const TensorSet& set) {
  const auto names = set.names();
  if (names.empty()) return "{}";
  std::set<fs::path> files;
  for (const auto& name : names) files.insert(set.file_of(name));
  const auto file = SafetensorsFile::open(*files.begin());
  json out = json::object();
  for (const auto& [key, value] : file.metadata()) out[key] = value;
  return out.dump();
}

std::map<std::string, std::string> metadata_from_text(const std::string& text, std::string_view where) {
  std::map<std::string, std::string> out;
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& error) {
    throw IoError(fmt::format("{}: attribute 'safetensors_metadata' is not JSON: {}", where, error.what()));
  }
  if (!root.is_object())
    throw IoError(fmt::format("{}: attribute 'safetensors_metadata' is not an object", where));
  for (const auto& [key, value] : root.items()) {
    if (!value.is_string())
      throw IoError(fmt::format("{}: safetensors metadata '{}' is not a string", where, key));
    out[key] = value.get<std::string>();
  }
  return out;
}

// --- the index -----------------------------------------------------------------------------------

std::vector<CatalogueEntry> read_index(const fs::path& dir) {
  const fs::path path = dir / kIndexFile;
  if (!fs::exists(path))
    throw InputError(
        fmt::format("{}: not a moerge library ({} is missing; create one with 'moerge library init')",
                    dir.string(), kIndexFile));
  if (!h5::is_hdf5(path))
    throw InputError(fmt::format("{}: not an HDF5 file, so not a moerge library index", path.string()));
  auto file = h5::open_file(path);
  const std::string format =
      h5::has_attr(file, "moerge_format") ? h5::read_attr_string(file, "moerge_format") : "";
  if (format != kLibraryFormat)
    throw InputError(fmt::format("{}: not a moerge library index (moerge_format is '{}', expected '{}')",
                                 path.string(), format, kLibraryFormat));
  std::vector<CatalogueEntry> entries;
  auto catalogue = h5::open_group(file, "/catalogue");
  for (const auto& name : h5::children(catalogue)) {
    auto group = h5::open_group(catalogue, name);
    const std::string where = group.where();
    CatalogueEntry entry;
    entry.name = name;
    try {
      check_object_name(name, true);
    } catch (const InputError& error) {
      throw IoError(fmt::format("{}: {}", where, error.what()));
    }
    const std::string kind = h5::read_attr_string(group, "kind");
    const auto parsed_kind = kind_from_name(kind);
    if (!parsed_kind) throw IoError(fmt::format("{}: unknown kind '{}'", where, kind));
    entry.kind = *parsed_kind;
    entry.file = h5::read_attr_string(group, "file");
    // The file is a function of kind and name: an index cannot point outside the library.
    if (entry.file != relative_file(entry.kind, name))
      throw IoError(fmt::format("{}: file '{}' is not where a {} named '{}' lives ('{}')", where, entry.file,
                                kind, name, relative_file(entry.kind, name)));
    if ((entry.kind == ObjectKind::base) != (name == kBaseName))
      throw IoError(fmt::format("{}: only the object named 'base' may be (and must be) of kind base", where));
    entry.tags = tags_from_text(h5::read_attr_string(group, "tags"), where);
    entry.sha256 = h5::read_attr_string(group, "sha256");
    entry.size = static_cast<std::uint64_t>(h5::read_attr_int(group, "size"));
    entry.created = h5::read_attr_string(group, "created");
    entry.source = h5::read_attr_string(group, "source");
    entry.r = h5::read_attr_int(group, "r");
    entry.n_param = static_cast<std::uint64_t>(h5::read_attr_int(group, "n_param"));
    entry.dtypes = h5::read_attr_string(group, "dtypes");
    entries.push_back(std::move(entry));
  }
  if (std::none_of(entries.begin(), entries.end(),
                   [](const auto& entry) { return entry.kind == ObjectKind::base; }))
    throw IoError(fmt::format("{}: the catalogue has no base", path.string()));
  std::sort(entries.begin(), entries.end(),
            [](const auto& lhs, const auto& rhs) { return lhs.name < rhs.name; });
  return entries;
}

/// Write the index for `entries` to a temporary beside `dir`/library.h5 and swap it in.
void write_index(const fs::path& dir, std::vector<CatalogueEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const auto& lhs, const auto& rhs) { return lhs.name < rhs.name; });
  AtomicPath atomic(dir / kIndexFile, /*overwrite=*/true);
  {
    auto file = h5::create_file(atomic.temp());
    h5::write_attr(file, "moerge_format", kLibraryFormat);
    h5::write_attr(file, "moerge_version", kVersion);
    h5::create_group(file, "/objects");
    auto catalogue = h5::create_group(file, "/catalogue");
    for (const auto& entry : entries) {
      h5::create_external_link(file, "/objects/" + entry.name, entry.file, "/");
      auto group = h5::create_group(catalogue, entry.name);
      h5::write_attr(group, "kind", kind_name(entry.kind));
      h5::write_attr(group, "file", entry.file);
      h5::write_attr(group, "tags", tags_to_json(entry.tags).dump());
      h5::write_attr(group, "sha256", entry.sha256);
      h5::write_attr(group, "size", static_cast<std::int64_t>(entry.size));
      h5::write_attr(group, "created", entry.created);
      h5::write_attr(group, "source", entry.source);
      h5::write_attr(group, "r", entry.r);
      h5::write_attr(group, "n_param", static_cast<std::int64_t>(entry.n_param));
      h5::write_attr(group, "dtypes", entry.dtypes);
    }
    catalogue.close();
    file.close();
  }
  atomic.commit();
}

// --- object files --------------------------------------------------------------------------------

/// Open a catalogued object file after the cheap checks (present, size as catalogued, written by
/// moerge for this name and kind).
h5::Handle open_checked(const fs::path& dir, const CatalogueEntry& entry) {
  const fs::path path = dir / entry.file;
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error)
    throw IoError(fmt::format("{}: object '{}' is catalogued but its file is unreadable: {}", path.string(),
                              entry.name, error.message()));
  if (size != entry.size)
    throw IoError(
        fmt::format("{}: size {} bytes, the catalogue says {} (changed outside moerge? run 'moerge library "
                    "verify')",
                    path.string(), size, entry.size));
  auto file = h5::open_file(path);
  const std::string format =
      h5::has_attr(file, "moerge_format") ? h5::read_attr_string(file, "moerge_format") : "";
  if (format != kLibraryFormat)
    throw IoError(fmt::format("{}: not written by moerge (moerge_format '{}')", path.string(), format));
  const std::string name = h5::read_attr_string(file, "name");
  const std::string kind = h5::read_attr_string(file, "kind");
  if (name != entry.name || kind != kind_name(entry.kind))
    throw IoError(fmt::format("{}: holds {} '{}', the catalogue says {} '{}'", path.string(), kind, name,
                              kind_name(entry.kind), entry.name));
  return file;
}

void check_sha256(const fs::path& dir, const CatalogueEntry& entry) {
  const fs::path path = dir / entry.file;
  const std::string actual = hash::sha256_file(path);
  if (actual != entry.sha256)
    throw IoError(fmt::format("{}: SHA-256 {} differs from the catalogue's {} (run 'moerge library verify')",
                              path.string(), actual, entry.sha256));
}

/// The weights' element count and dtypes of an object file (/params and /lora; not /stats).
void summarize_weights(const h5::Handle& file, CatalogueEntry& entry) {
  std::set<std::string> dtypes;
  entry.n_param = 0;
  for (const auto& path : h5::list_datasets(file)) {
    if (!path.starts_with("/params/") && !path.starts_with("/lora/")) continue;
    auto dataset = h5::open_dataset(file, path);
    const auto shape = h5::dataset_shape(dataset);
    entry.n_param += shape.numel();
    dtypes.insert(std::string(dtype_name(shape.dtype)));
  }
  entry.dtypes.clear();
  for (const auto& dtype : dtypes) entry.dtypes += (entry.dtypes.empty() ? "" : ",") + dtype;
}

/// A directory validated for import and ready to be written.
struct Prepared {
  fs::path dir;
  std::string name;
  ObjectKind kind = ObjectKind::full;
  std::optional<PeftAdapter> adapter;
  std::optional<HfModel> model;
  std::optional<TensorSet> phatgoose;  // [module] -> gate
  std::optional<TensorSet> fisher;     // tensor -> Fisher diagonal
};

/// The module a PhatGoose gate key names ("base_model.model.<module>.gate").
std::optional<std::string> gate_module(std::string_view key) {
  if (!key.starts_with(kPeftPrefix) || !key.ends_with(kGateSuffix) ||
      key.size() <= kPeftPrefix.size() + kGateSuffix.size())
    return std::nullopt;
  return std::string(key.substr(kPeftPrefix.size(), key.size() - kPeftPrefix.size() - kGateSuffix.size()));
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t dim = 0; dim < shape.size(); ++dim) out += (dim ? ", " : "") + std::to_string(shape[dim]);
  return out + "]";
}

/// Open and validate one source directory against the base; nothing is written.
Prepared prepare_import(const fs::path& source_dir, const std::string& name, const ShapeMap& base_shapes,
                        const std::string& base_label) {
  Prepared prepared;
  prepared.dir = absolute_normal(source_dir);
  prepared.name = name;
  const std::string label = prepared.dir.string();
  std::vector<std::string> problems;
  if (detect_source(prepared.dir) == SourceKind::peft_adapter) {
    prepared.kind = ObjectKind::lora;
    prepared.adapter = open_peft_adapter(prepared.dir);
    check_adapter_against_base(*prepared.adapter, base_shapes, label, base_label);
    for (const auto& module : prepared.adapter->modules) check_tensor_key(module.module, label);
    const fs::path gates = prepared.dir / kPhatgooseFile;
    if (fs::exists(gates)) {
      prepared.phatgoose = TensorSet::open_file(gates);
      std::map<std::string, const LoraModule*> modules;
      for (const auto& module : prepared.adapter->modules) modules[module.module] = &module;
      for (const auto& key : prepared.phatgoose->names()) {
        const auto& tensor = prepared.phatgoose->entry(key);
        const auto module = gate_module(key);
        if (!module || !modules.contains(*module)) {
          problems.push_back(
              fmt::format("{}: tensor '{}' is not 'base_model.model.<module>.gate' for a module of the "
                          "adapter",
                          gates.string(), key));
          continue;
        }
        const std::vector<std::int64_t> expected{modules.at(*module)->d_in};
        if (tensor.shape != expected || !dtype_is_numeric(tensor.dtype))
          problems.push_back(fmt::format("{}: tensor '{}' is {} {}, expected a float gate of shape {} (d_in)",
                                         gates.string(), key, dtype_name(tensor.dtype),
                                         shape_string(tensor.shape), shape_string(expected)));
      }
    }
  } else {
    prepared.kind = ObjectKind::full;
    prepared.model = open_hf_model(prepared.dir);
    check_model_against_base(*prepared.model, base_shapes, label, base_label);
    if (fs::exists(prepared.dir / kPhatgooseFile))
      problems.push_back(fmt::format("{}: PhatGoose gates belong with a LoRA adapter, not a full fine-tune",
                                     (prepared.dir / kPhatgooseFile).string()));
  }
  const fs::path fisher = prepared.dir / kFisherFile;
  if (fs::exists(fisher)) {
    prepared.fisher = TensorSet::open_file(fisher);
    // A Fisher diagonal has the shape of the weight it belongs to: a base tensor for a full
    // fine-tune, an adapter tensor for a LoRA.
    for (const auto& key : prepared.fisher->names()) {
      const auto& tensor = prepared.fisher->entry(key);
      check_tensor_key(key, fisher.string());
      std::optional<std::vector<std::int64_t>> expected;
      if (prepared.adapter) {
        if (prepared.adapter->tensors.contains(key)) expected = prepared.adapter->tensors.entry(key).shape;
      } else if (base_shapes.contains(key)) {
        expected = base_shapes.at(key);
      }
      if (!expected)
        problems.push_back(fmt::format("{}: tensor '{}' names no weight of this {}", fisher.string(), key,
                                       prepared.adapter ? "adapter" : "model"));
      else if (*expected != tensor.shape || !dtype_is_numeric(tensor.dtype))
        problems.push_back(fmt::format("{}: tensor '{}' is {} {}, expected a float tensor of shape {}",
                                       fisher.string(), key, dtype_name(tensor.dtype),
                                       shape_string(tensor.shape), shape_string(*expected)));
    }
  }
  if (!problems.empty()) {
    std::string message =
        fmt::format("{}: {} problem{}:", label, problems.size(), problems.size() == 1 ? "" : "s");
    for (const auto& problem : problems) message += "\n  " + problem;
    throw InputError(message);
  }
  return prepared;
}

std::uint64_t view_bytes(const TensorSet& set) {
  std::uint64_t total = 0;
  for (const auto& name : set.names()) total += set.view(name).data.size();
  return total;
}

/// Where the data section of a safetensors file starts: after the 8-byte header length and the
/// header (the file was validated when the set was opened).
std::uint64_t data_section_offset(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::array<unsigned char, 8> bytes{};
  if (!in.read(reinterpret_cast<char*>(bytes.data()), bytes.size()))
    throw IoError(fmt::format("{}: cannot read the header length", file.string()));
  std::uint64_t header_size = 0;
  for (std::size_t idx = 0; idx < bytes.size(); ++idx) header_size |= std::uint64_t{bytes[idx]} << (8 * idx);
  return 8 + header_size;
}

/// Write tensor `key` of `set` as dataset `path`, its bytes read from the source file (not from
/// the mapping, so a large import keeps a small resident set) and checksummed as they are written.
void write_tensor(const h5::Handle& file, const std::string& path, const TensorSet& set,
                  const std::string& key, progress::Progress& progress) {
  const TensorEntry& entry = set.entry(key);
  const fs::path& source = set.file_of(key);
  const std::uint64_t n_bytes = entry.end - entry.begin;
  auto dataset = h5::write_dataset_copy(file, path, entry.dtype, entry.shape, source,
                                        data_section_offset(source) + entry.begin, n_bytes);
  h5::write_attr(dataset, "key", key);
  dataset.close();
  progress.advance(1, n_bytes);
}

/// Write every tensor of `set` (sorted by name) as <group>/<name>.
void write_set(const h5::Handle& file, const std::string& group, const TensorSet& set,
               progress::Progress& progress) {
  auto handle = h5::create_group(file, group);
  h5::write_attr(handle, "safetensors_metadata", set_metadata_text(set));
  for (const auto& key : set.names()) {
    check_tensor_key(key, set.source().string());
    write_tensor(file, group + "/" + key, set, key, progress);
  }
}

/// Every input file of a source directory with its SHA-256, by file name.
json source_hashes(const fs::path& dir, const std::vector<const TensorSet*>& sets,
                   const std::vector<std::string>& extra) {
  std::set<fs::path> files;
  for (const auto* set : sets)
    for (const auto& name : set->names()) files.insert(set->file_of(name));
  for (const auto& name : extra)
    if (fs::exists(dir / name)) files.insert(dir / name);
  json out = json::object();
  for (const auto& file : files) out[file.filename().string()] = hash::sha256_file(file);
  return out;
}

void write_root_attrs(const h5::Handle& file, const CatalogueEntry& entry) {
  h5::write_attr(file, "moerge_format", kLibraryFormat);
  h5::write_attr(file, "moerge_version", kVersion);
  h5::write_attr(file, "name", entry.name);
  h5::write_attr(file, "kind", kind_name(entry.kind));
  h5::write_attr(file, "tags", tags_to_json(entry.tags).dump());
  h5::write_attr(file, "source", entry.source);
  h5::write_attr(file, "created", entry.created);
}

/// Record the sources' SHA-256 (hashed in the background while the tensors were written), close
/// the written file, and fill the entry's size and SHA-256. The file is fsync'd on a second
/// thread while it is hashed, so AtomicPath::commit later finds nothing left to flush.
void seal(h5::Handle& file, const fs::path& path, CatalogueEntry& entry, std::future<json>& source_sha256) {
  h5::write_attr(file, "source_sha256", source_sha256.get().dump());
  summarize_weights(file, entry);
  file.close();
  entry.size = fs::file_size(path);
  auto flushed = std::async(std::launch::async, [&path] { fsync_path(path); });
  entry.sha256 = hash::sha256_file(path);
  flushed.get();
}

/// base.h5 from a validated HF model directory, at `path`.
CatalogueEntry write_base(const HfModel& model, const fs::path& path, const ImportOptions& options,
                          bool quiet) {
  CatalogueEntry entry;
  entry.name = std::string(kBaseName);
  entry.kind = ObjectKind::base;
  entry.file = relative_file(ObjectKind::base, kBaseName);
  entry.tags = options.tags;
  entry.created = options.created.empty() ? now_iso8601() : options.created;
  entry.source = absolute_normal(model.dir).string();
  auto hashes = std::async(std::launch::async, [&model] {
    return source_hashes(model.dir, {&model.tensors}, {"config.json", "model.safetensors.index.json"});
  });
  auto file = h5::create_file(path);
  write_root_attrs(file, entry);
  h5::write_attr(file, "config", model.config_text);
  const ShapeMap expected = llama_tensor_shapes(model.config);
  progress::Progress progress("init base", "tensors", expected.size(), view_bytes(model.tensors),
                              progress::options_for(quiet, 0));
  auto params = h5::create_group(file, "/params");
  h5::write_attr(params, "safetensors_metadata", set_metadata_text(model.tensors));
  for (const auto& [key, shape] : expected) {
    check_tensor_key(key, model.dir.string());
    write_tensor(file, "/params/" + key, model.tensors, key, progress);
  }
  params.close();
  progress.finish();
  seal(file, path, entry, hashes);
  return entry;
}

/// experts/<name>.h5 from a prepared directory, at `path`.
CatalogueEntry write_expert(const Prepared& prepared, const fs::path& path, const ImportOptions& options,
                            const std::string& created, bool quiet, int rank) {
  CatalogueEntry entry;
  entry.name = prepared.name;
  entry.kind = prepared.kind;
  entry.file = relative_file(prepared.kind, prepared.name);
  entry.tags = options.tags;
  entry.created = created;
  entry.source = prepared.dir.string();

  std::vector<const TensorSet*> sets;
  if (prepared.adapter) sets.push_back(&prepared.adapter->tensors);
  if (prepared.model) sets.push_back(&prepared.model->tensors);
  if (prepared.phatgoose) sets.push_back(&*prepared.phatgoose);
  if (prepared.fisher) sets.push_back(&*prepared.fisher);
  std::uint64_t n_tensor = 0, n_byte = 0;
  for (const auto* set : sets) {
    n_tensor += set->names().size();
    n_byte += view_bytes(*set);
  }
  auto hashes = std::async(std::launch::async, [&prepared, &sets] {
    return source_hashes(prepared.dir, sets,
                         {"config.json", "adapter_config.json", "model.safetensors.index.json"});
  });
  progress::Progress progress(fmt::format("import {}", prepared.name), "tensors", n_tensor, n_byte,
                              progress::options_for(quiet, rank));
  auto file = h5::create_file(path);
  write_root_attrs(file, entry);
  if (prepared.adapter) {
    const PeftAdapter& adapter = *prepared.adapter;
    entry.r = adapter.r;
    h5::write_attr(file, "adapter_config", adapter.config_text);
    h5::write_attr(file, "alpha", adapter.lora_alpha);
    h5::write_attr(file, "r", adapter.r);
    h5::write_attr(file, "rslora", std::int64_t{adapter.use_rslora ? 1 : 0});
    auto lora = h5::create_group(file, "/lora");
    h5::write_attr(lora, "safetensors_metadata", set_metadata_text(adapter.tensors));
    for (const auto& module : adapter.modules) {
      const std::string group = "/lora/" + module.module;
      write_tensor(file, group + "/A", adapter.tensors, module.a_key, progress);
      write_tensor(file, group + "/B", adapter.tensors, module.b_key, progress);
    }
  } else {
    const HfModel& model = *prepared.model;
    h5::write_attr(file, "config", model.config_text);
    const ShapeMap expected = llama_tensor_shapes(model.config);
    auto params = h5::create_group(file, "/params");
    h5::write_attr(params, "safetensors_metadata", set_metadata_text(model.tensors));
    for (const auto& key : model.tensors.names()) {
      if (!expected.contains(key)) {
        progress.advance(1, model.tensors.view(key).data.size());
        continue;  // a RoPE buffer open_hf_model warned about; not a weight
      }
      check_tensor_key(key, model.dir.string());
      write_tensor(file, "/params/" + key, model.tensors, key, progress);
    }
  }
  if (prepared.phatgoose) {
    auto group = h5::create_group(file, "/stats/phatgoose");
    h5::write_attr(group, "safetensors_metadata", set_metadata_text(*prepared.phatgoose));
    for (const auto& key : prepared.phatgoose->names())
      write_tensor(file, fmt::format("/stats/phatgoose/{}/gate", *gate_module(key)), *prepared.phatgoose, key,
                   progress);
  }
  if (prepared.fisher) write_set(file, "/stats/fisher", *prepared.fisher, progress);
  progress.finish();
  seal(file, path, entry, hashes);
  return entry;
}

// --- export --------------------------------------------------------------------------------------

/// A dataset to export: where it is, its key, and its size.
struct ExportItem {
  std::string path;
  std::string key;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t n_bytes = 0;
};

std::vector<ExportItem> export_items(const h5::Handle& file, const std::string& prefix,
                                     const std::function<bool(const std::string&)>& wanted) {
  std::vector<ExportItem> items;
  for (const auto& path : h5::list_datasets(file)) {
    if (!path.starts_with(prefix) || !wanted(path)) continue;
    auto dataset = h5::open_dataset(file, path);
    const auto shape = h5::dataset_shape(dataset);
    items.push_back({path, h5::read_attr_string(dataset, "key"), shape.dtype, shape.shape, shape.n_bytes});
  }
  std::sort(items.begin(), items.end(), [](const auto& lhs, const auto& rhs) { return lhs.key < rhs.key; });
  return items;
}

/// Read the items (checking each checksum) and write them as one safetensors file.
void export_file(const h5::Handle& file, const std::vector<ExportItem>& items, const fs::path& out,
                 const std::map<std::string, std::string>& metadata, progress::Progress& progress) {
  std::vector<std::vector<std::byte>> buffers;
  std::vector<TensorToWrite> tensors;
  buffers.reserve(items.size());
  for (const auto& item : items) {
    auto dataset = h5::open_dataset(file, item.path);
    buffers.emplace_back(item.n_bytes);
    h5::read_dataset(dataset, buffers.back());
    const std::string expected = h5::read_attr_string(dataset, "checksum");
    const std::string actual = h5::checksum_text(buffers.back());
    if (actual != expected)
      throw IoError(fmt::format("{}: checksum {} differs from the stored {} (run 'moerge library verify')",
                                dataset.where(), actual, expected));
    tensors.push_back({item.key, item.dtype, item.shape, buffers.back()});
    progress.advance(1, item.n_bytes);
  }
  write_safetensors(out, std::move(tensors), metadata);
}

/// Weights as model.safetensors, or as HF shards with an index past kMaxShardBytes.
void export_model(const h5::Handle& file, const std::vector<ExportItem>& items, const fs::path& dir,
                  const std::map<std::string, std::string>& metadata, progress::Progress& progress) {
  std::vector<std::vector<ExportItem>> shards(1);
  std::uint64_t n_shard_bytes = 0, n_total_bytes = 0;
  for (const auto& item : items) {
    if (n_shard_bytes > 0 && n_shard_bytes + item.n_bytes > kMaxShardBytes) {
      shards.emplace_back();
      n_shard_bytes = 0;
    }
    shards.back().push_back(item);
    n_shard_bytes += item.n_bytes;
    n_total_bytes += item.n_bytes;
  }
  if (shards.size() == 1) {
    export_file(file, items, dir / "model.safetensors", metadata, progress);
    return;
  }
  ShardIndex index;
  index.metadata["total_size"] = std::to_string(n_total_bytes);
  for (std::size_t shard_idx = 0; shard_idx < shards.size(); ++shard_idx) {
    const std::string name = fmt::format("model-{:05}-of-{:05}.safetensors", shard_idx + 1, shards.size());
    export_file(file, shards[shard_idx], dir / name, metadata, progress);
    for (const auto& item : shards[shard_idx]) index.weight_map[item.key] = name;
  }
  write_shard_index(dir / "model.safetensors.index.json", index);
}

std::map<std::string, std::string> group_metadata(const h5::Handle& file, const std::string& group) {
  auto handle = h5::open_group(file, group);
  if (!h5::has_attr(handle, "safetensors_metadata")) return {};
  return metadata_from_text(h5::read_attr_string(handle, "safetensors_metadata"), handle.where());
}

/// Verify one object; every problem found is appended (never throws for a bad object).
void verify_object(const fs::path& dir, const CatalogueEntry& entry, VerifyReport& report, bool quiet,
                   int rank) {
  const fs::path path = dir / entry.file;
  const std::string file_label = path.string();
  const auto problem = [&](std::string dataset, std::string what, std::string expected, std::string actual) {
    report.problems.push_back(
        {file_label, std::move(dataset), std::move(what), std::move(expected), std::move(actual)});
  };
  ++report.n_object;
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) {
    problem("", "file missing or unreadable", "present", error.message());
    return;
  }
  if (size != entry.size) problem("", "size", std::to_string(entry.size), std::to_string(size));
  try {
    const std::string sha = hash::sha256_file(path);
    if (sha != entry.sha256) problem("", "sha256", entry.sha256, sha);
  } catch (const Error& caught) {
    problem("", "sha256", entry.sha256, caught.what());
  }
  try {
    auto file = h5::open_file(path);
    const std::string format =
        h5::has_attr(file, "moerge_format") ? h5::read_attr_string(file, "moerge_format") : "";
    if (format != kLibraryFormat) problem("", "moerge_format", std::string(kLibraryFormat), format);
    const std::string name = h5::has_attr(file, "name") ? h5::read_attr_string(file, "name") : "";
    if (name != entry.name) problem("", "name attribute", entry.name, name);
    const std::string kind = h5::has_attr(file, "kind") ? h5::read_attr_string(file, "kind") : "";
    if (kind != kind_name(entry.kind))
      problem("", "kind attribute", std::string(kind_name(entry.kind)), kind);
    const auto paths = h5::list_datasets(file);
    std::uint64_t n_byte_total = 0;
    for (const auto& dataset_path : paths)
      n_byte_total += h5::dataset_shape(h5::open_dataset(file, dataset_path)).n_bytes;
    progress::Progress progress(fmt::format("verify {}", entry.name), "datasets", paths.size(), n_byte_total,
                                progress::options_for(quiet, rank));
    for (const auto& dataset_path : paths) {
      ++report.n_dataset;
      try {
        auto dataset = h5::open_dataset(file, dataset_path);
        const auto shape = h5::dataset_shape(dataset);
        const std::string expected =
            h5::has_attr(dataset, "checksum") ? h5::read_attr_string(dataset, "checksum") : "";
        const std::string actual = h5::compute_checksum(dataset);
        if (expected.empty())
          problem(dataset_path, "checksum attribute missing", "xxh3:...", actual);
        else if (actual != expected)
          problem(dataset_path, "checksum", expected, actual);
        progress.advance(1, shape.n_bytes);
      } catch (const Error& caught) {
        problem(dataset_path, "unreadable", "readable", caught.what());
      }
    }
    progress.finish();
  } catch (const Error& caught) {
    problem("", "unreadable as HDF5", "readable", caught.what());
  }
}

/// Warn about files in experts/ and merges/ the catalogue does not name, and about temporaries
/// left by interrupted writes.
void warn_strays(const fs::path& dir, const std::vector<CatalogueEntry>& catalogue) {
  std::set<std::string> known;
  for (const auto& entry : catalogue) known.insert(entry.file);
  for (const char* sub : {"", "experts", "merges"}) {
    const fs::path folder = dir / sub;
    std::error_code error;
    if (!fs::is_directory(folder, error)) continue;
    for (const auto& item : fs::directory_iterator(folder, error)) {
      const std::string name = item.path().filename().string();
      const std::string relative = std::string(sub).empty() ? name : std::string(sub) + "/" + name;
      if (name.starts_with(".") && name.find(".tmp-") != std::string::npos)
        log::warn("{}: a temporary left by an interrupted write (safe to delete when no moerge runs)",
                  item.path().string());
      else if (!std::string(sub).empty() && name.ends_with(".h5") && !known.contains(relative))
        log::warn("{}: not in the catalogue (left by an interrupted import? re-import it or delete it)",
                  item.path().string());
    }
  }
}

IoMode to_io_mode(H5D_mpio_actual_io_mode_t mode) {
  switch (mode) {
    case H5D_MPIO_NO_COLLECTIVE:
      return IoMode::independent;
    case H5D_MPIO_CHUNK_INDEPENDENT:
      return IoMode::chunk_independent;
    case H5D_MPIO_CHUNK_COLLECTIVE:
      return IoMode::chunk_collective;
    case H5D_MPIO_CHUNK_MIXED:
      return IoMode::chunk_mixed;
    case H5D_MPIO_CONTIGUOUS_COLLECTIVE:
      return IoMode::contiguous_collective;
  }
  return IoMode::independent;
}

}  // namespace

// --- names ---------------------------------------------------------------------------------------

std::string_view kind_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::base:
      return "base";
    case ObjectKind::lora:
      return "lora";
    case ObjectKind::full:
      return "full";
    case ObjectKind::merge:
      return "merge";
  }
  return "?";
}

std::optional<ObjectKind> kind_from_name(std::string_view name) {
  for (const ObjectKind kind : {ObjectKind::base, ObjectKind::lora, ObjectKind::full, ObjectKind::merge})
    if (kind_name(kind) == name) return kind;
  return std::nullopt;
}

std::string_view io_mode_name(IoMode mode) {
  switch (mode) {
    case IoMode::independent:
      return "independent";
    case IoMode::chunk_independent:
      return "chunk_independent";
    case IoMode::chunk_collective:
      return "chunk_collective";
    case IoMode::chunk_mixed:
      return "chunk_mixed";
    case IoMode::contiguous_collective:
      return "contiguous_collective";
  }
  return "?";
}

void check_object_name(std::string_view name, bool allow_base) {
  const bool chars_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
  if (name.empty() || !chars_ok || name.front() == '.' || name.size() > kMaxNameLength)
    throw InputError(
        fmt::format("object name '{}' is invalid: use 1 to {} of the characters A-Z a-z 0-9 . _ -, not "
                    "starting with '.'",
                    name, kMaxNameLength));
  if (!allow_base && name == kBaseName)
    throw InputError("object name 'base' is reserved for the library's base model");
}

Tags parse_tags(const std::vector<std::string>& items) {
  Tags tags;
  for (const auto& item : items) {
    const auto equals = item.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == item.size())
      throw InputError(fmt::format("tag '{}' is not KEY=VALUE (both non-empty)", item));
    const std::string key = item.substr(0, equals);
    const std::string value = item.substr(equals + 1);
    try {
      check_object_name(key, true);
    } catch (const InputError&) {
      throw InputError(
          fmt::format("tag '{}': key '{}' must use the characters A-Z a-z 0-9 . _ -", item, key));
    }
    if (std::any_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
      throw InputError(fmt::format("tag '{}': the value holds control characters", item));
    if (tags.contains(key)) throw InputError(fmt::format("tag '{}' is given twice", key));
    tags[key] = value;
  }
  return tags;
}

// --- Library -------------------------------------------------------------------------------------

Library::Library(fs::path dir, bool quiet) : dir_(std::move(dir)), quiet_(quiet) {}

Library Library::create(const fs::path& dir, const fs::path& base_dir, const ImportOptions& options,
                        bool force, bool quiet) {
  const fs::path target = absolute_normal(dir);
  std::error_code error;
  if (fs::exists(target, error)) {
    if (!fs::is_directory(target))
      throw InputError(fmt::format("{}: exists and is not a directory", target.string()));
    if (!fs::is_empty(target) && !force)
      throw InputError(
          fmt::format("{}: exists and is not empty (use --force to replace it)", target.string()));
  }
  if (detect_source(base_dir) != SourceKind::hf_model)
    throw InputError(
        fmt::format("{}: is a PEFT adapter; the base must be a HF model directory (config.json + "
                    "model.safetensors)",
                    base_dir.string()));
  HfModel model = open_hf_model(base_dir);
  fs::create_directories(target.parent_path());
  AtomicPath atomic(target, /*overwrite=*/true);
  fs::create_directory(atomic.temp());
  fs::create_directory(atomic.temp() / "experts");
  fs::create_directory(atomic.temp() / "merges");
  write_text_file(atomic.temp() / ".lock", "");
  const CatalogueEntry base = write_base(model, atomic.temp() / "base.h5", options, quiet);
  write_index(atomic.temp(), {base});
  atomic.commit();
  log::debug("{}: library created with base {} ({} tensors)", target.string(), base.source,
             llama_tensor_shapes(model.config).size());
  return open(target, quiet);
}

Library Library::open(const fs::path& dir, bool quiet) {
  Library library(absolute_normal(dir), quiet);
  if (!fs::is_directory(library.dir_))
    throw InputError(fmt::format("{}: no such library directory", library.dir_.string()));
  library.reload();
  return library;
}

void Library::reload() { catalogue_ = read_index(dir_); }

const CatalogueEntry* Library::find(std::string_view name) const {
  for (const auto& entry : catalogue_)
    if (entry.name == name) return &entry;
  return nullptr;
}

const CatalogueEntry& Library::entry(std::string_view name) const {
  if (const auto* found = find(name)) return *found;
  std::string names;
  for (const auto& entry : catalogue_) names += (names.empty() ? "" : ", ") + entry.name;
  throw InputError(
      fmt::format("{}: no object named '{}' (the library holds: {})", dir_.string(), name, names));
}

fs::path Library::object_path(std::string_view name) const { return dir_ / entry(name).file; }

ShapeMap Library::base_shapes() const {
  auto file = open_checked(dir_, entry(kBaseName));
  ShapeMap shapes;
  for (const auto& path : h5::list_datasets(file)) {
    if (!path.starts_with("/params/")) continue;
    auto dataset = h5::open_dataset(file, path);
    shapes[h5::read_attr_string(dataset, "key")] = h5::dataset_shape(dataset).shape;
  }
  return shapes;
}

CatalogueEntry Library::import_expert(const fs::path& dir, const ImportOptions& options) {
  const auto self = comm::Comm::self();
  return import_experts({dir}, options, self).front();
}

std::vector<CatalogueEntry> Library::import_experts(const std::vector<fs::path>& dirs,
                                                    const ImportOptions& options, const comm::Comm& comm) {
  std::vector<std::string> names;
  std::unique_ptr<DirLock> lock;
  run_agreed(comm, [&] {
    if (dirs.empty()) throw InputError("import: no directory given");
    if (options.name && dirs.size() != 1)
      throw InputError(fmt::format("import: a name ('{}') can be given with one directory only, not {}",
                                   *options.name, dirs.size()));
    for (const auto& dir : dirs) {
      const std::string name = options.name ? *options.name : absolute_normal(dir).filename().string();
      try {
        check_object_name(name);
      } catch (const InputError& error) {
        throw InputError(
            fmt::format("{}: {}{}", dir.string(), error.what(),
                        options.name ? "" : " (the name comes from the directory; give one with --name)"));
      }
      if (std::find(names.begin(), names.end(), name) != names.end())
        throw InputError(fmt::format("import: two directories would both be named '{}'", name));
      names.push_back(name);
    }
    if (comm.is_root()) lock = std::make_unique<DirLock>(dir_);
  });
  // Rank 0 holds the lock now: the catalogue read here stays current until the index is rewritten.
  run_agreed(comm, [&] {
    reload();
    for (const auto& name : names)
      if (find(name) != nullptr && !options.replace)
        throw InputError(fmt::format("{}: an object named '{}' exists already (use --replace to replace it)",
                                     dir_.string(), name));
  });

  const auto is_mine = [&](std::size_t idx) {
    return static_cast<int>(idx % static_cast<std::size_t>(comm.size())) == comm.rank();
  };
  std::vector<Prepared> prepared;
  run_agreed(comm, [&] {
    const ShapeMap shapes = base_shapes();
    const std::string base_label = (dir_ / "base.h5").string();
    for (std::size_t idx = 0; idx < dirs.size(); ++idx)
      if (is_mine(idx)) prepared.push_back(prepare_import(dirs[idx], names[idx], shapes, base_label));
  });

  const std::string created = options.created.empty() ? now_iso8601() : options.created;
  std::vector<std::unique_ptr<AtomicPath>> pending;
  std::vector<CatalogueEntry> mine;
  run_agreed(comm, [&] {
    for (const auto& item : prepared) {
      const fs::path final_path = dir_ / relative_file(item.kind, item.name);
      fs::create_directories(final_path.parent_path());
      const auto* existing = find(item.name);
      if (existing == nullptr && fs::exists(final_path))
        log::warn("{}: not in the catalogue (left by an interrupted import?); overwriting it",
                  final_path.string());
      if (existing != nullptr && existing->file != relative_file(item.kind, item.name))
        throw InputError(fmt::format("{}: '{}' is a {}, the import is a {}; remove it first", dir_.string(),
                                     item.name, kind_name(existing->kind), kind_name(item.kind)));
      pending.push_back(std::make_unique<AtomicPath>(final_path, /*overwrite=*/true));
      mine.push_back(write_expert(item, pending.back()->temp(), options, created, quiet_, comm.rank()));
    }
  });
  // Every object is written; now publish them, then the index.
  run_agreed(comm, [&] {
    for (auto& atomic : pending) atomic->commit();
  });
  json mine_json = json::array();
  for (const auto& entry : mine) mine_json.push_back(entry_to_json(entry));
  std::vector<CatalogueEntry> added;
  for (const auto& text : comm.allgather(mine_json.dump()))
    for (const auto& item : json::parse(text)) added.push_back(entry_from_json(item));
  run_agreed(comm, [&] {
    if (!comm.is_root()) return;
    std::vector<CatalogueEntry> next;
    for (const auto& entry : catalogue_)
      if (std::none_of(added.begin(), added.end(), [&](const auto& item) { return item.name == entry.name; }))
        next.push_back(entry);
    next.insert(next.end(), added.begin(), added.end());
    write_index(dir_, next);
  });
  lock.reset();
  run_agreed(comm, [&] { reload(); });
  std::sort(added.begin(), added.end(), [&](const auto& lhs, const auto& rhs) {
    return std::find(names.begin(), names.end(), lhs.name) < std::find(names.begin(), names.end(), rhs.name);
  });
  for (const auto& entry : added)
    log::debug("{}: imported {} '{}' ({}, {} parameters)", dir_.string(), kind_name(entry.kind), entry.name,
               entry.dtypes, entry.n_param);
  return added;
}

void Library::remove(std::string_view name) {
  if (name == kBaseName)
    throw InputError(
        fmt::format("{}: the base cannot be removed (delete the library directory instead)", dir_.string()));
  DirLock lock(dir_);
  reload();
  const CatalogueEntry removed = entry(name);
  std::vector<CatalogueEntry> next;
  for (const auto& item : catalogue_)
    if (item.name != name) next.push_back(item);
  write_index(dir_, next);
  std::error_code error;
  fs::remove(dir_ / removed.file, error);
  if (error)
    log::warn("{}: uncatalogued, but the file could not be deleted: {}", (dir_ / removed.file).string(),
              error.message());
  reload();
}

VerifyReport Library::verify(const std::vector<std::string>& names, const comm::Comm& comm) const {
  std::vector<const CatalogueEntry*> targets;
  run_agreed(comm, [&] {
    if (names.empty()) {
      for (const auto& item : catalogue_) targets.push_back(&item);
    } else {
      for (const auto& name : names) targets.push_back(&entry(name));
    }
  });
  VerifyReport mine;
  run_agreed(comm, [&] {
    for (std::size_t idx = 0; idx < targets.size(); ++idx)
      if (static_cast<int>(idx % static_cast<std::size_t>(comm.size())) == comm.rank())
        verify_object(dir_, *targets[idx], mine, quiet_, comm.rank());
  });
  if (names.empty() && comm.is_root()) warn_strays(dir_, catalogue_);
  json mine_json{{"n_object", mine.n_object}, {"n_dataset", mine.n_dataset}, {"problems", json::array()}};
  for (const auto& problem : mine.problems)
    mine_json["problems"].push_back(
        {problem.file, problem.dataset, problem.what, problem.expected, problem.actual});
  VerifyReport report;
  for (const auto& text : comm.allgather(mine_json.dump())) {
    const json part = json::parse(text);
    report.n_object += part.at("n_object").get<std::size_t>();
    report.n_dataset += part.at("n_dataset").get<std::size_t>();
    for (const auto& item : part.at("problems"))
      report.problems.push_back({item[0].get<std::string>(), item[1].get<std::string>(),
                                 item[2].get<std::string>(), item[3].get<std::string>(),
                                 item[4].get<std::string>()});
  }
  std::stable_sort(report.problems.begin(), report.problems.end(), [](const auto& lhs, const auto& rhs) {
    return std::tie(lhs.file, lhs.dataset) < std::tie(rhs.file, rhs.dataset);
  });
  return report;
}

void Library::export_object(std::string_view name, const fs::path& out_dir) const {
  const CatalogueEntry& item = entry(name);
  const fs::path target = absolute_normal(out_dir);
  std::error_code error;
  bool replace_empty = false;
  if (fs::exists(target, error)) {
    if (!fs::is_directory(target) || !fs::is_empty(target))
      throw InputError(
          fmt::format("{}: exists and is not an empty directory (refusing to overwrite)", target.string()));
    replace_empty = true;
  }
  // Never read a file the library did not write and verify: the whole file against its SHA-256,
  // then each dataset against its checksum as it is read.
  check_sha256(dir_, item);
  auto file = open_checked(dir_, item);
  fs::create_directories(target.parent_path());
  AtomicPath atomic(target, replace_empty);
  fs::create_directory(atomic.temp());
  const fs::path out = atomic.temp();

  const auto all = [](const std::string&) { return true; };
  std::vector<ExportItem> weights;
  if (item.kind == ObjectKind::lora) {
    weights = export_items(file, "/lora/", all);
  } else {
    weights = export_items(file, "/params/", all);
  }
  const auto phatgoose = export_items(file, "/stats/phatgoose/", all);
  const auto fisher = export_items(file, "/stats/fisher/", all);
  std::uint64_t n_byte = 0;
  for (const std::vector<ExportItem>* items :
       std::initializer_list<const std::vector<ExportItem>*>{&weights, &phatgoose, &fisher})
    for (const auto& export_item : *items) n_byte += export_item.n_bytes;
  progress::Progress progress(fmt::format("export {}", item.name), "tensors",
                              weights.size() + phatgoose.size() + fisher.size(), n_byte,
                              progress::options_for(quiet_, 0));

  switch (item.kind) {
    case ObjectKind::lora:
      write_text_file(out / "adapter_config.json", h5::read_attr_string(file, "adapter_config"));
      export_file(file, weights, out / "adapter_model.safetensors", group_metadata(file, "/lora"), progress);
      break;
    case ObjectKind::base:
    case ObjectKind::full:
      write_text_file(out / "config.json", h5::read_attr_string(file, "config"));
      export_model(file, weights, out, group_metadata(file, "/params"), progress);
      break;
    case ObjectKind::merge: {
      // A merge keeps the base's architecture: its config.json is the base's.
      const std::string config = h5::has_attr(file, "config")
                                     ? h5::read_attr_string(file, "config")
                                     : h5::read_attr_string(open_checked(dir_, entry(kBaseName)), "config");
      write_text_file(out / "config.json", config);
      const auto metadata = h5::exists(file, "/params") ? group_metadata(file, "/params")
                                                        : std::map<std::string, std::string>{};
      export_model(file, weights, out, metadata, progress);
      break;
    }
  }
  if (!phatgoose.empty())
    export_file(file, phatgoose, out / kPhatgooseFile, group_metadata(file, "/stats/phatgoose"), progress);
  if (!fisher.empty())
    export_file(file, fisher, out / kFisherFile, group_metadata(file, "/stats/fisher"), progress);
  progress.finish();
  file.close();
  atomic.commit();
}

ObjectDescription Library::describe(std::string_view name) const {
  ObjectDescription description;
  description.entry = entry(name);
  auto file = open_checked(dir_, description.entry);
  description.attrs = h5::read_attrs_as_text(file);
  for (const auto& path : h5::list_datasets(file)) {
    auto dataset = h5::open_dataset(file, path);
    const auto shape = h5::dataset_shape(dataset);
    description.datasets.push_back(
        {path, h5::has_attr(dataset, "key") ? h5::read_attr_string(dataset, "key") : "", shape.dtype,
         shape.shape, shape.n_bytes,
         h5::has_attr(dataset, "checksum") ? h5::read_attr_string(dataset, "checksum") : ""});
  }
  return description;
}

CatalogueEntry Library::register_object(std::string_view name, ObjectKind kind, const Tags& tags,
                                        const std::string& source) {
  check_object_name(name);
  if (kind == ObjectKind::base)
    throw InputError("register: the base is created with the library, not registered");
  DirLock lock(dir_);
  reload();
  CatalogueEntry entry;
  entry.name = std::string(name);
  entry.kind = kind;
  entry.file = relative_file(kind, name);
  entry.tags = tags;
  entry.source = source;
  const fs::path path = dir_ / entry.file;
  if (!fs::exists(path)) throw InputError(fmt::format("{}: no such object file to register", path.string()));
  {
    auto file = h5::open_file(path);
    const std::string format =
        h5::has_attr(file, "moerge_format") ? h5::read_attr_string(file, "moerge_format") : "";
    if (format != kLibraryFormat)
      throw InputError(
          fmt::format("{}: moerge_format is '{}', expected '{}'", path.string(), format, kLibraryFormat));
    const std::string stored_name = h5::read_attr_string(file, "name");
    const std::string stored_kind = h5::read_attr_string(file, "kind");
    if (stored_name != name || stored_kind != kind_name(kind))
      throw InputError(fmt::format("{}: holds {} '{}', not {} '{}'", path.string(), stored_kind, stored_name,
                                   kind_name(kind), name));
    for (const auto& dataset_path : h5::list_datasets(file))
      if (!h5::has_attr(h5::open_dataset(file, dataset_path), "checksum"))
        throw InputError(fmt::format("{}:{}: no checksum attribute", path.string(), dataset_path));
    entry.created = h5::has_attr(file, "created") ? h5::read_attr_string(file, "created") : now_iso8601();
    entry.r = kind == ObjectKind::lora && h5::has_attr(file, "r") ? h5::read_attr_int(file, "r") : 0;
    summarize_weights(file, entry);
  }
  entry.size = fs::file_size(path);
  entry.sha256 = hash::sha256_file(path);
  std::vector<CatalogueEntry> next;
  for (const auto& item : catalogue_)
    if (item.name != name) next.push_back(item);
  next.push_back(entry);
  write_index(dir_, next);
  reload();
  return entry;
}

// --- ParallelObjectReader ------------------------------------------------------------------------

struct ParallelObjectReader::Impl {
  h5::Handle file;
  std::map<std::string, h5::Handle> datasets;

  const h5::Handle& dataset(const std::string& path) {
    auto found = datasets.find(path);
    if (found == datasets.end()) found = datasets.emplace(path, h5::open_dataset(file, path)).first;
    return found->second;
  }
};

ParallelObjectReader::ParallelObjectReader(const Library& library, std::string_view name,
                                           const comm::Comm& comm)
    : impl_(std::make_unique<Impl>()) {
  const CatalogueEntry& entry = library.entry(name);
  const fs::path path = library.dir() / entry.file;
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error || size != entry.size)
    throw IoError(fmt::format("{}: size {} differs from the catalogue's {} (run 'moerge library verify')",
                              path.string(), error ? std::string("unknown") : std::to_string(size),
                              entry.size));
  impl_->file = h5::open_file_parallel(path, comm);
  const std::string format =
      h5::has_attr(impl_->file, "moerge_format") ? h5::read_attr_string(impl_->file, "moerge_format") : "";
  if (format != kLibraryFormat)
    throw IoError(fmt::format("{}: not written by moerge (moerge_format '{}')", path.string(), format));
}

ParallelObjectReader::~ParallelObjectReader() = default;
ParallelObjectReader::ParallelObjectReader(ParallelObjectReader&&) noexcept = default;
ParallelObjectReader& ParallelObjectReader::operator=(ParallelObjectReader&&) noexcept = default;

std::vector<std::string> ParallelObjectReader::datasets() const { return h5::list_datasets(impl_->file); }

DatasetInfo ParallelObjectReader::dataset(const std::string& path) const {
  const auto& handle = impl_->dataset(path);
  const auto shape = h5::dataset_shape(handle);
  return {path,          h5::has_attr(handle, "key") ? h5::read_attr_string(handle, "key") : "",
          shape.dtype,   shape.shape,
          shape.n_bytes, h5::has_attr(handle, "checksum") ? h5::read_attr_string(handle, "checksum") : ""};
}

IoMode ParallelObjectReader::read_rows(const std::string& path, std::int64_t row_begin, std::int64_t n_row,
                                       std::span<std::byte> dst) {
  return to_io_mode(h5::read_rows(impl_->dataset(path), row_begin, n_row, dst, true));
}

void ParallelObjectReader::close() {
  for (auto& [path, handle] : impl_->datasets) handle.close();
  impl_->datasets.clear();
  impl_->file.close();
}

// --- object references, whole-object reads and statistics (see the block at the end of
// library.hpp) -------------------------------------------------------------------------------------

const CatalogueEntry& entry_at(const Library& library, std::string_view object_path) {
  std::string_view name = object_path;
  std::optional<ObjectKind> folder_kind;  // nullopt: experts/ (lora or full)
  if (object_path == kBaseName) {
    folder_kind = ObjectKind::base;
  } else if (object_path.starts_with("experts/")) {
    name.remove_prefix(std::string_view("experts/").size());
  } else if (object_path.starts_with("merges/")) {
    name.remove_prefix(std::string_view("merges/").size());
    folder_kind = ObjectKind::merge;
  } else {
    throw InputError(
        fmt::format("{}/:{}: '{}' is not an object path of a library (base, experts/NAME or merges/NAME)",
                    library.dir().string(), object_path, object_path));
  }
  const CatalogueEntry& found = library.entry(name);
  const bool kind_fits = folder_kind ? found.kind == *folder_kind
                                     : found.kind == ObjectKind::lora || found.kind == ObjectKind::full;
  if (!kind_fits) {
    const std::string right_path = found.kind == ObjectKind::base    ? std::string(kBaseName)
                                   : found.kind == ObjectKind::merge ? "merges/" + found.name
                                                                     : "experts/" + found.name;
    throw InputError(fmt::format("{}/:{}: '{}' is a {} object, which is named {}/:{}", library.dir().string(),
                                 object_path, found.name, kind_name(found.kind), library.dir().string(),
                                 right_path));
  }
  return found;
}

struct ObjectFile::Impl {
  CatalogueEntry entry;
  fs::path path;
  h5::Handle file;
};

ObjectFile::ObjectFile(const Library& library, std::string_view name) : impl_(std::make_unique<Impl>()) {
  impl_->entry = library.entry(name);
  impl_->path = library.dir() / impl_->entry.file;
  check_sha256(library.dir(), impl_->entry);
  impl_->file = open_checked(library.dir(), impl_->entry);
}

ObjectFile::~ObjectFile() = default;
ObjectFile::ObjectFile(ObjectFile&&) noexcept = default;
ObjectFile& ObjectFile::operator=(ObjectFile&&) noexcept = default;

const CatalogueEntry& ObjectFile::entry() const { return impl_->entry; }
const fs::path& ObjectFile::path() const { return impl_->path; }
bool ObjectFile::has_attr(const std::string& name) const { return h5::has_attr(impl_->file, name); }
std::string ObjectFile::attr_string(const std::string& name) const {
  return h5::read_attr_string(impl_->file, name);
}
std::int64_t ObjectFile::attr_int(const std::string& name) const {
  return h5::read_attr_int(impl_->file, name);
}
double ObjectFile::attr_double(const std::string& name) const {
  return h5::read_attr_double(impl_->file, name);
}
bool ObjectFile::exists(const std::string& path) const { return h5::exists(impl_->file, path); }

std::vector<std::string> ObjectFile::datasets(std::string_view prefix) const {
  std::vector<std::string> out;
  for (auto& path : h5::list_datasets(impl_->file))
    if (path.starts_with(prefix)) out.push_back(std::move(path));
  return out;
}

DatasetInfo ObjectFile::info(const std::string& path) const {
  auto dataset = h5::open_dataset(impl_->file, path);
  const auto shape = h5::dataset_shape(dataset);
  return {path,          h5::has_attr(dataset, "key") ? h5::read_attr_string(dataset, "key") : "",
          shape.dtype,   shape.shape,
          shape.n_bytes, h5::has_attr(dataset, "checksum") ? h5::read_attr_string(dataset, "checksum") : ""};
}

StoredTensor ObjectFile::read(const std::string& path) const {
  auto dataset = h5::open_dataset(impl_->file, path);
  const auto shape = h5::dataset_shape(dataset);
  StoredTensor out{.path = path, .dtype = shape.dtype, .shape = shape.shape, .data = {}};
  out.data.resize(shape.n_bytes);
  h5::read_dataset(dataset, out.data);
  const std::string expected =
      h5::has_attr(dataset, "checksum") ? h5::read_attr_string(dataset, "checksum") : "";
  const std::string actual = h5::checksum_text(out.data);
  if (actual != expected)
    throw IoError(fmt::format("{}: checksum {} differs from the stored '{}' (run 'moerge library verify')",
                              dataset.where(), actual, expected));
  return out;
}

namespace {

/// Copy every attribute of `src` to `dst` with its own type and shape (the library writes
/// fixed-length strings and numbers only).
void copy_attributes(const h5::Handle& src, const h5::Handle& dst) {
  const std::string where = src.where();
  H5O_info_t info{};
  h5::check(H5Oget_info2(src.id(), &info, H5O_INFO_NUM_ATTRS), where, "H5Oget_info2");
  for (hsize_t attr_idx = 0; attr_idx < info.num_attrs; ++attr_idx) {
    h5::Handle attr(
        H5Aopen_by_idx(src.id(), ".", H5_INDEX_NAME, H5_ITER_INC, attr_idx, H5P_DEFAULT, H5P_DEFAULT),
        src.file(), src.object(), "cannot open attribute");
    const ssize_t n_name = h5::check(H5Aget_name(attr.id(), 0, nullptr), where, "H5Aget_name");
    std::string name(static_cast<std::size_t>(n_name) + 1, '\0');
    h5::check(H5Aget_name(attr.id(), name.size(), name.data()), where, "H5Aget_name");
    name.resize(static_cast<std::size_t>(n_name));
    h5::Handle type(H5Aget_type(attr.id()), src.file(), src.object(), "H5Aget_type");
    h5::Handle space(H5Aget_space(attr.id()), src.file(), src.object(), "H5Aget_space");
    if (h5::check(H5Tis_variable_str(type.id()), where, "H5Tis_variable_str") > 0 ||
        h5::check(H5Tdetect_class(type.id(), H5T_VLEN), where, "H5Tdetect_class") > 0)
      throw IoError(fmt::format("{}: attribute '{}' has a variable-length type, which moerge does not write",
                                where, name));
    const hssize_t n_point =
        h5::check(H5Sget_simple_extent_npoints(space.id()), where, "H5Sget_simple_extent_npoints");
    const std::size_t n_byte = H5Tget_size(type.id()) * static_cast<std::size_t>(n_point);
    std::vector<std::byte> buffer(std::max<std::size_t>(n_byte, 1));
    h5::check(H5Aread(attr.id(), type.id(), buffer.data()), where,
              fmt::format("cannot read attribute '{}'", name));
    if (h5::check(H5Aexists(dst.id(), name.c_str()), dst.where(), "H5Aexists") > 0)
      h5::check(H5Adelete(dst.id(), name.c_str()), dst.where(),
                fmt::format("cannot replace attribute '{}'", name));
    h5::Handle copy(H5Acreate2(dst.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                    dst.file(), dst.object(), "cannot create attribute");
    h5::check(H5Awrite(copy.id(), type.id(), buffer.data()), dst.where(),
              fmt::format("cannot write attribute '{}'", name));
  }
}

/// Copy the object at `path` of `src` (a group with everything below it, or a dataset, with
/// their attributes) to the same path of `dst`, whose parent group exists.
void copy_object(const h5::Handle& src, const h5::Handle& dst, const std::string& path) {
  h5::check(H5Ocopy(src.id(), path.c_str(), dst.id(), path.c_str(), H5P_DEFAULT, H5P_DEFAULT),
            fmt::format("{}:{}", dst.file(), path), fmt::format("cannot copy {} from {}", path, src.file()));
}

/// The new file of one StatsUpdate, written at `temp`.
void write_stats_file(const fs::path& source, const fs::path& temp, const StatsUpdate& update) {
  for (const auto& dataset : update.datasets) {
    const auto kind_of = [](std::string_view path) {
      path.remove_prefix(std::string_view("/stats/").size());
      return std::string(path.substr(0, path.find('/')));
    };
    if (!dataset.path.starts_with("/stats/") ||
        std::find(update.kinds.begin(), update.kinds.end(), kind_of(dataset.path)) == update.kinds.end())
      throw Error(fmt::format(
          "store_stats: dataset {} of expert '{}' is not below /stats/<one of the kinds replaced>",
          dataset.path, update.name));
  }
  auto src = h5::open_file(source);
  auto dst = h5::create_file(temp);
  copy_attributes(src, dst);
  auto src_root = h5::open_group(src, "/");
  for (const auto& child : h5::children(src_root)) {
    if (child != "stats") {
      copy_object(src, dst, "/" + child);
      continue;
    }
    auto src_stats = h5::open_group(src, "/stats");
    auto dst_stats = h5::create_group(dst, "/stats");
    copy_attributes(src_stats, dst_stats);
    for (const auto& kind : h5::children(src_stats))
      if (std::find(update.kinds.begin(), update.kinds.end(), kind) == update.kinds.end())
        copy_object(src, dst, "/stats/" + kind);
  }
  src_root.close();
  src.close();
  for (const auto& item : update.datasets) {
    auto dataset = h5::write_dataset(dst, item.path, item.dtype, item.shape, item.data);
    if (!item.key.empty()) h5::write_attr(dataset, "key", item.key);
    dataset.close();
  }
  for (const auto& [path, attrs] : update.attrs) {
    if (!path.starts_with("/stats/") || !h5::exists(dst, path))
      throw Error(
          fmt::format("store_stats: attributes for {}, which expert '{}' does not get", path, update.name));
    const H5O_type_t type = [&] {
      H5O_info_t info{};
      h5::check(H5Oget_info_by_name2(dst.id(), path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT),
                fmt::format("{}:{}", temp.string(), path), "H5Oget_info_by_name2");
      return info.type;
    }();
    auto object = type == H5O_TYPE_DATASET ? h5::open_dataset(dst, path) : h5::open_group(dst, path);
    for (const auto& [name, value] : attrs) h5::write_attr(object, name, value);
  }
  dst.close();
}

}  // namespace

std::vector<CatalogueEntry> store_stats(Library& library, const std::vector<StatsUpdate>& updates,
                                        const comm::Comm& comm) {
  const fs::path& dir = library.dir();
  std::unique_ptr<DirLock> lock;
  run_agreed(comm, [&] {
    if (comm.is_root()) lock = std::make_unique<DirLock>(dir);
  });
  // Rank 0 holds the lock: the catalogue read here stays current until the index is rewritten.
  std::vector<CatalogueEntry> mine;
  std::vector<std::unique_ptr<AtomicPath>> pending;
  run_agreed(comm, [&] {
    library.reload();
    for (const auto& update : updates) {
      CatalogueEntry entry = library.entry(update.name);
      if (entry.kind != ObjectKind::lora && entry.kind != ObjectKind::full)
        throw InputError(fmt::format("{}: '{}' is a {} object; statistics belong to experts (lora or full)",
                                     dir.string(), entry.name, kind_name(entry.kind)));
      if (entry.sha256 != update.expected_sha256)
        throw InputError(fmt::format(
            "{}: expert '{}' changed while its statistics were computed (SHA-256 {} in the catalogue, {} "
            "read); run the command again",
            (dir / entry.file).string(), entry.name, entry.sha256, update.expected_sha256));
      check_sha256(dir, entry);
      open_checked(dir, entry).close();
      const fs::path final_path = dir / entry.file;
      pending.push_back(std::make_unique<AtomicPath>(final_path, /*overwrite=*/true));
      write_stats_file(final_path, pending.back()->temp(), update);
      entry.size = fs::file_size(pending.back()->temp());
      entry.sha256 = hash::sha256_file(pending.back()->temp());
      mine.push_back(std::move(entry));
    }
  });
  run_agreed(comm, [&] {
    for (auto& atomic : pending) atomic->commit();
  });
  json mine_json = json::array();
  for (const auto& entry : mine) mine_json.push_back(entry_to_json(entry));
  std::vector<CatalogueEntry> changed;
  for (const auto& text : comm.allgather(mine_json.dump()))
    for (const auto& item : json::parse(text)) changed.push_back(entry_from_json(item));
  run_agreed(comm, [&] {
    if (!comm.is_root() || changed.empty()) return;
    std::vector<CatalogueEntry> next;
    for (const auto& entry : library.catalogue()) {
      const auto found = std::find_if(changed.begin(), changed.end(),
                                      [&](const auto& item) { return item.name == entry.name; });
      next.push_back(found == changed.end() ? entry : *found);
    }
    write_index(dir, next);
  });
  lock.reset();
  run_agreed(comm, [&] { library.reload(); });
  return changed;
}

}  // namespace moerge::io
