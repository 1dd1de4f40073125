// RUN: phi-opt %s | phi-opt | FileCheck %s
// RUN: phi-opt %s --mlir-print-op-generic | phi-opt | FileCheck %s
// RUN: phi-opt %s --emit-bytecode | phi-opt | FileCheck %s

// Every phi op and attribute survives printing and re-parsing (text, the
// generic form, and bytecode).

// CHECK-LABEL: phi.model @tiny
// CHECK-SAME: config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 4, num_layers = 2, max_positions = 64, bos_token_id = 1, eos_token_ids = [2, 3], pad_token_id = 2, tie_word_embeddings = true>
// CHECK-SAME: stores = {model = "/nonexistent/checkpoint"}
// CHECK: ^bb0(%[[IDS:.*]]: tensor<?x?xi32>):
// CHECK: %[[TABLE:.*]] = phi.weight #phi.param<"model"::"model.embed_tokens.weight"> : tensor<8x4xbf16>
// CHECK: %[[NORM_W:.*]] = phi.weight dense<1.000000e+00> : tensor<4xf32>
// CHECK: %[[QKV_W:.*]] = phi.weight dense<5.000000e-01> : tensor<12x4xf16>
// CHECK: %[[X:.*]] = phi.embedding %[[IDS]], %[[TABLE]] : (tensor<?x?xi32>, tensor<8x4xbf16>) -> tensor<?x?x4xf32>
// CHECK: %[[H:.*]] = phi.rms_norm %[[X]], %[[NORM_W]] {epsilon = 1.000000e-05 : f64}
// CHECK: %[[LN:.*]] = phi.layer_norm %[[H]], %[[NORM_W]], %[[NORM_W]] {epsilon = 1.000000e-05 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
// CHECK: %[[LN2:.*]] = phi.layer_norm %[[LN]], %[[NORM_W]] {epsilon = 1.000000e-05 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
// CHECK: %[[QKV:.*]] = phi.linear %[[LN2]], %[[QKV_W]] : (tensor<?x?x4xf32>, tensor<12x4xf16>) -> tensor<?x?x12xf32>
// CHECK: %[[P:.*]]:3 = phi.split %[[QKV]] : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
// CHECK: %[[A:.*]] = phi.attention %[[P]]#0, %[[P]]#1, %[[P]]#2 {head_dim = 2 : i64, num_heads = 2 : i64, num_kv_heads = 2 : i64, rope = #phi.rope<kind = longrope, theta = 1.000000e+04 : f64, rotary_dim = 2, original_max_positions = 16, max_positions = 64, attention_factor = 1.200000e+00 : f64, short_factor = [1.000000e+00], long_factor = [2.000000e+00]>, sliding_window = 32 : i64}
// CHECK: %[[A2:.*]] = phi.attention %[[P]]#0, %[[P]]#1, %[[P]]#2 {head_dim = 2 : i64, num_heads = 2 : i64, num_kv_heads = 2 : i64, rope = #phi.rope<kind = default, theta = 1.000000e+04 : f64, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.000000e+00 : f64>, scale = 2.500000e-01 : f64}
// CHECK: %[[R:.*]] = phi.add %[[A]], %[[A2]] : tensor<?x?x4xf32>
// CHECK: %[[BIAS:.*]] = phi.weight dense<0.000000e+00> : tensor<8xf32>
// CHECK: %[[G:.*]] = phi.glu silu %[[QKV]] : tensor<?x?x12xf32> -> tensor<?x?x6xf32>
// CHECK: %[[UP:.*]] = phi.linear %[[G]], %[[W64:.*]], %[[B4:.*]] : (tensor<?x?x6xf32>, tensor<4x6xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
// CHECK: %[[LOGITS:.*]] = phi.lm_head %{{.*}}, %[[TABLE]] : (tensor<?x?x4xf32>, tensor<8x4xbf16>) -> tensor<?x?x8xf32>
// CHECK: %[[LOGITS2:.*]] = phi.lm_head %{{.*}}, %[[TABLE]], %[[BIAS]] : (tensor<?x?x4xf32>, tensor<8x4xbf16>, tensor<8xf32>) -> tensor<?x?x8xf32>
// CHECK: phi.output %[[LOGITS2]] : tensor<?x?x8xf32>
phi.model @tiny attributes {
    config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8,
                         hidden_size = 4, num_layers = 2, max_positions = 64,
                         bos_token_id = 1, eos_token_ids = [2, 3],
                         pad_token_id = 2, tie_word_embeddings = true>,
    stores = {model = "/nonexistent/checkpoint"}} {
^bb0(%ids: tensor<?x?xi32>):
  %table = phi.weight #phi.param<"model"::"model.embed_tokens.weight"> : tensor<8x4xbf16>
  %norm_w = phi.weight dense<1.0> : tensor<4xf32>
  %qkv_w = phi.weight dense<0.5> : tensor<12x4xf16>
  %x = phi.embedding %ids, %table : (tensor<?x?xi32>, tensor<8x4xbf16>) -> tensor<?x?x4xf32>
  %h = phi.rms_norm %x, %norm_w {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %ln = phi.layer_norm %h, %norm_w, %norm_w {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %ln2 = phi.layer_norm %ln, %norm_w {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %qkv = phi.linear %ln2, %qkv_w : (tensor<?x?x4xf32>, tensor<12x4xf16>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64,
      rope = #phi.rope<kind = longrope, theta = 10000.0, rotary_dim = 2, original_max_positions = 16,
                       max_positions = 64, attention_factor = 1.2, short_factor = [1.0],
                       long_factor = [2.0]>,
      sliding_window = 32 : i64} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %a2 = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64,
      rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64,
                       max_positions = 64, attention_factor = 1.0>,
      scale = 0.25 : f64} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %r = phi.add %a, %a2 : tensor<?x?x4xf32>
  %bias = phi.weight dense<0.0> : tensor<8xf32>
  %g = phi.glu silu %qkv : tensor<?x?x12xf32> -> tensor<?x?x6xf32>
  %w64 = phi.weight dense<0.25> : tensor<4x6xf32>
  %b4 = phi.weight dense<0.125> : tensor<4xf32>
  %up = phi.linear %g, %w64, %b4 : (tensor<?x?x6xf32>, tensor<4x6xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %sum = phi.add %r, %up : tensor<?x?x4xf32>
  %logits = phi.lm_head %sum, %table : (tensor<?x?x4xf32>, tensor<8x4xbf16>) -> tensor<?x?x8xf32>
  %logits2 = phi.lm_head %sum, %table, %bias : (tensor<?x?x4xf32>, tensor<8x4xbf16>, tensor<8xf32>) -> tensor<?x?x8xf32>
  phi.output %logits2 : tensor<?x?x8xf32>
}
