// GoogleTest main for every suite: owns MPI init/finalize; only rank 0 prints results.
#include <gtest/gtest.h>

#include "moerge/comm/comm.hpp"
#include "moerge/core/log.hpp"

int main(int argc, char** argv) {
  moerge::comm::MpiSession mpi(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  moerge::log::init(moerge::log::Level::warn, mpi.world_rank(), mpi.world_size());
  if (mpi.world_rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int result = RUN_ALL_TESTS();
  // Every rank must agree: a failure on any rank fails the test run.
  int failed = result != 0 ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return failed;
}
