// RUN: phi-opt %s | phi-opt | FileCheck %s
// RUN: phi-opt %s --mlir-print-op-generic | phi-opt | FileCheck %s
// RUN: phi-opt %s --emit-bytecode | phi-opt | FileCheck %s

// The mixture-of-experts ops round-trip in both weight layouts: one weight
// per expert (Hugging Face experts.E.w1/w3/w2) and stacked [E, ...] tensors
// (GGUF ffn_*_exps); and rms_norm with llama.cpp's bias.

// CHECK-LABEL: func.func @per_expert
// CHECK: %[[W:.*]], %[[I:.*]] = phi.moe_route sparsemixer %{{.*}} {jitter_eps = 1.000000e-02 : f64, top_k = 2 : i64} : tensor<?x?x3xf32> -> tensor<?x?x2xf32>, tensor<?x?x2xi32>
// CHECK: phi.moe_experts silu %{{.*}}, %[[W]], %[[I]] gate(%{{.*}}, %{{.*}}, %{{.*}}) up(%{{.*}}, %{{.*}}, %{{.*}}) down(%{{.*}}, %{{.*}}, %{{.*}}) {num_experts = 3 : i64} : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<6x4xbf16>, tensor<6x4xbf16>, tensor<6x4xbf16>) up(tensor<6x4xbf16>, tensor<6x4xbf16>, tensor<6x4xbf16>) down(tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>) -> tensor<?x?x4xf32>
func.func @per_expert(%x: tensor<?x?x4xf32>, %router: tensor<3x4xf32>,
                      %g0: tensor<6x4xbf16>, %g1: tensor<6x4xbf16>, %g2: tensor<6x4xbf16>,
                      %u0: tensor<6x4xbf16>, %u1: tensor<6x4xbf16>, %u2: tensor<6x4xbf16>,
                      %d0: tensor<4x6xbf16>, %d1: tensor<4x6xbf16>, %d2: tensor<4x6xbf16>) -> tensor<?x?x4xf32> {
  %logits = phi.linear %x, %router : (tensor<?x?x4xf32>, tensor<3x4xf32>) -> tensor<?x?x3xf32>
  %w, %i = phi.moe_route sparsemixer %logits {jitter_eps = 0.01 : f64, top_k = 2 : i64} : tensor<?x?x3xf32> -> tensor<?x?x2xf32>, tensor<?x?x2xi32>
  %y = phi.moe_experts silu %x, %w, %i gate(%g0, %g1, %g2) up(%u0, %u1, %u2) down(%d0, %d1, %d2) {num_experts = 3 : i64}
      : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi32>)
        gate(tensor<6x4xbf16>, tensor<6x4xbf16>, tensor<6x4xbf16>)
        up(tensor<6x4xbf16>, tensor<6x4xbf16>, tensor<6x4xbf16>)
        down(tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>) -> tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}

// CHECK-LABEL: func.func @stacked
// CHECK: phi.moe_route softmax_topk %{{.*}} {normalize, top_k = 2 : i64}
// CHECK: phi.moe_experts silu %{{.*}}, %{{.*}}, %{{.*}} gate(%{{.*}}) up(%{{.*}}) down(%{{.*}}) {num_experts = 3 : i64} : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<3x6x4xf16>) up(tensor<3x6x4xf16>) down(tensor<3x4x6xf16>) -> tensor<?x?x4xf32>
// CHECK: phi.rms_norm %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-05 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
func.func @stacked(%x: tensor<?x?x4xf32>, %logits: tensor<?x?x3xf32>, %g: tensor<3x6x4xf16>,
                   %u: tensor<3x6x4xf16>, %d: tensor<3x4x6xf16>, %nw: tensor<4xf32>) -> tensor<?x?x4xf32> {
  %w, %i = phi.moe_route softmax_topk %logits {normalize, top_k = 2 : i64} : tensor<?x?x3xf32> -> tensor<?x?x2xf32>, tensor<?x?x2xi32>
  %y = phi.moe_experts silu %x, %w, %i gate(%g) up(%u) down(%d) {num_experts = 3 : i64}
      : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<3x6x4xf16>) up(tensor<3x6x4xf16>) down(tensor<3x4x6xf16>) -> tensor<?x?x4xf32>
  %n = phi.rms_norm %y, %nw, %nw {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  return %n : tensor<?x?x4xf32>
}
