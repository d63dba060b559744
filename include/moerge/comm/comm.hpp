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
