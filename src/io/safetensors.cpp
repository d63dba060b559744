// safetensors header validation (parse_safetensors), pickle refusal, and the strict JSON helpers
// shared with the reader, writer and shard index.
#include "moerge/io/safetensors.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <set>
#include <tuple>

#include "moerge/core/error.hpp"
#include "safetensors_detail.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace moerge::io {

namespace detail {

std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n_byte = text.size();
  std::size_t pos = 0;
  while (pos < n_byte) {
    const unsigned char lead = bytes[pos];
    if (lead < 0x80) {
      ++pos;
      continue;
    }
    std::size_t n_continuation = 0;
    // Bounds of the second byte exclude overlong forms, surrogates and code points > U+10FFFF.
    unsigned char second_min = 0x80;
    unsigned char second_max = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      n_continuation = 1;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      n_continuation = 2;
      if (lead == 0xe0) second_min = 0xa0;
      if (lead == 0xed) second_max = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      n_continuation = 3;
      if (lead == 0xf0) second_min = 0x90;
      if (lead == 0xf4) second_max = 0x8f;
    } else {
      return pos;
    }
    for (std::size_t step = 1; step <= n_continuation; ++step) {
      if (pos + step >= n_byte) return pos;  // truncated sequence: report its lead byte
      const unsigned char next = bytes[pos + step];
      const bool ok = step == 1 ? (next >= second_min && next <= second_max) : (next >= 0x80 && next <= 0xbf);
      if (!ok) return pos + step;
    }
    pos += n_continuation + 1;
  }
  return std::nullopt;
}

namespace {

// A header nests at most 3 levels (root, entry, shape); anything this deep is not a header.
constexpr int kMaxJsonDepth = 16;

struct JsonTooDeep {};
struct JsonDuplicateKey {
  std::string key;
  std::string parent;  // key of the enclosing object, empty at the top level
};

std::string strip_json_exception_prefix(std::string_view what) {
  // nlohmann prefixes "[json.exception.parse_error.101] "; keep only the human part.
  if (!what.empty() && what.front() == '[') {
    const auto close = what.find("] ");
    if (close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  return std::string(what);
}

}  // namespace

json parse_json_strict(std::string_view text, std::string_view label, std::string_view what) {
  if (const auto bad = first_invalid_utf8(text))
    throw InputError(fmt::format("{}: {} is not valid UTF-8 at byte {} (0x{:02x})", label, what, *bad,
                                 static_cast<unsigned>(static_cast<unsigned char>(text[*bad]))));
  // nlohmann's lexer takes a NUL byte for the end of input, so "{}\0garbage" would pass. A raw NUL
  // is never valid JSON (control characters are escaped inside strings), so refuse it here.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    throw InputError(fmt::format("{}: {} is not valid JSON: NUL byte at byte {}", label, what, nul));
  struct ObjectFrame {
    std::set<std::string> keys;
    std::string last_key;
  };
  std::vector<ObjectFrame> frames;
  const json::parser_callback_t track_keys = [&frames](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        if (depth >= kMaxJsonDepth) throw JsonTooDeep{};
        frames.emplace_back();
        break;
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) throw JsonTooDeep{};
        break;
      case json::parse_event_t::object_end:
        if (!frames.empty()) frames.pop_back();
        break;
      case json::parse_event_t::key: {
        if (frames.empty()) break;
        auto key = parsed.get<std::string>();
        if (!frames.back().keys.insert(key).second) {
          const std::string parent = frames.size() >= 2 ? frames[frames.size() - 2].last_key : std::string();
          throw JsonDuplicateKey{std::move(key), parent};
        }
        frames.back().last_key = std::move(key);
        break;
      }
      case json::parse_event_t::array_end:
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), track_keys);
  } catch (const JsonTooDeep&) {
    throw InputError(fmt::format("{}: {} nests JSON deeper than {} levels", label, what, kMaxJsonDepth));
  } catch (const JsonDuplicateKey& duplicate) {
    if (duplicate.parent.empty())
      throw InputError(fmt::format("{}: {} has duplicate key '{}'", label, what, duplicate.key));
    throw InputError(fmt::format("{}: {} has duplicate key '{}' inside '{}'", label, what, duplicate.key,
                                 duplicate.parent));
  } catch (const json::exception& error) {
    throw InputError(
        fmt::format("{}: {} is not valid JSON: {}", label, what, strip_json_exception_prefix(error.what())));
  }
}

std::string format_shape(std::span<const std::int64_t> shape) {
  std::string out = "[";
  for (std::size_t dim_idx = 0; dim_idx < shape.size(); ++dim_idx) {
    if (dim_idx > 0) out += ", ";
    out += std::to_string(shape[dim_idx]);
  }
  return out + "]";
}

std::string brief_json(const json& value) {
  constexpr std::size_t kMaxChars = 80;
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxChars) {
    text.resize(kMaxChars);
    // Do not cut a UTF-8 sequence in half.
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xc0) == 0x80) text.pop_back();
    if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xc0) text.pop_back();
    text += "...";
  }
  return text;
}

std::optional<std::uint64_t> checked_tensor_bytes(DType dtype, std::span<const std::int64_t> shape) {
  std::int64_t n_element = 1;
  for (const std::int64_t dim : shape)
    if (__builtin_mul_overflow(n_element, dim, &n_element)) return std::nullopt;
  std::uint64_t n_byte = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(n_element),
                             static_cast<std::uint64_t>(dtype_size(dtype)), &n_byte))
    return std::nullopt;
  return n_byte;
}

namespace {
std::uint64_t read_le64(const std::byte* bytes) {
  std::uint64_t value = 0;
  for (int byte_idx = 7; byte_idx >= 0; --byte_idx)
    value = (value << 8) | std::to_integer<std::uint64_t>(bytes[byte_idx]);
  return value;
}
}  // namespace

bool looks_like_pickle(std::span<const std::byte> head, std::uint64_t file_size) {
  const auto byte_at = [&head](std::size_t idx) { return std::to_integer<unsigned>(head[idx]); };
  const bool zip =
      head.size() >= 4 && byte_at(0) == 'P' && byte_at(1) == 'K' && byte_at(2) == 3 && byte_at(3) == 4;
  const bool raw_pickle = head.size() >= 2 && byte_at(0) == 0x80 && byte_at(1) >= 2 && byte_at(1) <= 5;
  if (!zip && !raw_pickle) return false;
  // A safetensors header length can begin with 0x80 0x02 (N = 640 + ...): such a file is not a
  // pickle when its length is plausible and its JSON starts where it should.
  if (head.size() >= 9 && file_size >= 8) {
    const std::uint64_t header_size = read_le64(head.data());
    const unsigned first = byte_at(8);
    const bool json_start = first == '{' || first == ' ' || first == '\t' || first == '\n' || first == '\r';
    if (header_size > 0 && header_size <= kMaxHeaderSize && header_size <= file_size - 8 && json_start)
      return false;
  }
  return true;
}

std::string pickle_message(std::string_view label) {
  return fmt::format(
      "{}: is a PyTorch pickle checkpoint (zip/pickle); moerge never loads pickle files: convert it to "
      "safetensors (e.g. with safetensors.torch.save_file)",
      label);
}

bool has_pickle_extension(std::string_view filename) {
  constexpr std::array<std::string_view, 4> kExtensions{".bin", ".pt", ".pth", ".ckpt"};
  return std::any_of(kExtensions.begin(), kExtensions.end(),
                     [filename](std::string_view ext) { return filename.ends_with(ext); });
}

}  // namespace detail

namespace {

using detail::brief_json;
using detail::format_shape;

bool is_non_negative_integer(const json& value) {
  if (value.is_number_unsigned()) return true;
  return value.is_number_integer() && value.get<std::int64_t>() >= 0;
}

void parse_metadata(const json& value, std::string_view label, std::map<std::string, std::string>& metadata) {
  if (!value.is_object())
    throw InputError(fmt::format("{}: '__metadata__' must be an object of string to string (found {})", label,
                                 brief_json(value)));
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string())
      throw InputError(
          fmt::format("{}: '__metadata__' key '{}' has a non-string value {}", label, key, brief_json(item)));
    metadata.emplace(key, item.get<std::string>());
  }
}

TensorEntry parse_entry(const std::string& name, const json& value, std::uint64_t data_size,
                        std::string_view label) {
  if (!value.is_object())
    throw InputError(
        fmt::format("{}: tensor '{}': entry must be a JSON object with dtype, shape and data_offsets "
                    "(found {})",
                    label, name, brief_json(value)));
  for (const auto& [field, field_value] : value.items()) {
    if (field != "dtype" && field != "shape" && field != "data_offsets")
      throw InputError(fmt::format("{}: tensor '{}': unknown field '{}' (value {})", label, name, field,
                                   brief_json(field_value)));
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(field))
      throw InputError(fmt::format("{}: tensor '{}': missing field '{}'", label, name, field));
  }

  TensorEntry entry;
  entry.name = name;

  const json& dtype_value = value.at("dtype");
  if (!dtype_value.is_string())
    throw InputError(fmt::format("{}: tensor '{}': dtype must be a string (found {})", label, name,
                                 brief_json(dtype_value)));
  const auto dtype = dtype_from_name(dtype_value.get_ref<const std::string&>());
  if (!dtype)
    throw InputError(fmt::format("{}: tensor '{}': unknown dtype {}", label, name, brief_json(dtype_value)));
  entry.dtype = *dtype;

  const json& shape_value = value.at("shape");
  if (!shape_value.is_array())
    throw InputError(
        fmt::format("{}: tensor '{}': shape must be an array of non-negative integers (found {})", label,
                    name, brief_json(shape_value)));
  entry.shape.reserve(shape_value.size());
  for (const json& dim : shape_value) {
    if (dim.is_number_integer() && !is_non_negative_integer(dim))
      throw InputError(fmt::format("{}: tensor '{}': shape {} has a negative dimension {}", label, name,
                                   brief_json(shape_value), dim.get<std::int64_t>()));
    if (!dim.is_number_integer())
      throw InputError(
          fmt::format("{}: tensor '{}': shape must be an array of non-negative integers (found {})", label,
                      name, brief_json(shape_value)));
    const auto dim_value = dim.get<std::uint64_t>();
    if (dim_value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw InputError(fmt::format("{}: tensor '{}': shape {} has dimension {} above 2^63 - 1", label, name,
                                   brief_json(shape_value), dim_value));
    entry.shape.push_back(static_cast<std::int64_t>(dim_value));
  }

  const json& offsets = value.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !is_non_negative_integer(offsets[0]) ||
      !is_non_negative_integer(offsets[1]))
    throw InputError(
        fmt::format("{}: tensor '{}': data_offsets must be two non-negative integers [begin, end] "
                    "(found {})",
                    label, name, brief_json(offsets)));
  entry.begin = offsets[0].get<std::uint64_t>();
  entry.end = offsets[1].get<std::uint64_t>();
  if (entry.begin > entry.end)
    throw InputError(fmt::format("{}: tensor '{}': data_offsets [{}, {}] have begin after end", label, name,
                                 entry.begin, entry.end));
  if (entry.end > data_size)
    throw InputError(
        fmt::format("{}: tensor '{}': data_offsets [{}, {}] run past the end of the file (the data "
                    "section holds {} bytes)",
                    label, name, entry.begin, entry.end, data_size));

  const auto n_byte = detail::checked_tensor_bytes(entry.dtype, entry.shape);
  if (!n_byte)
    throw InputError(fmt::format("{}: tensor '{}': element count of {} x {} overflows 64 bits", label, name,
                                 dtype_name(entry.dtype), format_shape(entry.shape)));
  if (entry.end - entry.begin != *n_byte)
    throw InputError(fmt::format("{}: tensor '{}': data_offsets [{}, {}] hold {} bytes but {} x {} needs {}",
                                 label, name, entry.begin, entry.end, entry.end - entry.begin,
                                 dtype_name(entry.dtype), format_shape(entry.shape), *n_byte));
  return entry;
}

/// Tensors sorted by offset must tile the data section exactly: first at 0, no gaps, no
/// overlaps, nothing after the last.
void check_layout(const std::vector<TensorEntry>& tensors, std::uint64_t data_size, std::string_view label) {
  std::uint64_t expected_begin = 0;
  const TensorEntry* previous = nullptr;
  for (const TensorEntry& entry : tensors) {
    if (entry.begin != expected_begin) {
      if (previous == nullptr)
        throw InputError(
            fmt::format("{}: tensor '{}': data_offsets [{}, {}]: the first tensor must begin at offset 0",
                        label, entry.name, entry.begin, entry.end));
      if (entry.begin > expected_begin)
        throw InputError(
            fmt::format("{}: tensor '{}': data_offsets [{}, {}] leave a gap of {} bytes after tensor "
                        "'{}' (data_offsets [{}, {}])",
                        label, entry.name, entry.begin, entry.end, entry.begin - expected_begin,
                        previous->name, previous->begin, previous->end));
      throw InputError(fmt::format(
          "{}: tensor '{}': data_offsets [{}, {}] overlap tensor '{}' (data_offsets [{}, {}])", label,
          entry.name, entry.begin, entry.end, previous->name, previous->begin, previous->end));
    }
    expected_begin = entry.end;
    previous = &entry;
  }
  if (expected_begin != data_size) {
    // Every end was checked against data_size, so the remainder is trailing.
    if (previous == nullptr)
      throw InputError(fmt::format(
          "{}: trailing bytes: the header names no tensors but {} data bytes follow it", label, data_size));
    throw InputError(
        fmt::format("{}: trailing bytes: {} bytes follow the last tensor '{}' (data_offsets [{}, {}])", label,
                    data_size - expected_begin, previous->name, previous->begin, previous->end));
  }
}

}  // namespace

SafetensorsHeader parse_safetensors(std::span<const std::byte> file_bytes, std::string_view label) {
  const std::uint64_t file_size = file_bytes.size();
  if (file_size < 8)
    throw InputError(fmt::format("{}: file is {} bytes, shorter than 8 bytes (the header length field)",
                                 label, file_size));
  if (detail::looks_like_pickle(file_bytes.first(std::min<std::size_t>(file_bytes.size(), 16)), file_size))
    throw InputError(detail::pickle_message(label));

  const std::uint64_t header_size = detail::read_le64(file_bytes.data());
  if (header_size == 0) throw InputError(fmt::format("{}: header length is 0", label));
  if (header_size > kMaxHeaderSize)
    throw InputError(fmt::format("{}: header length {} exceeds the limit of {} bytes", label, header_size,
                                 kMaxHeaderSize));
  if (header_size > file_size - 8)
    throw InputError(fmt::format("{}: header length {} runs past the end of the file ({} bytes)", label,
                                 header_size, file_size));

  const std::string_view text(reinterpret_cast<const char*>(file_bytes.data() + 8), header_size);
  const json root = detail::parse_json_strict(text, label, "header");
  if (!root.is_object())
    throw InputError(fmt::format("{}: header is not a JSON object (found {} {})", label, root.type_name(),
                                 brief_json(root)));

  const std::uint64_t data_size = file_size - 8 - header_size;
  SafetensorsHeader header;
  header.header_size = header_size;
  header.tensors.reserve(root.size());
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      parse_metadata(value, label, header.metadata);
    } else {
      header.tensors.push_back(parse_entry(key, value, data_size, label));
    }
  }
  std::sort(header.tensors.begin(), header.tensors.end(), [](const TensorEntry& lhs, const TensorEntry& rhs) {
    return std::tie(lhs.begin, lhs.end, lhs.name) < std::tie(rhs.begin, rhs.end, rhs.name);
  });
  check_layout(header.tensors, data_size, label);
  return header;
}

void refuse_pickle(const fs::path& path) {
  const std::string label = path.string();
  if (detail::has_pickle_extension(path.filename().string())) throw InputError(detail::pickle_message(label));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // not readable here: whoever opens it next reports why
  struct stat status {};
  std::array<std::byte, 16> head{};
  ssize_t n_read = -1;
  if (::fstat(fd, &status) == 0 && S_ISREG(status.st_mode)) n_read = ::pread(fd, head.data(), head.size(), 0);
  ::close(fd);
  if (n_read <= 0) return;
  if (detail::looks_like_pickle(std::span<const std::byte>(head.data(), static_cast<std::size_t>(n_read)),
                                static_cast<std::uint64_t>(status.st_size)))
    throw InputError(detail::pickle_message(label));
}

}  // namespace moerge::io
