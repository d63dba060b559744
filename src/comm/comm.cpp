// Comm: checked, move-only MPI communicator (see include/moerge/comm/comm.hpp).
#include "moerge/comm/comm.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

#include "moerge/core/error.hpp"
#include "moerge/core/log.hpp"

namespace moerge::comm {

void check(int mpi_rc, std::string_view what) {
  if (mpi_rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int n_text = 0;
  MPI_Error_string(mpi_rc, text, &n_text);
  throw CommError(fmt::format("{} failed: {}", what, std::string_view(text, static_cast<std::size_t>(n_text))));
}

Comm::Comm(MPI_Comm parent) {
  check(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

Comm Comm::self() { return Comm(MPI_COMM_SELF); }
Comm Comm::world() { return Comm(MPI_COMM_WORLD); }

void Comm::release() noexcept {
  if (comm_ != MPI_COMM_NULL) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
    comm_ = MPI_COMM_NULL;
  }
}

Comm::~Comm() { release(); }

Comm::Comm(Comm&& other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)), rank_(other.rank_), size_(other.size_) {}

Comm& Comm::operator=(Comm&& other) noexcept {
  if (this != &other) {
    release();
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
    rank_ = other.rank_;
    size_ = other.size_;
  }
  return *this;
}

MPI_Op Comm::mpi_op(Op op) {
  switch (op) {
    case Op::sum: return MPI_SUM;
    case Op::max: return MPI_MAX;
    case Op::min: return MPI_MIN;
  }
  return MPI_SUM;
}

void Comm::barrier() const { check(MPI_Barrier(comm_), "MPI_Barrier"); }

void Comm::bcast(std::string& text, int root) const {
  std::uint64_t n_text = text.size();
  bcast(std::span(&n_text, 1), root);
  text.resize(n_text);
  // Chunked so a string past INT_MAX bytes still goes through.
  constexpr std::uint64_t kChunk = 1u << 30;
  for (std::uint64_t offset = 0; offset < n_text; offset += kChunk) {
    const auto n_chunk = static_cast<int>(std::min(kChunk, n_text - offset));
    check(MPI_Bcast(text.data() + offset, n_chunk, MPI_CHAR, root, comm_), "MPI_Bcast(string)");
  }
}

std::vector<std::string> Comm::allgather(const std::string& text) const {
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw CommError(fmt::format("allgather: a {}-byte string exceeds MPI's int count", text.size()));
  const std::vector<int> sizes = allgather(static_cast<int>(text.size()));
  std::vector<int> offsets(sizes.size(), 0);
  std::int64_t total = 0;
  for (std::size_t idx = 0; idx < sizes.size(); ++idx) {
    if (total > std::numeric_limits<int>::max())
      throw CommError(fmt::format("allgather: {} bytes in all exceed MPI's int displacement", total));
    offsets[idx] = static_cast<int>(total);
    total += sizes[idx];
  }
  std::string joined(static_cast<std::size_t>(total), '\0');
  check(MPI_Allgatherv(text.data(), static_cast<int>(text.size()), MPI_CHAR, joined.data(), sizes.data(),
                       offsets.data(), MPI_CHAR, comm_),
        "MPI_Allgatherv(string)");
  std::vector<std::string> out;
  out.reserve(sizes.size());
  for (std::size_t idx = 0; idx < sizes.size(); ++idx)
    out.push_back(joined.substr(static_cast<std::size_t>(offsets[idx]), static_cast<std::size_t>(sizes[idx])));
  return out;
}

bool Comm::any(bool failed) const {
  int flag = failed ? 1 : 0;
  check(MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_MAX, comm_), "MPI_Allreduce(any)");
  return flag != 0;
}

void Comm::abort(std::string_view reason, int code) const {
  std::fprintf(stderr, "[rank %d] error: %.*s\n", rank_, static_cast<int>(reason.size()), reason.data());
  std::fflush(stderr);
  MPI_Abort(comm_ == MPI_COMM_NULL ? MPI_COMM_WORLD : comm_, code);
  std::_Exit(code);
}

Request::~Request() {
  if (request_ != MPI_REQUEST_NULL) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Request_free(&request_);
  }
}

Request::Request(Request&& other) noexcept
    : request_(std::exchange(other.request_, MPI_REQUEST_NULL)), what_(other.what_) {}

Request& Request::operator=(Request&& other) noexcept {
  if (this != &other) {
    if (request_ != MPI_REQUEST_NULL) MPI_Request_free(&request_);
    request_ = std::exchange(other.request_, MPI_REQUEST_NULL);
    what_ = other.what_;
  }
  return *this;
}

bool Request::test() {
  if (request_ == MPI_REQUEST_NULL) return true;
  int done = 0;
  check(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), what_);
  return done != 0;
}

void Request::wait() {
  if (request_ == MPI_REQUEST_NULL) return;
  check(MPI_Wait(&request_, MPI_STATUS_IGNORE), what_);
}

Layout Layout::from_counts(std::span<const std::int64_t> counts, std::string_view what) {
  constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
  Layout layout;
  layout.counts.reserve(counts.size());
  layout.displs.reserve(counts.size());
  std::int64_t offset = 0;
  for (std::size_t rank = 0; rank < counts.size(); ++rank) {
    if (counts[rank] < 0 || counts[rank] > kIntMax || offset > kIntMax)
      throw CommError(fmt::format("{}: {} elements for rank {} at offset {} exceed MPI's int count", what,
                                  counts[rank], rank, offset));
    layout.counts.push_back(static_cast<int>(counts[rank]));
    layout.displs.push_back(static_cast<int>(offset));
    offset += counts[rank];
  }
  return layout;
}

std::int64_t Layout::total() const {
  std::int64_t total = 0;
  for (const int count : counts) total += count;
  return total;
}

int Comm::node_size() const {
  MPI_Comm node = MPI_COMM_NULL;
  check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  int size = 1;
  const int rc = MPI_Comm_size(node, &size);
  MPI_Comm_free(&node);
  check(rc, "MPI_Comm_size");
  return size;
}

bool Comm::iprobe(int source, int tag) const {
  int flag = 0;
  check(MPI_Iprobe(source, tag, comm_, &flag, MPI_STATUS_IGNORE), "MPI_Iprobe");
  return flag != 0;
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // A process started without a launcher is an MPI singleton: tell Open MPI not to fork its
    // helper daemon nor probe network transports, which otherwise costs ~0.4 s per command here.
    // Only defaults: a value the user set wins; launched ranks (mpirun, srun) are untouched.
    if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr && std::getenv("PMIX_RANK") == nullptr &&
        std::getenv("PMI_RANK") == nullptr) {
      ::setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
      ::setenv("OMPI_MCA_pml", "ob1", 0);
    }
    int provided = 0;
    check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size_);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace moerge::comm
