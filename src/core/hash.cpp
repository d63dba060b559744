// SHA-256 through OpenSSL's EVP interface, XXH3 through libxxhash.
#include "moerge/core/hash.hpp"

#include <fmt/core.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "moerge/core/error.hpp"

namespace moerge::hash {

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1)
    throw Error("OpenSSL: cannot initialise a SHA-256 digest");
}
Sha256::~Sha256() {
  if (state_ && state_->ctx) EVP_MD_CTX_free(state_->ctx);
}
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::span<const std::byte> bytes) {
  if (EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size()) != 1)
    throw Error("OpenSSL: SHA-256 update failed");
}

std::string Sha256::hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int n_digest = 0;
  if (EVP_DigestFinal_ex(state_->ctx, digest.data(), &n_digest) != 1)
    throw Error("OpenSSL: SHA-256 final failed");
  std::string out;
  out.reserve(2 * n_digest);
  for (unsigned int idx = 0; idx < n_digest; ++idx) out += fmt::format("{:02x}", digest[idx]);
  return out;
}

std::string sha256_hex(std::span<const std::byte> bytes) {
  Sha256 sha;
  sha.update(bytes);
  return sha.hex();
}

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open for hashing: {}", path.string(), std::strerror(errno)));
  Sha256 sha;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n_read = static_cast<std::size_t>(in.gcount());
    if (n_read > 0) sha.update(std::as_bytes(std::span(buffer.data(), n_read)));
  }
  if (in.bad()) throw IoError(fmt::format("{}: read error while hashing", path.string()));
  return sha.hex();
}

std::uint64_t xxh3(std::span<const std::byte> bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

std::string xxh3_hex(std::span<const std::byte> bytes) { return fmt::format("{:016x}", xxh3(bytes)); }

}  // namespace moerge::hash
