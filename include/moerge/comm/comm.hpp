// The only door to MPI: a move-only communicator (a duplicate of the caller's, with
// MPI_ERRORS_RETURN, every return code checked) and typed collectives. Comm::self() lets every
// distributed algorithm run serially in a unit test.
#pragma once
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace moerge::comm {

/// Throw CommError naming `what` when an MPI call did not return MPI_SUCCESS.
void check(int mpi_rc, std::string_view what);

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, std::int64_t>) return MPI_INT64_T;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return MPI_UINT64_T;
  else if constexpr (std::is_same_v<T, std::int32_t>) return MPI_INT32_T;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return MPI_UINT32_T;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return MPI_UINT8_T;
  else if constexpr (std::is_same_v<T, char>) return MPI_CHAR;
  else if constexpr (std::is_same_v<T, std::byte>) return MPI_BYTE;
  else static_assert(sizeof(T) == 0, "no MPI datatype for this type");
}

enum class Op { sum, max, min };

/// A pending non-blocking operation (MPI_Request). Move-only; test() polls, wait() blocks. A
/// request still pending at destruction is freed (its buffers must outlive the operation: only
/// error paths that end the job leave one behind).
class Request {
 public:
  Request() = default;
  explicit Request(MPI_Request request, std::string_view what) : request_(request), what_(what) {}
  ~Request();
  Request(Request&& other) noexcept;
  Request& operator=(Request&& other) noexcept;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  /// True once the operation has completed (then the request is inactive).
  bool test();
  void wait();
  bool active() const { return request_ != MPI_REQUEST_NULL; }

 private:
  MPI_Request request_ = MPI_REQUEST_NULL;
  std::string_view what_;  // a string literal naming the MPI call
};

/// Counts and displacements of an all-to-all-v in elements, one entry per rank; check() refuses
/// totals past MPI's int range so callers split their exchange instead.
struct Layout {
  std::vector<int> counts;
  std::vector<int> displs;
  /// Counts given in elements as 64-bit: CommError naming `what` when a count or the running
  /// displacement does not fit an int.
  static Layout from_counts(std::span<const std::int64_t> counts, std::string_view what);
  std::int64_t total() const;
};

class Comm {
 public:
  /// Duplicate `parent` (never use the caller's communicator directly).
  explicit Comm(MPI_Comm parent);
  /// A one-rank communicator (a dup of MPI_COMM_SELF).
  static Comm self();
  /// A dup of MPI_COMM_WORLD.
  static Comm world();

  ~Comm();
  Comm(Comm&& other) noexcept;
  Comm& operator=(Comm&& other) noexcept;
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  MPI_Comm raw() const { return comm_; }

  void barrier() const;

  template <class T>
  void allreduce(std::span<T> values, Op op) const {
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), mpi_type<T>(),
                        mpi_op(op), comm_),
          "MPI_Allreduce");
  }
  template <class T>
  T allreduce(T value, Op op) const {
    allreduce(std::span<T>(&value, 1), op);
    return value;
  }
  template <class T>
  void bcast(std::span<T> values, int root) const {
    check(MPI_Bcast(values.data(), static_cast<int>(values.size()), mpi_type<T>(), root, comm_), "MPI_Bcast");
  }
  /// Broadcast a string of any length from `root`.
  void bcast(std::string& text, int root) const;
  /// Every rank's value, in rank order.
  template <class T>
  std::vector<T> allgather(T value) const {
    std::vector<T> out(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&value, 1, mpi_type<T>(), out.data(), 1, mpi_type<T>(), comm_), "MPI_Allgather");
    return out;
  }

  /// One value to and from every rank: send[r] goes to rank r, recv[r] came from rank r.
  template <class T>
  Request ialltoall(std::span<const T> send, std::span<T> recv) const {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Ialltoall(send.data(), 1, mpi_type<T>(), recv.data(), 1, mpi_type<T>(), comm_, &request),
          "MPI_Ialltoall");
    return Request(request, "MPI_Ialltoall");
  }
  /// Variable blocks to and from every rank (layouts in elements of T).
  template <class T>
  Request ialltoallv(std::span<const T> send, const Layout& send_layout, std::span<T> recv,
                     const Layout& recv_layout) const {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Ialltoallv(send.data(), send_layout.counts.data(), send_layout.displs.data(), mpi_type<T>(),
                         recv.data(), recv_layout.counts.data(), recv_layout.displs.data(), mpi_type<T>(), comm_,
                         &request),
          "MPI_Ialltoallv");
    return Request(request, "MPI_Ialltoallv");
  }
  /// Gather variable blocks on `root` (recv_layout matters on the root only).
  template <class T>
  void gatherv(std::span<const T> send, std::span<T> recv, const Layout& recv_layout, int root) const {
    check(MPI_Gatherv(send.data(), static_cast<int>(send.size()), mpi_type<T>(), recv.data(),
                      recv_layout.counts.data(), recv_layout.displs.data(), mpi_type<T>(), root, comm_),
          "MPI_Gatherv");
  }
  /// Point to point, for small control messages (liveness probes).
  template <class T>
  Request isend(std::span<const T> values, int dest, int tag) const {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Isend(values.data(), static_cast<int>(values.size()), mpi_type<T>(), dest, tag, comm_, &request),
          "MPI_Isend");
    return Request(request, "MPI_Isend");
  }
  template <class T>
  Request irecv(std::span<T> values, int source, int tag) const {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Irecv(values.data(), static_cast<int>(values.size()), mpi_type<T>(), source, tag, comm_, &request),
          "MPI_Irecv");
    return Request(request, "MPI_Irecv");
  }
  /// How many ranks of this communicator share this rank's node (MPI_COMM_TYPE_SHARED).
  int node_size() const;
  /// True when a message from `source` with `tag` is waiting.
  bool iprobe(int source, int tag) const;

  /// Every rank's string, in rank order (e.g. per-rank error messages or reports).
  std::vector<std::string> allgather(const std::string& text) const;

  /// Agree on failure: true on every rank when any rank passes `failed`. Lets ranks that found a
  /// problem on their share stop together instead of leaving peers in a later collective.
  bool any(bool failed) const;

  /// End the whole job (every rank) after logging; used when a rank fails inside collective work.
  [[noreturn]] void abort(std::string_view reason, int code = 1) const;

 private:
  Comm() = default;
  static MPI_Op mpi_op(Op op);
  void release() noexcept;

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

/// Owns MPI_Init / MPI_Finalize for a main (the CLI's and the tests').
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int world_rank() const { return world_rank_; }
  int world_size() const { return world_size_; }

 private:
  int world_rank_ = 0;
  int world_size_ = 1;
};

}  // namespace moerge::comm
