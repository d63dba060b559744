// SHA-256 through OpenSSL's EVP interface, XXH3 through libxxhash.
#include "moerge/core/hash.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

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
  if (fd < 0) throw IoError(fmt::format("{}: cannot open for hashing: {}", path.string(), std::strerror(errno)));
  struct stat status {};
  if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    ::close(fd);
    throw IoError(fmt::format("{}: cannot hash: not a regular file", path.string()));
  }
  const auto n_byte = static_cast<std::size_t>(status.st_size);
  Sha256 sha;
  if (n_byte == 0) {
    ::close(fd);
    return sha.hex();
  }
  // Hash straight from the page cache (no copy into a buffer), one window at a time, and give
  // each window's pages back so hashing a large file keeps a small resident set.
  void* mapping = ::mmap(nullptr, n_byte, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping == MAP_FAILED)
    throw IoError(fmt::format("{}: cannot map for hashing: {}", path.string(), std::strerror(errno)));
  ::madvise(mapping, n_byte, MADV_SEQUENTIAL);
  const auto* bytes = static_cast<const std::byte*>(mapping);
  constexpr std::size_t kWindow = 16u << 20;  // a multiple of the page size
  for (std::size_t offset = 0; offset < n_byte; offset += kWindow) {
    const std::size_t n_window = std::min(kWindow, n_byte - offset);
#ifdef MADV_POPULATE_READ
    // Map the window's pages in one call rather than one fault per few pages (Linux >= 5.14;
    // older kernels refuse it and the pages fault in as usual).
    ::madvise(const_cast<std::byte*>(bytes) + offset, n_window, MADV_POPULATE_READ);
#endif
    sha.update(std::span(bytes + offset, n_window));
    ::madvise(const_cast<std::byte*>(bytes) + offset, n_window, MADV_DONTNEED);
  }
  ::munmap(mapping, n_byte);
  return sha.hex();
}

std::uint64_t xxh3(std::span<const std::byte> bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

std::string xxh3_hex(std::span<const std::byte> bytes) { return fmt::format("{:016x}", xxh3(bytes)); }

}  // namespace moerge::hash
