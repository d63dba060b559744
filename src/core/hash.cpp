// SHA-256 through OpenSSL's EVP interface, XXH3 through libxxhash.
#include "moerge/core/hash.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

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
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw IoError(fmt::format("{}: cannot open for hashing: {}", path.string(), std::strerror(errno)));
  struct stat status {};
  if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    ::close(fd);
    throw IoError(fmt::format("{}: cannot hash: not a regular file", path.string()));
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  // Read through a buffer that stays in the core's L2 cache: faster here than hashing from a
  // mapping (no page faults, nothing to unmap) and the resident set stays at one buffer.
  constexpr std::size_t kBuffer = 256u << 10;
  const auto buffer = std::make_unique<std::byte[]>(kBuffer);
  Sha256 sha;
  for (;;) {
    const ssize_t n_read = ::read(fd, buffer.get(), kBuffer);
    if (n_read == 0) break;
    if (n_read < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      throw IoError(fmt::format("{}: read failed while hashing: {}", path.string(), std::strerror(error)));
    }
    sha.update(std::span<const std::byte>(buffer.get(), static_cast<std::size_t>(n_read)));
  }
  ::close(fd);
  return sha.hex();
}

std::uint64_t xxh3(std::span<const std::byte> bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

std::string xxh3_hex(std::span<const std::byte> bytes) { return fmt::format("{:016x}", xxh3(bytes)); }

}  // namespace moerge::hash
