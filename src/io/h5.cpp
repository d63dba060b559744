// The HDF5 layer (see include/moerge/io/h5.hpp): handles, checked helpers, dtype map, file access.
#include "moerge/io/h5.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

#include "moerge/core/error.hpp"
#include "moerge/core/hash.hpp"
#include "moerge/core/log.hpp"

namespace fs = std::filesystem;

namespace moerge::io::h5 {

namespace {

// Largest attribute string accepted from a file, checked before allocating.
constexpr std::size_t kMaxAttrBytes = 256u << 20;

herr_t collect_frame(unsigned n_frame, const H5E_error2_t* frame, void* client) {
  auto& text = *static_cast<std::string*>(client);
  std::array<char, 256> minor{};
  if (H5Eget_msg(frame->min_num, nullptr, minor.data(), minor.size()) < 0) minor[0] = '\0';
  if (n_frame > 0) text += " <- ";
  text += fmt::format("{}(): {}", frame->func_name != nullptr ? frame->func_name : "?",
                      frame->desc != nullptr ? frame->desc : "");
  if (minor[0] != '\0') text += fmt::format(" ({})", minor.data());
  std::replace(text.begin(), text.end(), '\n', ' ');  // some descriptions span lines
  return 0;
}

std::string join_path(std::string_view base, std::string_view name) {
  if (!name.empty() && name.front() == '/') return std::string(name);
  if (base.empty() || base == "/") return "/" + std::string(name);
  return std::string(base) + "/" + std::string(name);
}

void log_locking_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    log::debug(
        "HDF5 file locking is on at best effort: where the filesystem has no flock (some NFS "
        "and Lustre mounts) HDF5 opens files without a lock");
  });
}

Handle make_plist(hid_t plist_class, std::string_view where) {
  return Handle(H5Pcreate(plist_class), std::string(where), "", "cannot create a property list");
}

Handle serial_fapl(std::string_view where) {
  Handle fapl = make_plist(H5P_FILE_ACCESS, where);
  check(H5Pset_fapl_sec2(fapl.id()), where, "H5Pset_fapl_sec2");
  check(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), where, "H5Pset_libver_bounds");
  check(H5Pset_fclose_degree(fapl.id(), H5F_CLOSE_SEMI), where, "H5Pset_fclose_degree");
  check(H5Pset_file_locking(fapl.id(), true, true), where, "H5Pset_file_locking");
  log_locking_once();
  return fapl;
}

// Object creation properties shared by groups, datasets and the file's root group: no access or
// modification times, so the same content always gives the same bytes.
void untimed(hid_t ocpl, std::string_view where) {
  check(H5Pset_obj_track_times(ocpl, false), where, "H5Pset_obj_track_times");
}

Handle untimed_gcpl(std::string_view where) {
  Handle gcpl = make_plist(H5P_GROUP_CREATE, where);
  untimed(gcpl.id(), where);
  return gcpl;
}

// Create every missing group above the last component of `path`, without timestamps (the groups
// HDF5 creates implicitly for H5Pset_create_intermediate_group would carry them).
void create_parents(const Handle& loc, const std::string& path) {
  const std::size_t last = path.rfind('/');
  if (last == std::string::npos || last == 0) return;
  std::string prefix = path.starts_with('/') ? "/" : "";
  std::size_t start = path.starts_with('/') ? 1 : 0;
  while (start < last) {
    const std::size_t end = std::min(path.find('/', start), last);
    if (end > start) {
      prefix += path.substr(start, end - start);
      const htri_t found = H5Lexists(loc.id(), prefix.c_str(), H5P_DEFAULT);
      check(found, loc.where(), fmt::format("H5Lexists({})", prefix));
      if (found == 0) {
        Handle gcpl = untimed_gcpl(loc.where());
        Handle group(H5Gcreate2(loc.id(), prefix.c_str(), H5P_DEFAULT, gcpl.id(), H5P_DEFAULT), loc.file(),
                     loc.child_path(prefix), "cannot create group");
        group.close();
      }
      prefix += "/";
    }
    start = end + 1;
  }
}

Handle make_float16_type(unsigned exponent_pos, unsigned exponent_size, unsigned mantissa_size,
                         unsigned ebias) {
  silence_errors();
  Handle type(H5Tcopy(H5T_IEEE_F32LE), "", "", "H5Tcopy(H5T_IEEE_F32LE)");
  check(H5Tset_fields(type.id(), 15, exponent_pos, exponent_size, 0, mantissa_size), "16-bit float type",
        "H5Tset_fields");
  check(H5Tset_offset(type.id(), 0), "16-bit float type", "H5Tset_offset");
  check(H5Tset_precision(type.id(), 16), "16-bit float type", "H5Tset_precision");
  check(H5Tset_size(type.id(), 2), "16-bit float type", "H5Tset_size");
  check(H5Tset_ebias(type.id(), ebias), "16-bit float type", "H5Tset_ebias");
  return type;
}

bool float_has_fields(hid_t type, std::size_t exponent_pos, std::size_t exponent_size,
                      std::size_t mantissa_size, std::size_t ebias) {
  std::size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
  if (H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) < 0) return false;
  return spos == 15 && epos == exponent_pos && esize == exponent_size && mpos == 0 &&
         msize == mantissa_size && H5Tget_ebias(type) == ebias && H5Tget_offset(type) == 0 &&
         H5Tget_precision(type) == 16;
}

Handle string_type(std::size_t n_char, std::string_view where) {
  Handle type(H5Tcopy(H5T_C_S1), std::string(where), "", "H5Tcopy(H5T_C_S1)");
  check(H5Tset_size(type.id(), std::max<std::size_t>(n_char, 1)), where, "H5Tset_size");
  check(H5Tset_strpad(type.id(), H5T_STR_NULLPAD), where, "H5Tset_strpad");
  check(H5Tset_cset(type.id(), H5T_CSET_UTF8), where, "H5Tset_cset");
  return type;
}

Handle scalar_space(std::string_view where) {
  return Handle(H5Screate(H5S_SCALAR), std::string(where), "", "H5Screate(H5S_SCALAR)");
}

Handle open_attr(const Handle& obj, const std::string& name) {
  const std::string where = obj.where();
  if (check(H5Aexists(obj.id(), name.c_str()), where, fmt::format("attribute '{}': H5Aexists", name)) <= 0)
    throw IoError(fmt::format("{}: attribute '{}' is missing", where, name));
  return Handle(H5Aopen(obj.id(), name.c_str(), H5P_DEFAULT), obj.file(), obj.object(),
                fmt::format("attribute '{}': cannot open", name));
}

void write_attr_raw(const Handle& obj, const std::string& name, hid_t type, const void* value) {
  const std::string where = obj.where();
  if (check(H5Aexists(obj.id(), name.c_str()), where, fmt::format("attribute '{}': H5Aexists", name)) > 0)
    check(H5Adelete(obj.id(), name.c_str()), where, fmt::format("attribute '{}': cannot replace", name));
  Handle space = scalar_space(where);
  Handle attr(H5Acreate2(obj.id(), name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT), obj.file(),
              obj.object(), fmt::format("attribute '{}': cannot create", name));
  check(H5Awrite(attr.id(), type, value), where, fmt::format("attribute '{}': cannot write", name));
  attr.close();
}

std::vector<std::int64_t> extent(hid_t space, std::string_view where) {
  const int rank = check(H5Sget_simple_extent_ndims(space), where, "H5Sget_simple_extent_ndims");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0)
    check(H5Sget_simple_extent_dims(space, dims.data(), nullptr), where, "H5Sget_simple_extent_dims");
  return {dims.begin(), dims.end()};
}

std::string read_attr_text(const Handle& attr, const std::string& name) {
  const std::string where = attr.where();
  Handle type(H5Aget_type(attr.id()), attr.file(), attr.object(),
              fmt::format("attribute '{}': H5Aget_type", name));
  if (H5Tget_class(type.id()) != H5T_STRING)
    throw IoError(fmt::format("{}: attribute '{}' is not a string", where, name));
  Handle space(H5Aget_space(attr.id()), attr.file(), attr.object(), "H5Aget_space");
  if (H5Sget_simple_extent_type(space.id()) != H5S_SCALAR)
    throw IoError(fmt::format("{}: attribute '{}' is not a scalar", where, name));
  if (check(H5Tis_variable_str(type.id()), where, "H5Tis_variable_str") > 0) {
    Handle mem = string_type(1, where);
    check(H5Tset_size(mem.id(), H5T_VARIABLE), where, "H5Tset_size(H5T_VARIABLE)");
    char* text = nullptr;
    check(H5Aread(attr.id(), mem.id(), &text), where, fmt::format("attribute '{}': cannot read", name));
    std::string out = text != nullptr ? std::string(text) : std::string();
    H5free_memory(text);
    return out;
  }
  const std::size_t n_char = H5Tget_size(type.id());
  if (n_char == 0 || n_char > kMaxAttrBytes)
    throw IoError(fmt::format("{}: attribute '{}' has an implausible size {}", where, name, n_char));
  std::string out(n_char, '\0');
  check(H5Aread(attr.id(), type.id(), out.data()), where, fmt::format("attribute '{}': cannot read", name));
  const auto end = out.find_last_not_of('\0');
  out.resize(end == std::string::npos ? 0 : end + 1);
  return out;
}

struct VisitState {
  std::string base;
  std::vector<std::string> datasets;
};

herr_t visit_link(hid_t group, const char* name, const H5L_info_t* info, void* client) {
  auto& state = *static_cast<VisitState*>(client);
  if (info->type != H5L_TYPE_HARD) return 0;
  H5O_info_t object{};
  if (H5Oget_info_by_name2(group, name, &object, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
  if (object.type == H5O_TYPE_DATASET) state.datasets.push_back(join_path(state.base, name));
  return 0;
}

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* client) {
  static_cast<std::vector<std::string>*>(client)->emplace_back(name);
  return 0;
}

herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* client) {
  static_cast<std::vector<std::string>*>(client)->emplace_back(name);
  return 0;
}

}  // namespace

// --- errors --------------------------------------------------------------------------------------

void silence_errors() {
  thread_local bool silenced = false;
  if (silenced) return;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  silenced = true;
}

std::string error_stack_text() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_frame, &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? std::string("no HDF5 error stack") : text;
}

void throw_error(std::string_view where, std::string_view what) {
  throw IoError(fmt::format("{}: {}: {}", where, what, error_stack_text()));
}

// --- Handle --------------------------------------------------------------------------------------

Handle::Handle(hid_t id, std::string file, std::string object, std::string_view what)
    : id_(id), file_(std::move(file)), object_(std::move(object)) {
  if (id_ < 0) {
    id_ = H5I_INVALID_HID;
    throw_error(where(), what);
  }
}

Handle::~Handle() { close_noexcept(); }

Handle::Handle(Handle&& other) noexcept
    : id_(std::exchange(other.id_, H5I_INVALID_HID)),
      file_(std::move(other.file_)),
      object_(std::move(other.object_)) {}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    close_noexcept();
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    file_ = std::move(other.file_);
    object_ = std::move(other.object_);
  }
  return *this;
}

std::string Handle::where() const {
  if (object_.empty()) return file_;
  if (file_.empty()) return object_;
  return file_ + ":" + object_;
}

std::string Handle::child_path(std::string_view name) const { return join_path(object_, name); }

namespace {
herr_t close_id(hid_t id) {
  switch (H5Iget_type(id)) {
    case H5I_FILE:
      return H5Fclose(id);
    case H5I_GROUP:
      return H5Gclose(id);
    case H5I_DATASET:
      return H5Dclose(id);
    case H5I_ATTR:
      return H5Aclose(id);
    case H5I_DATATYPE:
      return H5Tclose(id);
    case H5I_DATASPACE:
      return H5Sclose(id);
    case H5I_GENPROP_LST:
      return H5Pclose(id);
    default:
      return H5Idec_ref(id) < 0 ? -1 : 0;
  }
}
}  // namespace

void Handle::close() {
  if (id_ < 0) return;
  // On failure the id stays owned, so the destructor tries again (e.g. a file whose objects are
  // still open closes once they are).
  if (close_id(id_) < 0) throw_error(where(), "cannot close");
  id_ = H5I_INVALID_HID;
}

void Handle::close_noexcept() noexcept {
  if (id_ < 0) return;
  const hid_t id = std::exchange(id_, H5I_INVALID_HID);
  if (close_id(id) < 0) {
    try {
      log::warn("{}: closing an HDF5 handle failed: {}", where(), error_stack_text());
    } catch (...) {
      // Logging must not throw out of a destructor.
    }
  }
}

// --- files ---------------------------------------------------------------------------------------

Handle create_file(const fs::path& path) {
  silence_errors();
  const std::string where = path.string();
  Handle fcpl = make_plist(H5P_FILE_CREATE, where);
  untimed(fcpl.id(), where);
  Handle fapl = serial_fapl(where);
  return Handle(H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl.id(), fapl.id()), where, "",
                "cannot create HDF5 file");
}

Handle open_file(const fs::path& path, Access access) {
  silence_errors();
  const std::string where = path.string();
  Handle fapl = serial_fapl(where);
  const unsigned flags = access == Access::read_write ? H5F_ACC_RDWR : H5F_ACC_RDONLY;
  return Handle(H5Fopen(path.c_str(), flags, fapl.id()), where, "", "cannot open HDF5 file");
}

Handle open_file_parallel(const fs::path& path, const comm::Comm& comm) {
  silence_errors();
  const std::string where = path.string();
  Handle fapl = make_plist(H5P_FILE_ACCESS, where);
  check(H5Pset_fapl_mpio(fapl.id(), comm.raw(), MPI_INFO_NULL), where, "H5Pset_fapl_mpio");
  check(H5Pset_all_coll_metadata_ops(fapl.id(), true), where, "H5Pset_all_coll_metadata_ops");
  check(H5Pset_coll_metadata_write(fapl.id(), true), where, "H5Pset_coll_metadata_write");
  check(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), where, "H5Pset_libver_bounds");
  check(H5Pset_file_locking(fapl.id(), true, true), where, "H5Pset_file_locking");
  log_locking_once();
  return Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.id()), where, "",
                "cannot open HDF5 file with MPI-IO");
}

bool is_hdf5(const fs::path& path) {
  silence_errors();
  const htri_t rc = H5Fis_hdf5(path.c_str());
  if (rc < 0) H5Eclear2(H5E_DEFAULT);
  return rc > 0;
}

// --- types ---------------------------------------------------------------------------------------

Handle bf16_type() { return make_float16_type(7, 8, 7, 127); }
Handle f16_type() { return make_float16_type(10, 5, 10, 15); }

Handle file_type(DType dtype) {
  silence_errors();
  hid_t base = H5I_INVALID_HID;
  switch (dtype) {
    case DType::BF16:
      return bf16_type();
    case DType::F16:
      return f16_type();
    case DType::F32:
      base = H5T_IEEE_F32LE;
      break;
    case DType::F64:
      base = H5T_IEEE_F64LE;
      break;
    case DType::I8:
      base = H5T_STD_I8LE;
      break;
    case DType::I16:
      base = H5T_STD_I16LE;
      break;
    case DType::I32:
      base = H5T_STD_I32LE;
      break;
    case DType::I64:
      base = H5T_STD_I64LE;
      break;
    case DType::U16:
      base = H5T_STD_U16LE;
      break;
    case DType::U32:
      base = H5T_STD_U32LE;
      break;
    case DType::U64:
      base = H5T_STD_U64LE;
      break;
    case DType::U8:
    case DType::BOOL:
    case DType::F8_E5M2:
    case DType::F8_E4M3:
      base = H5T_STD_U8LE;
      break;
  }
  return Handle(H5Tcopy(base), "", "", fmt::format("H5Tcopy for dtype {}", dtype_name(dtype)));
}

DType dtype_of(hid_t type, std::string_view dtype_attr, std::string_view where) {
  std::optional<DType> from_attr;
  if (!dtype_attr.empty()) {
    from_attr = dtype_from_name(dtype_attr);
    if (!from_attr)
      throw IoError(fmt::format("{}: unknown dtype '{}' in the dtype attribute", where, dtype_attr));
  }
  const H5T_class_t type_class = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (H5Tget_order(type) != H5T_ORDER_LE && size > 1)
    throw IoError(fmt::format("{}: stored type is not little-endian", where));
  std::optional<DType> from_type;
  if (type_class == H5T_FLOAT) {
    if (size == 2 && float_has_fields(type, 7, 8, 7, 127))
      from_type = DType::BF16;
    else if (size == 2 && float_has_fields(type, 10, 5, 10, 15))
      from_type = DType::F16;
    else if (size == 4 && H5Tequal(type, H5T_IEEE_F32LE) > 0)
      from_type = DType::F32;
    else if (size == 8 && H5Tequal(type, H5T_IEEE_F64LE) > 0)
      from_type = DType::F64;
  } else if (type_class == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    switch (size) {
      case 1:
        from_type = is_signed ? DType::I8 : DType::U8;
        break;
      case 2:
        from_type = is_signed ? DType::I16 : DType::U16;
        break;
      case 4:
        from_type = is_signed ? DType::I32 : DType::U32;
        break;
      case 8:
        from_type = is_signed ? DType::I64 : DType::U64;
        break;
      default:
        break;
    }
  }
  H5Eclear2(H5E_DEFAULT);
  if (!from_type)
    throw IoError(fmt::format("{}: stored HDF5 type (class {}, {} bytes) is not one moerge writes", where,
                              static_cast<int>(type_class), size));
  if (!from_attr) return *from_type;
  const bool carrier =
      *from_type == DType::U8 &&
      (*from_attr == DType::BOOL || *from_attr == DType::F8_E5M2 || *from_attr == DType::F8_E4M3);
  if (*from_attr != *from_type && !carrier)
    throw IoError(fmt::format("{}: dtype attribute says {} but the stored type is {}", where, dtype_attr,
                              dtype_name(*from_type)));
  return *from_attr;
}

// --- groups and links ----------------------------------------------------------------------------

Handle create_group(const Handle& loc, const std::string& path) {
  const std::string object = loc.child_path(path);
  create_parents(loc, path);
  Handle gcpl = untimed_gcpl(loc.where());
  return Handle(H5Gcreate2(loc.id(), path.c_str(), H5P_DEFAULT, gcpl.id(), H5P_DEFAULT), loc.file(), object,
                "cannot create group");
}

Handle open_group(const Handle& loc, const std::string& path) {
  return Handle(H5Gopen2(loc.id(), path.c_str(), H5P_DEFAULT), loc.file(), loc.child_path(path),
                "cannot open group");
}

bool exists(const Handle& loc, const std::string& path) {
  std::string prefix = path.starts_with('/') ? "/" : "";
  std::size_t start = path.starts_with('/') ? 1 : 0;
  while (start < path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (end > start) {
      prefix += path.substr(start, end - start);
      const htri_t rc = H5Lexists(loc.id(), prefix.c_str(), H5P_DEFAULT);
      if (rc < 0) H5Eclear2(H5E_DEFAULT);
      if (rc <= 0) return false;
      prefix += "/";
    }
    start = end + 1;
  }
  return true;
}

std::vector<std::string> children(const Handle& group) {
  std::vector<std::string> names;
  check(H5Literate(group.id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &names), group.where(),
        "cannot list the group");
  std::sort(names.begin(), names.end());
  return names;
}

void create_external_link(const Handle& loc, const std::string& name, const std::string& target_file,
                          const std::string& target_object) {
  create_parents(loc, name);
  check(H5Lcreate_external(target_file.c_str(), target_object.c_str(), loc.id(), name.c_str(), H5P_DEFAULT,
                           H5P_DEFAULT),
        loc.where(),
        fmt::format("cannot create external link '{}' -> {}:{}", name, target_file, target_object));
}

std::vector<std::string> list_datasets(const Handle& loc) {
  VisitState state{loc.object().empty() ? "/" : loc.object(), {}};
  check(H5Lvisit(loc.id(), H5_INDEX_NAME, H5_ITER_INC, visit_link, &state), loc.where(),
        "cannot list datasets");
  std::sort(state.datasets.begin(), state.datasets.end());
  return state.datasets;
}

// --- attributes ----------------------------------------------------------------------------------

void write_attr(const Handle& obj, const std::string& name, std::string_view text) {
  Handle type = string_type(text.size(), obj.where());
  // A zero-length string is stored as one NUL (HDF5 has no zero-size fixed string).
  const std::string padded = text.empty() ? std::string(1, '\0') : std::string(text);
  write_attr_raw(obj, name, type.id(), padded.data());
}

void write_attr(const Handle& obj, const std::string& name, const char* text) {
  write_attr(obj, name, std::string_view(text));
}

void write_attr(const Handle& obj, const std::string& name, std::int64_t value) {
  write_attr_raw(obj, name, H5T_STD_I64LE, &value);
}

void write_attr(const Handle& obj, const std::string& name, double value) {
  write_attr_raw(obj, name, H5T_IEEE_F64LE, &value);
}

bool has_attr(const Handle& obj, const std::string& name) {
  return check(H5Aexists(obj.id(), name.c_str()), obj.where(),
               fmt::format("attribute '{}': H5Aexists", name)) > 0;
}

std::string read_attr_string(const Handle& obj, const std::string& name) {
  Handle attr = open_attr(obj, name);
  return read_attr_text(attr, name);
}

std::int64_t read_attr_int(const Handle& obj, const std::string& name) {
  Handle attr = open_attr(obj, name);
  Handle type(H5Aget_type(attr.id()), obj.file(), obj.object(), "H5Aget_type");
  if (H5Tget_class(type.id()) != H5T_INTEGER)
    throw IoError(fmt::format("{}: attribute '{}' is not an integer", obj.where(), name));
  std::int64_t value = 0;
  check(H5Aread(attr.id(), H5T_NATIVE_INT64, &value), obj.where(),
        fmt::format("attribute '{}': cannot read", name));
  return value;
}

double read_attr_double(const Handle& obj, const std::string& name) {
  Handle attr = open_attr(obj, name);
  Handle type(H5Aget_type(attr.id()), obj.file(), obj.object(), "H5Aget_type");
  const H5T_class_t type_class = H5Tget_class(type.id());
  if (type_class != H5T_FLOAT && type_class != H5T_INTEGER)
    throw IoError(fmt::format("{}: attribute '{}' is not a number", obj.where(), name));
  double value = 0;
  check(H5Aread(attr.id(), H5T_NATIVE_DOUBLE, &value), obj.where(),
        fmt::format("attribute '{}': cannot read", name));
  return value;
}

std::map<std::string, std::string> read_attrs_as_text(const Handle& obj) {
  std::vector<std::string> names;
  check(H5Aiterate2(obj.id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attr_name, &names), obj.where(),
        "cannot list attributes");
  std::map<std::string, std::string> out;
  for (const auto& name : names) {
    Handle attr = open_attr(obj, name);
    Handle type(H5Aget_type(attr.id()), obj.file(), obj.object(), "H5Aget_type");
    switch (H5Tget_class(type.id())) {
      case H5T_STRING:
        out[name] = read_attr_text(attr, name);
        break;
      case H5T_INTEGER:
        out[name] = std::to_string(read_attr_int(obj, name));
        break;
      case H5T_FLOAT:
        out[name] = fmt::format("{}", read_attr_double(obj, name));
        break;
      default:
        out[name] = "(unsupported attribute type)";
        break;
    }
  }
  return out;
}

// --- datasets ------------------------------------------------------------------------------------

std::uint64_t DatasetShape::numel() const {
  std::uint64_t n = 1;
  for (const auto dim : shape) n *= static_cast<std::uint64_t>(dim);
  return n;
}

std::string checksum_text(std::span<const std::byte> bytes) { return "xxh3:" + hash::xxh3_hex(bytes); }

Handle create_dataset(const Handle& loc, const std::string& path, DType dtype,
                      const std::vector<std::int64_t>& shape) {
  const std::string object = loc.child_path(path);
  const std::string where = loc.file() + ":" + object;
  std::vector<hsize_t> dims;
  for (const auto dim : shape) {
    if (dim < 0) throw InputError(fmt::format("{}: negative dimension {} in the shape", where, dim));
    dims.push_back(static_cast<hsize_t>(dim));
  }
  Handle space = dims.empty() ? scalar_space(where)
                              : Handle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                                       loc.file(), object, "H5Screate_simple");
  Handle type = file_type(dtype);
  Handle dcpl = make_plist(H5P_DATASET_CREATE, where);
  check(H5Pset_layout(dcpl.id(), H5D_CONTIGUOUS), where, "H5Pset_layout");
  check(H5Pset_alloc_time(dcpl.id(), H5D_ALLOC_TIME_EARLY), where, "H5Pset_alloc_time");
  check(H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_NEVER), where, "H5Pset_fill_time");
  untimed(dcpl.id(), where);
  create_parents(loc, path);
  Handle dataset(
      H5Dcreate2(loc.id(), path.c_str(), type.id(), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
      loc.file(), object, "cannot create dataset");
  write_attr(dataset, "dtype", dtype_name(dtype));
  return dataset;
}

Handle write_dataset(const Handle& loc, const std::string& path, DType dtype,
                     const std::vector<std::int64_t>& shape, std::span<const std::byte> data) {
  std::uint64_t numel = 1;
  for (const auto dim : shape) numel *= static_cast<std::uint64_t>(std::max<std::int64_t>(dim, 0));
  if (data.size() != numel * dtype_size(dtype))
    throw InputError(fmt::format("{}:{}: {} bytes given for {} elements of {}", loc.file(),
                                 loc.child_path(path), data.size(), numel, dtype_name(dtype)));
  Handle dataset = create_dataset(loc, path, dtype, shape);
  if (numel > 0) {
    Handle type(H5Dget_type(dataset.id()), dataset.file(), dataset.object(), "H5Dget_type");
    check(H5Dwrite(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), dataset.where(),
          "cannot write dataset");
  }
  write_attr(dataset, "checksum", checksum_text(data));
  return dataset;
}

namespace {

/// A file descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// Copy `n_bytes` of `in` from `in_offset` to `out` at `out_offset` through a buffer that stays in
/// the core's L2 cache, and return the XXH3-64 of exactly the bytes written. (Measured here: as
/// fast as a kernel-side copy_file_range followed by a separate checksum pass, with one read.)
std::uint64_t copy_and_checksum(int in, std::uint64_t in_offset, int out, std::uint64_t out_offset,
                                std::uint64_t n_bytes, const std::string& where, const fs::path& source) {
  constexpr std::size_t kBuffer = 256u << 10;
  const auto buffer = std::make_unique<std::byte[]>(kBuffer);
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), XXH3_freeState);
  if (!state || XXH3_64bits_reset(state.get()) != XXH_OK) throw Error("xxhash: cannot create an XXH3 state");
  for (std::uint64_t done = 0; done < n_bytes;) {
    const auto n_want = static_cast<std::size_t>(std::min<std::uint64_t>(kBuffer, n_bytes - done));
    const ssize_t n_read = ::pread(in, buffer.get(), n_want, static_cast<off_t>(in_offset + done));
    if (n_read < 0 && errno == EINTR) continue;
    if (n_read < 0)
      throw IoError(fmt::format("{}: cannot read {} at offset {}: {}", where, source.string(),
                                in_offset + done, std::strerror(errno)));
    if (n_read == 0)
      throw IoError(fmt::format("{}: {} ends at offset {}, {} bytes short of the tensor", where,
                                source.string(), in_offset + done, n_bytes - done));
    if (XXH3_64bits_update(state.get(), buffer.get(), static_cast<std::size_t>(n_read)) != XXH_OK)
      throw Error("xxhash: XXH3 update failed");
    for (ssize_t n_written = 0; n_written < n_read;) {
      const ssize_t rc = ::pwrite(out, buffer.get() + n_written, static_cast<std::size_t>(n_read - n_written),
                                  static_cast<off_t>(out_offset + done) + n_written);
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0)
        throw IoError(fmt::format("{}: cannot write at offset {}: {}", where, out_offset + done + n_written,
                                  rc < 0 ? std::strerror(errno) : "nothing written"));
      n_written += rc;
    }
    done += static_cast<std::uint64_t>(n_read);
  }
  return XXH3_64bits_digest(state.get());
}

}  // namespace

Handle write_dataset_copy(const Handle& loc, const std::string& path, DType dtype,
                          const std::vector<std::int64_t>& shape, const fs::path& source,
                          std::uint64_t source_offset, std::uint64_t n_bytes) {
  std::uint64_t numel = 1;
  for (const auto dim : shape) numel *= static_cast<std::uint64_t>(std::max<std::int64_t>(dim, 0));
  if (n_bytes != numel * dtype_size(dtype))
    throw InputError(fmt::format("{}:{}: {} bytes given for {} elements of {}", loc.file(),
                                 loc.child_path(path), n_bytes, numel, dtype_name(dtype)));
  Handle dataset = create_dataset(loc, path, dtype, shape);
  std::uint64_t checksum = hash::xxh3({});
  if (n_bytes > 0) {
    const std::uint64_t offset = storage_offset(dataset);
    const Fd in{::open(source.c_str(), O_RDONLY | O_CLOEXEC)};
    if (in.fd < 0)
      throw IoError(
          fmt::format("{}: cannot open {}: {}", dataset.where(), source.string(), std::strerror(errno)));
    const Fd out{::open(dataset.file().c_str(), O_WRONLY | O_CLOEXEC)};
    if (out.fd < 0)
      throw IoError(
          fmt::format("{}: cannot open to write raw data: {}", dataset.where(), std::strerror(errno)));
    checksum = copy_and_checksum(in.fd, source_offset, out.fd, offset, n_bytes, dataset.where(), source);
  }
  write_attr(dataset, "checksum", fmt::format("xxh3:{:016x}", checksum));
  return dataset;
}

Handle open_dataset(const Handle& loc, const std::string& path) {
  return Handle(H5Dopen2(loc.id(), path.c_str(), H5P_DEFAULT), loc.file(), loc.child_path(path),
                "cannot open dataset");
}

DatasetShape dataset_shape(const Handle& dataset) {
  const std::string where = dataset.where();
  Handle type(H5Dget_type(dataset.id()), dataset.file(), dataset.object(), "H5Dget_type");
  Handle space(H5Dget_space(dataset.id()), dataset.file(), dataset.object(), "H5Dget_space");
  const std::string dtype_attr =
      has_attr(dataset, "dtype") ? read_attr_string(dataset, "dtype") : std::string();
  DatasetShape out;
  out.dtype = dtype_of(type.id(), dtype_attr, where);
  out.shape = extent(space.id(), where);
  out.n_bytes = out.numel() * dtype_size(out.dtype);
  return out;
}

void read_dataset(const Handle& dataset, std::span<std::byte> dst) {
  const DatasetShape shape = dataset_shape(dataset);
  if (dst.size() != shape.n_bytes)
    throw IoError(fmt::format("{}: read buffer of {} bytes for a dataset of {} bytes", dataset.where(),
                              dst.size(), shape.n_bytes));
  if (shape.n_bytes == 0) return;
  Handle type(H5Dget_type(dataset.id()), dataset.file(), dataset.object(), "H5Dget_type");
  check(H5Dread(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, dst.data()), dataset.where(),
        "cannot read dataset");
}

std::string compute_checksum(const Handle& dataset, std::uint64_t max_block_bytes) {
  const DatasetShape shape = dataset_shape(dataset);
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), XXH3_freeState);
  if (!state || XXH3_64bits_reset(state.get()) != XXH_OK) throw Error("xxhash: cannot create an XXH3 state");
  if (shape.shape.empty() || shape.n_bytes == 0) {
    std::vector<std::byte> bytes(shape.n_bytes);
    read_dataset(dataset, bytes);
    return checksum_text(bytes);
  }
  const auto n_row = shape.shape[0];
  const std::uint64_t row_bytes = shape.n_bytes / static_cast<std::uint64_t>(n_row);
  const auto rows_per_block =
      static_cast<std::int64_t>(std::max<std::uint64_t>(1, max_block_bytes / row_bytes));
  std::vector<std::byte> block(static_cast<std::size_t>(std::min(rows_per_block, n_row)) * row_bytes);
  for (std::int64_t row = 0; row < n_row; row += rows_per_block) {
    const std::int64_t n_block_row = std::min(rows_per_block, n_row - row);
    const std::span<std::byte> dst(block.data(), static_cast<std::size_t>(n_block_row) * row_bytes);
    read_rows(dataset, row, n_block_row, dst, false);
    if (XXH3_64bits_update(state.get(), dst.data(), dst.size()) != XXH_OK)
      throw Error("xxhash: XXH3 update failed");
  }
  return fmt::format("xxh3:{:016x}", XXH3_64bits_digest(state.get()));
}

std::uint64_t storage_offset(const Handle& dataset) {
  const haddr_t offset = H5Dget_offset(dataset.id());
  if (offset == HADDR_UNDEF) throw_error(dataset.where(), "H5Dget_offset (no contiguous storage)");
  return offset;
}

H5D_mpio_actual_io_mode_t read_rows(const Handle& dataset, std::int64_t row_begin, std::int64_t n_row,
                                    std::span<std::byte> dst, bool collective) {
  const std::string where = dataset.where();
  const DatasetShape shape = dataset_shape(dataset);
  if (shape.shape.empty()) throw IoError(fmt::format("{}: a scalar dataset has no rows", where));
  const std::int64_t n_row_total = shape.shape[0];
  if (row_begin < 0 || n_row < 0 || row_begin > n_row_total || n_row > n_row_total - row_begin)
    throw IoError(fmt::format("{}: rows [{}, {}) outside the dataset's {} rows", where, row_begin,
                              row_begin + n_row, n_row_total));
  std::uint64_t row_elements = 1;
  for (std::size_t dim = 1; dim < shape.shape.size(); ++dim)
    row_elements *= static_cast<std::uint64_t>(shape.shape[dim]);
  const std::uint64_t n_expected = static_cast<std::uint64_t>(n_row) * row_elements * dtype_size(shape.dtype);
  if (dst.size() != n_expected)
    throw IoError(fmt::format("{}: read buffer of {} bytes for {} rows of {} bytes", where, dst.size(), n_row,
                              row_elements * dtype_size(shape.dtype)));

  std::vector<hsize_t> start(shape.shape.size(), 0);
  std::vector<hsize_t> count(shape.shape.begin(), shape.shape.end());
  start[0] = static_cast<hsize_t>(row_begin);
  count[0] = static_cast<hsize_t>(n_row);
  Handle file_space(H5Dget_space(dataset.id()), dataset.file(), dataset.object(), "H5Dget_space");
  Handle mem_space(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), dataset.file(),
                   dataset.object(), "H5Screate_simple");
  if (n_row == 0) {
    check(H5Sselect_none(file_space.id()), where, "H5Sselect_none");
    check(H5Sselect_none(mem_space.id()), where, "H5Sselect_none");
  } else {
    check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
          where, "H5Sselect_hyperslab");
  }
  Handle type(H5Dget_type(dataset.id()), dataset.file(), dataset.object(), "H5Dget_type");
  Handle dxpl = make_plist(H5P_DATASET_XFER, where);
  if (collective) check(H5Pset_dxpl_mpio(dxpl.id(), H5FD_MPIO_COLLECTIVE), where, "H5Pset_dxpl_mpio");
  // HDF5 wants a buffer even when this rank selects nothing.
  std::byte dummy{};
  void* buffer = dst.empty() ? static_cast<void*>(&dummy) : static_cast<void*>(dst.data());
  check(H5Dread(dataset.id(), type.id(), mem_space.id(), file_space.id(), dxpl.id(), buffer), where,
        fmt::format("cannot read rows [{}, {})", row_begin, row_begin + n_row));
  H5D_mpio_actual_io_mode_t mode = H5D_MPIO_NO_COLLECTIVE;
  if (collective) check(H5Pget_mpio_actual_io_mode(dxpl.id(), &mode), where, "H5Pget_mpio_actual_io_mode");
  return mode;
}

}  // namespace moerge::io::h5
