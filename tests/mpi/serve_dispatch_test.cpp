// serve::ExpertDispatcher at 1, 2 and 4 ranks: the dispatched experts give the bits of the
// in-process LoraSet (which the runtime tests check against torch), also when a small message
// limit splits the exchange into rounds; routing vectors gathered from the hosts equal the ones
// computed from every expert in one place.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "moerge/comm/comm.hpp"
#include "moerge/model/lora.hpp"
#include "moerge/route/stats.hpp"
#include "moerge/serve/dispatch.hpp"
#include "moerge/serve/placement.hpp"
#include "test_util.hpp"

using moerge::model::Matrix;
using moerge::model::ModuleId;
using moerge::model::ModuleKind;

namespace {

moerge::model::ModelConfig small_config() {
  moerge::model::ModelConfig config;
  config.d_model = 16;
  config.n_layer = 2;
  config.n_head = 2;
  config.n_head_kv = 1;
  config.d_head = 8;
  config.n_ff = 24;
  config.n_vocab = 32;
  config.n_ctx = 16;
  return config;
}

Matrix random_matrix(std::mt19937& generator, Eigen::Index rows, Eigen::Index cols) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Matrix out(rows, cols);
  for (Eigen::Index idx = 0; idx < out.size(); ++idx) out.data()[idx] = normal(generator);
  return out;
}

/// Expert e: rank 4 on every module, except that expert 3 does not adapt down_proj.
moerge::model::LoraExpert random_expert(const moerge::model::ModelConfig& config, int expert_idx) {
  std::mt19937 generator(1000 + static_cast<unsigned>(expert_idx));
  moerge::model::LoraExpert expert;
  expert.name = "expert" + std::to_string(expert_idx);
  expert.scale = 0.5f + 0.25f * static_cast<float>(expert_idx);
  expert.modules.resize(static_cast<std::size_t>(config.n_layer) * moerge::model::n_module_kind);
  for (int index = 0; index < static_cast<int>(expert.modules.size()); ++index) {
    const ModuleId module{.layer_idx = index / moerge::model::n_module_kind,
                          .kind = static_cast<ModuleKind>(index % moerge::model::n_module_kind)};
    if (expert_idx == 3 && module.kind == ModuleKind::down_proj) continue;
    auto factors = std::make_shared<moerge::model::LoraFactors>();
    factors->a = random_matrix(generator, 4, config.d_in(module.kind));
    factors->b = random_matrix(generator, config.d_out(module.kind), 4);
    expert.modules[static_cast<std::size_t>(index)] = std::move(factors);
  }
  return expert;
}

constexpr int kExperts = 5;

/// Top-2 of 5 experts with random weights per row; every seventh row routes nowhere.
moerge::model::RoutingDecision random_decision(std::mt19937& generator, int n_row) {
  std::uniform_int_distribution<int> pick(0, kExperts - 1);
  std::uniform_real_distribution<float> weight(0.1f, 1.0f);
  moerge::model::RoutingDecision decision;
  decision.clear();
  for (int row = 0; row < n_row; ++row) {
    if (row % 7 != 3) {
      const int first = pick(generator);
      const int second = (first + 1 + pick(generator) % (kExperts - 1)) % kExperts;
      for (const int expert_idx : {first, second}) {
        decision.expert_idx.push_back(expert_idx);
        decision.weight.push_back(weight(generator));
      }
    }
    decision.row_offsets.push_back(static_cast<std::int32_t>(decision.expert_idx.size()));
  }
  return decision;
}

struct World {
  moerge::comm::Comm comm = moerge::comm::Comm::world();
  moerge::model::ModelConfig config = small_config();
  moerge::model::LoraSet all{small_config()};
  moerge::serve::Placement placement;

  World() {
    std::vector<std::string> names;
    std::vector<std::uint64_t> bytes;
    for (int expert_idx = 0; expert_idx < kExperts; ++expert_idx) {
      all.add(random_expert(config, expert_idx));
      names.push_back(all.expert(expert_idx).name);
      bytes.push_back(static_cast<std::uint64_t>(100 + expert_idx));
    }
    placement = moerge::serve::make_placement(names, bytes, comm.size(), std::nullopt, true);
  }
  moerge::model::LoraSet hosted() const {
    moerge::model::LoraSet local(config);
    for (const int expert_idx : placement.experts_of(comm.rank())) local.add(all.expert(expert_idx));
    return local;
  }
};

/// Coordinator: q k v of layer 1 through `applier` on random rows, as one stacked output.
Matrix run_qkv(const moerge::model::ExpertApplier& applier, const moerge::model::ModelConfig& config,
               const Matrix& input, const Matrix& w_qkv,
               std::vector<moerge::model::RoutingDecision>& decisions) {
  Matrix stacked(input.rows(), w_qkv.rows());
  std::vector<moerge::model::RoutedModule> routed;
  for (std::size_t kind_idx = 0; kind_idx < 3; ++kind_idx) {
    const ModuleId module{.layer_idx = 1, .kind = static_cast<ModuleKind>(kind_idx)};
    const moerge::model::ModuleSlot slot = moerge::model::module_slot(config, module.kind);
    routed.push_back({module, &decisions[kind_idx], stacked.middleCols(slot.first_row, slot.n_row)});
  }
  applier.apply(routed, input, [&] { stacked.noalias() = input * w_qkv.transpose(); });
  return stacked;
}

bool same_bits(const Matrix& left, const Matrix& right) {
  return left.rows() == right.rows() && left.cols() == right.cols() &&
         std::memcmp(left.data(), right.data(), static_cast<std::size_t>(left.size()) * sizeof(float)) == 0;
}

}  // namespace

TEST(serve, dispatched_experts_give_the_in_process_bits) {
  World setup;
  moerge::serve::ExpertDispatcher dispatcher(setup.comm, setup.placement, setup.config, setup.hosted(), {},
                                             true);
  if (!dispatcher.is_coordinator()) {
    dispatcher.serve();
    return;
  }
  std::mt19937 generator(7);
  const Matrix w_qkv =
      random_matrix(generator, setup.config.d_model + 2 * setup.config.d_kv(), setup.config.d_model);
  for (const int n_row : {1, 2, 37}) {
    const Matrix input = random_matrix(generator, n_row, setup.config.d_model);
    std::vector<moerge::model::RoutingDecision> decisions;
    for (int kind_idx = 0; kind_idx < 3; ++kind_idx) decisions.push_back(random_decision(generator, n_row));
    const Matrix expected = run_qkv(setup.all, setup.config, input, w_qkv, decisions);
    const Matrix dispatched = run_qkv(dispatcher, setup.config, input, w_qkv, decisions);
    EXPECT_TRUE(same_bits(expected, dispatched))
        << n_row << " rows: max difference " << (expected - dispatched).cwiseAbs().maxCoeff();
    // The experts changed something: a test that could not fail proves nothing.
    EXPECT_GT((expected - input * w_qkv.transpose()).cwiseAbs().maxCoeff(), 1e-3f);
  }
  // down_proj: expert 3 does not adapt it, its rows get the base plus the other expert only.
  const Matrix act = random_matrix(generator, 9, setup.config.n_ff);
  const Matrix w_down = random_matrix(generator, setup.config.d_model, setup.config.n_ff);
  moerge::model::RoutingDecision decision = random_decision(generator, 9);
  const auto run_down = [&](const moerge::model::ExpertApplier& applier) {
    Matrix out(9, setup.config.d_model);
    std::vector<moerge::model::RoutedModule> routed{
        {ModuleId{.layer_idx = 0, .kind = ModuleKind::down_proj}, &decision, out.middleCols(0, out.cols())}};
    applier.apply(routed, act, [&] { out.noalias() = act * w_down.transpose(); });
    return out;
  };
  EXPECT_TRUE(same_bits(run_down(setup.all), run_down(dispatcher)));
  dispatcher.stop();
  // One rank computes every expert itself: no message at all.
  if (setup.comm.size() > 1) {
    EXPECT_GT(dispatcher.timings().n_exchange, 0);
  } else {
    EXPECT_EQ(dispatcher.timings().n_exchange, 0);
  }
}

TEST(serve, small_messages_go_in_rounds_with_the_same_result) {
  World setup;
  moerge::serve::ServeOptions options;
  options.max_message_bytes = 1024;  // ~10 rows of q per message: many rounds, pieces of experts
  moerge::serve::ExpertDispatcher dispatcher(setup.comm, setup.placement, setup.config, setup.hosted(),
                                             options, true);
  if (!dispatcher.is_coordinator()) {
    dispatcher.serve();
    return;
  }
  std::mt19937 generator(11);
  const Matrix w_qkv =
      random_matrix(generator, setup.config.d_model + 2 * setup.config.d_kv(), setup.config.d_model);
  const Matrix input = random_matrix(generator, 64, setup.config.d_model);
  std::vector<moerge::model::RoutingDecision> decisions;
  for (int kind_idx = 0; kind_idx < 3; ++kind_idx) decisions.push_back(random_decision(generator, 64));
  const Matrix expected = run_qkv(setup.all, setup.config, input, w_qkv, decisions);
  const Matrix dispatched = run_qkv(dispatcher, setup.config, input, w_qkv, decisions);
  // Pieces change the GEMMs' row counts, hence rounding: f32 tolerance relative to the values.
  EXPECT_LE((expected - dispatched).cwiseAbs().maxCoeff(), 1e-5f * (1.0f + expected.cwiseAbs().maxCoeff()));
  if (setup.comm.size() > 1) {
    EXPECT_GT(dispatcher.timings().n_exchange, 3);
  }
  dispatcher.stop();
}

TEST(serve, routing_vectors_gathered_from_the_hosts_equal_the_local_ones) {
  World setup;
  moerge::serve::ExpertDispatcher dispatcher(setup.comm, setup.placement, setup.config, setup.hosted(), {},
                                             true);
  const std::vector<Matrix> gathered =
      dispatcher.gather_module_vectors(moerge::route::arrow_prototypes(dispatcher.local()));
  if (dispatcher.is_coordinator()) {
    const std::vector<Matrix> expected = moerge::route::arrow_prototypes(setup.all);
    ASSERT_EQ(gathered.size(), expected.size());
    for (std::size_t index = 0; index < expected.size(); ++index)
      EXPECT_TRUE(same_bits(gathered[index], expected[index])) << "module " << index;
    // Expert 3 does not adapt down_proj: a zero row.
    EXPECT_EQ(gathered[6].row(3).cwiseAbs().maxCoeff(), 0.0f);
    EXPECT_GT(gathered[6].row(2).cwiseAbs().maxCoeff(), 0.0f);
  } else {
    EXPECT_TRUE(gathered.empty());
  }
  dispatcher.stop();
  dispatcher.serve();
}
