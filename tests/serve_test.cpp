// serve::make_placement: balance by bytes (closed form), pinning and replication from a placement
// file, and one clear error per bad file.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "moerge/core/error.hpp"
#include "moerge/serve/placement.hpp"
#include "test_util.hpp"

using moerge::InputError;
using moerge::serve::make_placement;
using moerge::serve::Placement;

namespace {

const std::vector<std::string> kNames{"a", "b", "c", "d", "e"};
const std::vector<std::uint64_t> kBytes{5, 4, 3, 3, 1};

std::filesystem::path write_file(const moerge::test::ScratchDir& dir, const std::string& text) {
  const auto path = dir / "placement.yml";
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(placement, one_rank_hosts_everything) {
  const Placement placement = make_placement(kNames, kBytes, 1, std::nullopt, true);
  EXPECT_EQ(placement.experts_of(0), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(placement.bytes_of(0), 16u);
}

TEST(placement, largest_first_onto_the_least_loaded_host) {
  // LPT by hand on ranks 1 and 2: a(5)->1, b(4)->2, c(3)->2 (4<5), d(3)->1 (5<7), e(1)->2 (7<8).
  const Placement placement = make_placement(kNames, kBytes, 3, std::nullopt, true);
  EXPECT_TRUE(placement.experts_of(0).empty());  // the coordinator hosts none
  EXPECT_EQ(placement.experts_of(1), (std::vector<int>{0, 3}));
  EXPECT_EQ(placement.experts_of(2), (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(placement.bytes_of(1), 8u);
  EXPECT_EQ(placement.bytes_of(2), 8u);
}

TEST(placement, file_pins_and_replicates) {
  moerge::test::ScratchDir dir("placement");
  const auto file = write_file(dir, "b: 3\na: [1, 2]\n");
  const Placement placement = make_placement(kNames, kBytes, 4, file, true);
  EXPECT_EQ(placement.hosts[0], (std::vector<int>{1, 2}));
  EXPECT_EQ(placement.hosts[1], (std::vector<int>{3}));
  // Replicas take modules in turn; an unreplicated expert always answers from its one rank.
  EXPECT_EQ(placement.host_for(0, 0), 1);
  EXPECT_EQ(placement.host_for(0, 1), 2);
  EXPECT_EQ(placement.host_for(0, 6), 1);
  EXPECT_EQ(placement.host_for(1, 5), 3);
  // The rest balance around the pinned bytes: loads 5, 5, 4 -> c(3) to rank 3, d(3) to 1, e(1) to 2.
  EXPECT_EQ(placement.hosts[2], (std::vector<int>{3}));
  EXPECT_EQ(placement.hosts[3], (std::vector<int>{1}));
  EXPECT_EQ(placement.hosts[4], (std::vector<int>{2}));
}

TEST(placement, bad_files_name_the_entry) {
  moerge::test::ScratchDir dir("placement-bad");
  EXPECT_THROW_MSG(make_placement(kNames, kBytes, 3, write_file(dir, "zz: 1\n"), true), InputError,
                   "expert 'zz' is not one of this system's experts (a, b, c, d, e)");
  EXPECT_THROW_MSG(make_placement(kNames, kBytes, 3, write_file(dir, "a: 3\n"), true), InputError,
                   "expert 'a': rank 3 is outside 0..2");
  EXPECT_THROW_MSG(make_placement(kNames, kBytes, 3, write_file(dir, "a: [1, 1]\n"), true), InputError,
                   "expert 'a': rank 1 is listed twice");
  EXPECT_THROW_MSG(make_placement(kNames, kBytes, 3, write_file(dir, "a: one\n"), true), InputError,
                   "expert 'a': rank 'one' is not an integer");
  EXPECT_THROW_MSG(make_placement(kNames, kBytes, 3, write_file(dir, "- a\n- b\n"), true), InputError,
                   "a placement file maps expert names to a rank or a list of ranks");
  EXPECT_THROW_MSG(make_placement(kNames, kBytes, 3, write_file(dir, "a: [1\n"), true), InputError,
                   "not valid YAML");
  EXPECT_THROW_MSG(make_placement(kNames, kBytes, 3, dir / "missing.yml", true), InputError,
                   "cannot read the placement file");
}
