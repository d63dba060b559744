// Content hashes: SHA-256 (provenance, OpenSSL EVP) and XXH3-64 (per-dataset checksums).
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

namespace moerge::hash {

/// Incremental SHA-256; hex() finalises.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const std::byte> bytes);
  std::string hex();  // lower-case, 64 characters

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(std::span<const std::byte> bytes);
/// SHA-256 of a whole file, streamed (throws IoError naming the file).
std::string sha256_file(const std::filesystem::path& path);

/// XXH3 64-bit checksum of a byte range, as 16 lower-case hex digits.
std::string xxh3_hex(std::span<const std::byte> bytes);
std::uint64_t xxh3(std::span<const std::byte> bytes);

}  // namespace moerge::hash
