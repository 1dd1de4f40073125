//===- MoETest.cpp - Routing rules and expert layouts -----------*- C++ -*-===//
//
// The routing rules against slow, obvious transcriptions of their
// definitions, and the two expert weight layouts (per expert, stacked)
// against each other: a model must compute the same thing in both.
//
//===----------------------------------------------------------------------===//
#include "phiq/InitAll.h"
#include "phiq/Runtime/Executor.h"
#include "phiq/Runtime/Routing.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

using namespace phiq;

namespace {

/// transformers' sparsemixer (eval) in double, written from its definition.
void referenceSparseMixer(const std::vector<float> &s, double eps, int &e1,
                          int &e2, double &w1, double &w2) {
  int n = int(s.size());
  e1 = 0;
  for (int j = 1; j < n; ++j)
    if (s[j] > s[e1])
      e1 = j;
  auto weightOf = [&](int ref, int skip) {
    double num = 0, den = 0, top = s[ref];
    for (int j = 0; j < n; ++j) {
      if (j == skip)
        continue;
      double factor = std::max<double>(std::fabs(s[j]), top);
      if ((top - s[j]) / factor > 2 * eps)
        continue;
      den += std::exp(s[j] - top);
      if (j == ref)
        num = 1.0;
    }
    return num / den;
  };
  w1 = weightOf(e1, -1);
  e2 = e1 == 0 ? 1 : 0;
  for (int j = 0; j < n; ++j)
    if (j != e1 && s[j] > s[e2])
      e2 = j;
  w2 = weightOf(e2, e1);
}

TEST(Routing, SparseMixerMatchesItsDefinition) {
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  const int rows = 500, experts = 16;
  std::vector<float> logits(rows * experts);
  for (float &x : logits)
    x = dist(rng); // close logits, so the masks matter
  std::vector<float> weights(rows * 2);
  std::vector<int32_t> indices(rows * 2);
  rt::routeSparseMixer(logits.data(), rows, experts, 0.01, weights.data(),
                       indices.data());
  int partial = 0;
  for (int r = 0; r < rows; ++r) {
    std::vector<float> row(logits.begin() + r * experts,
                           logits.begin() + (r + 1) * experts);
    int e1, e2;
    double w1, w2;
    referenceSparseMixer(row, 0.01, e1, e2, w1, w2);
    EXPECT_EQ(indices[2 * r], e1);
    EXPECT_EQ(indices[2 * r + 1], e2);
    EXPECT_NEAR(weights[2 * r], w1, 1e-6);
    EXPECT_NEAR(weights[2 * r + 1], w2, 1e-6);
    partial += w1 < 0.999;
  }
  EXPECT_GT(partial, 0) << "the masks never kept a second logit";
}

TEST(Routing, SparseMixerWithFarApartLogitsGivesFullWeights) {
  // Logits far apart: each mask keeps only the chosen expert, weight 1.
  std::vector<float> logits = {0.1f, 3.0f, -2.0f, 1.5f};
  float weights[2];
  int32_t indices[2];
  rt::routeSparseMixer(logits.data(), 1, 4, 0.01, weights, indices);
  EXPECT_EQ(indices[0], 1);
  EXPECT_EQ(indices[1], 3);
  EXPECT_FLOAT_EQ(weights[0], 1.0f);
  EXPECT_FLOAT_EQ(weights[1], 1.0f);
}

TEST(Routing, SoftmaxTopKRenormalizes) {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f, 0.0f};
  float weights[2];
  int32_t indices[2];
  rt::routeSoftmaxTopK(logits.data(), 1, 4, 2, /*normalize=*/true, weights,
                       indices);
  EXPECT_EQ(indices[0], 1);
  EXPECT_EQ(indices[1], 2);
  double e = std::exp(1.0);
  EXPECT_NEAR(weights[0], e / (e + 1), 1e-6);
  EXPECT_NEAR(weights[1], 1 / (e + 1), 1e-6);
  rt::routeSoftmaxTopK(logits.data(), 1, 4, 2, /*normalize=*/false, weights,
                       indices);
  double z = std::exp(1.0) + std::exp(3.0) + std::exp(2.0) + 1.0;
  EXPECT_NEAR(weights[0], std::exp(3.0) / z, 1e-6);
}

/// n random values.
std::vector<float> randomValues(std::mt19937 &rng, int n) {
  std::normal_distribution<float> dist(0.0f, 0.5f);
  std::vector<float> out(n);
  for (float &x : out)
    x = dist(rng);
  return out;
}

/// `dense<"0x...">`: the values' little-endian bytes, any shape.
std::string dense(const std::vector<float> &values) {
  static const char *hex = "0123456789ABCDEF";
  std::string out = "dense<\"0x";
  const auto *bytes = reinterpret_cast<const unsigned char *>(values.data());
  for (size_t i = 0; i < values.size() * sizeof(float); ++i) {
    out += hex[bytes[i] >> 4];
    out += hex[bytes[i] & 15];
  }
  return out + "\">";
}

std::vector<float> concat(const std::vector<std::vector<float>> &parts) {
  std::vector<float> all;
  for (const auto &p : parts)
    all.insert(all.end(), p.begin(), p.end());
  return all;
}

/// A one-layer MoE model with inline weights, experts stacked or not.
std::string moeModel(bool stacked, const std::string &routing) {
  std::mt19937 rng(7);
  const int V = 16, H = 8, I = 6, E = 4;
  std::ostringstream ir;
  ir << "phi.model @m attributes {config = #phi.config<architecture = "
        "\"PhimoeForCausalLM\", vocab_size = 16, hidden_size = 8, num_layers "
        "= 1, max_positions = 64, bos_token_id = 1, eos_token_ids = [2], "
        "pad_token_id = 2, tie_word_embeddings = true>, stores = {}} {\n"
        "^bb0(%ids: tensor<?x?xi32>):\n";
  auto weight = [&](const std::string &name, std::vector<int> shape) {
    int n = 1;
    std::string type = "tensor<";
    for (int d : shape) {
      n *= d;
      type += std::to_string(d) + "x";
    }
    type += "f32>";
    ir << "  %" << name << " = phi.weight " << dense(randomValues(rng, n))
       << " : " << type << "\n";
  };
  weight("emb", {V, H});
  weight("router", {E, H});
  // Draw per-expert weights in one order for both layouts, then emit them
  // either one by one or concatenated.
  std::vector<std::vector<float>> gate, up, down;
  for (int e = 0; e < E; ++e) {
    gate.push_back(randomValues(rng, I * H));
    up.push_back(randomValues(rng, I * H));
    down.push_back(randomValues(rng, H * I));
  }
  if (stacked) {
    ir << "  %g = phi.weight " << dense(concat(gate)) << " : tensor<4x6x8xf32>\n";
    ir << "  %u = phi.weight " << dense(concat(up)) << " : tensor<4x6x8xf32>\n";
    ir << "  %d = phi.weight " << dense(concat(down)) << " : tensor<4x8x6xf32>\n";
  } else {
    for (int e = 0; e < E; ++e) {
      ir << "  %g" << e << " = phi.weight " << dense(gate[e]) << " : tensor<6x8xf32>\n";
      ir << "  %u" << e << " = phi.weight " << dense(up[e]) << " : tensor<6x8xf32>\n";
      ir << "  %d" << e << " = phi.weight " << dense(down[e]) << " : tensor<8x6xf32>\n";
    }
  }
  const char *A = "tensor<?x?x8xf32>";
  ir << "  %x = phi.embedding %ids, %emb : (tensor<?x?xi32>, tensor<16x8xf32>) -> " << A << "\n"
     << "  %a = phi.attention %x, %x, %x {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, "
        "rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 4, original_max_positions = 64, "
        "max_positions = 64, attention_factor = 1.0>} : (" << A << ", " << A << ", " << A << ") -> " << A << "\n"
     << "  %l = phi.linear %a, %router : (" << A << ", tensor<4x8xf32>) -> tensor<?x?x4xf32>\n"
     << "  %w, %i = phi.moe_route " << routing << " %l "
     << (routing == "sparsemixer" ? "{jitter_eps = 0.01 : f64, top_k = 2 : i64}"
                                  : "{normalize, top_k = 2 : i64}")
     << " : tensor<?x?x4xf32> -> tensor<?x?x2xf32>, tensor<?x?x2xi32>\n";
  if (stacked)
    ir << "  %y = phi.moe_experts silu %a, %w, %i gate(%g) up(%u) down(%d) {num_experts = 4 : i64} : ("
       << A << ", tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<4x6x8xf32>) up(tensor<4x6x8xf32>) "
          "down(tensor<4x8x6xf32>) -> " << A << "\n";
  else
    ir << "  %y = phi.moe_experts silu %a, %w, %i gate(%g0, %g1, %g2, %g3) up(%u0, %u1, %u2, %u3) "
          "down(%d0, %d1, %d2, %d3) {num_experts = 4 : i64} : (" << A
       << ", tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<6x8xf32>, tensor<6x8xf32>, "
          "tensor<6x8xf32>, tensor<6x8xf32>) up(tensor<6x8xf32>, tensor<6x8xf32>, tensor<6x8xf32>, "
          "tensor<6x8xf32>) down(tensor<8x6xf32>, tensor<8x6xf32>, tensor<8x6xf32>, tensor<8x6xf32>) -> "
       << A << "\n";
  ir << "  %r = phi.add %a, %y : " << A << "\n"
     << "  %logits = phi.lm_head %r, %emb : (" << A << ", tensor<16x8xf32>) -> tensor<?x?x16xf32>\n"
     << "  phi.output %logits : tensor<?x?x16xf32>\n}\n";
  return ir.str();
}

std::vector<float> runModel(const std::string &source) {
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(source, &context);
  EXPECT_TRUE(bool(module)) << source;
  if (!module)
    return {};
  auto model = *module->getOps<mlir::phi::ModelOp>().begin();
  auto executor = rt::Executor::create(model);
  EXPECT_TRUE(bool(executor));
  if (!executor)
    return {};
  std::vector<int32_t> tokens = {3, 7, 1, 15, 0, 9, 9, 4, 2, 11, 5, 6};
  std::vector<rt::KVCache> caches(2, rt::KVCache{**executor});
  std::vector<float> logits;
  EXPECT_FALSE(bool((*executor)->forward(tokens, 2, 6, caches, logits)));
  return logits;
}

TEST(MoeLayouts, StackedAndPerExpertWeightsComputeTheSame) {
  for (std::string routing : {"sparsemixer", "softmax_topk"}) {
    std::vector<float> perExpert = runModel(moeModel(false, routing));
    std::vector<float> stacked = runModel(moeModel(true, routing));
    ASSERT_EQ(perExpert.size(), size_t(12 * 16));
    ASSERT_EQ(perExpert, stacked) << routing;
  }
  // And the routing rule matters.
  EXPECT_NE(runModel(moeModel(false, "sparsemixer")),
            runModel(moeModel(false, "softmax_topk")));
}

} // namespace
