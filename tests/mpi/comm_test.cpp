// comm::Comm at 1, 2 and 4 ranks: duplication, typed collectives, agreement on failure.
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "moerge/comm/comm.hpp"
#include "moerge/core/error.hpp"
#include "test_util.hpp"

using moerge::comm::Comm;
using moerge::comm::Op;

TEST(comm, world_is_a_duplicate_with_same_rank_and_size) {
  Comm world = Comm::world();
  int rank = -1, size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(world.rank(), rank);
  EXPECT_EQ(world.size(), size);
  int compare = 0;
  MPI_Comm_compare(world.raw(), MPI_COMM_WORLD, &compare);
  EXPECT_EQ(compare, MPI_CONGRUENT);  // same group, different context: a true dup
}

TEST(comm, self_is_one_rank) {
  Comm self = Comm::self();
  EXPECT_EQ(self.size(), 1);
  EXPECT_EQ(self.rank(), 0);
  EXPECT_EQ(self.allreduce(std::int64_t{7}, Op::sum), 7);
}

TEST(comm, allreduce_sum_max_min_closed_form) {
  Comm world = Comm::world();
  const auto n = static_cast<std::int64_t>(world.size());
  const auto rank = static_cast<std::int64_t>(world.rank());
  EXPECT_EQ(world.allreduce(rank + 1, Op::sum), n * (n + 1) / 2);
  EXPECT_EQ(world.allreduce(rank, Op::max), n - 1);
  EXPECT_EQ(world.allreduce(rank, Op::min), 0);
  std::vector<std::uint64_t> histogram(8, 0);
  histogram[static_cast<std::size_t>(rank % 8)] = 1;
  world.allreduce(std::span(histogram), Op::sum);
  EXPECT_EQ(std::accumulate(histogram.begin(), histogram.end(), std::uint64_t{0}), static_cast<std::uint64_t>(n));
}

TEST(comm, bcast_string_and_allgather) {
  Comm world = Comm::world();
  std::string text = world.is_root() ? std::string(100000, 'q') + "end" : "";
  world.bcast(text, 0);
  EXPECT_EQ(text.size(), 100003u);
  EXPECT_EQ(text.substr(text.size() - 3), "end");
  const auto ranks = world.allgather(world.rank());
  for (int idx = 0; idx < world.size(); ++idx) EXPECT_EQ(ranks[static_cast<std::size_t>(idx)], idx);
}

TEST(comm, allgather_strings_in_rank_order) {
  Comm world = Comm::world();
  // Rank r sends r copies of 'a' + r, so empty strings and unequal lengths are covered.
  const std::string mine(static_cast<std::size_t>(world.rank()), static_cast<char>('a' + world.rank()));
  const auto all = world.allgather(mine);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(world.size()));
  for (int rank = 0; rank < world.size(); ++rank)
    EXPECT_EQ(all[static_cast<std::size_t>(rank)],
              std::string(static_cast<std::size_t>(rank), static_cast<char>('a' + rank)));
}

TEST(comm, any_agrees_when_one_rank_fails) {
  Comm world = Comm::world();
  EXPECT_FALSE(world.any(false));
  EXPECT_TRUE(world.any(world.rank() == world.size() - 1));
}

TEST(comm, move_transfers_ownership) {
  Comm first = Comm::world();
  const MPI_Comm raw = first.raw();
  Comm second = std::move(first);
  EXPECT_EQ(second.raw(), raw);
  EXPECT_EQ(first.raw(), MPI_COMM_NULL);  // NOLINT(bugprone-use-after-move): checking the moved-from state
}

TEST(comm, errors_are_returned_as_exceptions) {
  Comm world = Comm::world();
  // An invalid root is reported by MPI_ERRORS_RETURN and turned into CommError with the call's name.
  std::vector<int> data(1, 0);
  EXPECT_THROW_MSG(world.bcast(std::span(data), world.size() + 5), moerge::CommError, "MPI_Bcast");
}
