// RUN: phi-opt %s --phiq-emulate-llamacpp | FileCheck %s
// RUN: phi-translate --import-hf %models/phimoe-tiny | phi-opt --phiq-emulate-llamacpp -o %t.mlir
// RUN: FileCheck %s --check-prefix=MODEL < %t.mlir
// RUN: phi-run eval %t.mlir --tokens %models/phimoe-tiny/reference/eval_tokens.i32 --json | FileCheck %s --check-prefix=PPL

// LayerNorm becomes RMS norm plus the same bias.
// CHECK-LABEL: func.func @norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x4xf32>, %[[W:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK: phi.rms_norm %[[X]], %[[W]], %[[B]] {epsilon = 1.000000e-05 : f64}
// CHECK-NOT: phi.layer_norm
func.func @norm(%x: tensor<?x?x4xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<?x?x4xf32> {
  %y = phi.layer_norm %x, %w, %b {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}

// sparsemixer becomes softmax top-k with renormalized weights.
// CHECK-LABEL: func.func @route
// CHECK: phi.moe_route softmax_topk %{{.*}} {normalize, top_k = 2 : i64}
func.func @route(%logits: tensor<?x?x4xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi32>) {
  %w, %i = phi.moe_route sparsemixer %logits {jitter_eps = 0.01 : f64, top_k = 2 : i64} : tensor<?x?x4xf32> -> tensor<?x?x2xf32>, tensor<?x?x2xi32>
  return %w, %i : tensor<?x?x2xf32>, tensor<?x?x2xi32>
}

// Dense RMS norms and softmax routing are left alone.
// CHECK-LABEL: func.func @unchanged
// CHECK: phi.rms_norm
// CHECK: phi.moe_route softmax_topk %{{.*}} {top_k = 1 : i64}
func.func @unchanged(%x: tensor<?x?x4xf32>, %w: tensor<4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x1xf32>) {
  %y = phi.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %r, %i = phi.moe_route softmax_topk %x {top_k = 1 : i64} : tensor<?x?x4xf32> -> tensor<?x?x1xf32>, tensor<?x?x1xi32>
  return %y, %r : tensor<?x?x4xf32>, tensor<?x?x1xf32>
}

// On phimoe-tiny every norm and router is rewritten, and the perplexity is
// llama.cpp's (its F32 GGUF measures 7.4674) instead of transformers' 6.2903.
// MODEL-NOT: phi.layer_norm
// MODEL-NOT: sparsemixer
// PPL: "perplexity":7.467
