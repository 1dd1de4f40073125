// RUN: phi-translate --import-hf %models/phimoe-tiny | FileCheck %s
// RUN: phi-translate --import-hf %models/phimoe-tiny | phi-opt | phi-opt --mlir-print-op-generic | phi-opt | FileCheck %s

// Phi-3.5-MoE layout: LayerNorm with bias, separate q/k/v/o projections with
// biases, GQA 8/2, longrope with PhiMoE's short/long mscale, a router per
// layer feeding sparsemixer top-2, four per-expert w1/w3/w2 gated MLPs, and
// an lm_head with bias.

// CHECK-LABEL: phi.model @phimoe_tiny
// CHECK-SAME: architecture = "PhimoeForCausalLM", vocab_size = 3520, hidden_size = 256, num_layers = 4
// CHECK: %[[LN_W:.*]] = phi.weight #phi.param<"model"::"model.layers.0.input_layernorm.weight"> : tensor<256xbf16>
// CHECK: %[[LN_B:.*]] = phi.weight #phi.param<"model"::"model.layers.0.input_layernorm.bias"> : tensor<256xbf16>
// CHECK: %[[H:.*]] = phi.layer_norm %{{.*}}, %[[LN_W]], %[[LN_B]] {epsilon = 1.000000e-05 : f64}
// CHECK: %[[QB:.*]] = phi.weight #phi.param<"model"::"model.layers.0.self_attn.q_proj.bias"> : tensor<256xbf16>
// CHECK: %[[Q:.*]] = phi.linear %[[H]], %{{.*}}, %[[QB]] : (tensor<?x?x256xf32>, tensor<256x256xbf16>, tensor<256xbf16>) -> tensor<?x?x256xf32>
// CHECK: %[[K:.*]] = phi.linear %[[H]], %{{.*}}, %{{.*}} : (tensor<?x?x256xf32>, tensor<64x256xbf16>, tensor<64xbf16>) -> tensor<?x?x64xf32>
// CHECK: phi.attention %[[Q]], %[[K]], %{{.*}} {head_dim = 32 : i64, num_heads = 8 : i64, num_kv_heads = 2 : i64
// CHECK-SAME: attention_factor = 1.2018504251546631 : f64
// CHECK-SAME: long_attention_factor = 1.2018504251546631 : f64
// CHECK-SAME: sliding_window = 8192 : i64
// CHECK: phi.weight #phi.param<"model"::"model.layers.0.self_attn.o_proj.bias"> : tensor<256xbf16>
// CHECK: %[[H2:.*]] = phi.layer_norm
// CHECK: %[[ROUTER_W:.*]] = phi.weight #phi.param<"model"::"model.layers.0.block_sparse_moe.gate.weight"> : tensor<4x256xbf16>
// CHECK: %[[LOGITS:.*]] = phi.linear %[[H2]], %[[ROUTER_W]] : (tensor<?x?x256xf32>, tensor<4x256xbf16>) -> tensor<?x?x4xf32>
// CHECK: %[[W:.*]], %[[IDX:.*]] = phi.moe_route sparsemixer %[[LOGITS]] {jitter_eps = 1.000000e-02 : f64, top_k = 2 : i64} : tensor<?x?x4xf32> -> tensor<?x?x2xf32>, tensor<?x?x2xi32>
// CHECK: %[[G0:.*]] = phi.weight #phi.param<"model"::"model.layers.0.block_sparse_moe.experts.0.w1.weight"> : tensor<384x256xbf16>
// CHECK: %[[U0:.*]] = phi.weight #phi.param<"model"::"model.layers.0.block_sparse_moe.experts.0.w3.weight"> : tensor<384x256xbf16>
// CHECK: %[[D0:.*]] = phi.weight #phi.param<"model"::"model.layers.0.block_sparse_moe.experts.0.w2.weight"> : tensor<256x384xbf16>
// CHECK: phi.moe_experts silu %[[H2]], %[[W]], %[[IDX]] gate(%[[G0]], %{{.*}}, %{{.*}}, %{{.*}}) up(%[[U0]], %{{.*}}, %{{.*}}, %{{.*}}) down(%[[D0]], %{{.*}}, %{{.*}}, %{{.*}}) {num_experts = 4 : i64}
// CHECK: %[[HEAD_B:.*]] = phi.weight #phi.param<"model"::"lm_head.bias"> : tensor<3520xbf16>
// CHECK: phi.lm_head %{{.*}}, %{{.*}}, %[[HEAD_B]] : (tensor<?x?x256xf32>, tensor<3520x256xbf16>, tensor<3520xbf16>) -> tensor<?x?x3520xf32>
