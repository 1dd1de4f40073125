// RUN: phi-translate --import-hf %models/phi4-mini-tiny | FileCheck %s

// Phi-4-mini layout: GQA (8 query heads over 2 kv heads), partial rotary
// (0.75 of head_dim 32 = 24 rotated dims, so 12 longrope factors), tied
// embeddings (lm_head reads the embedding table), eos from both files.

// CHECK-LABEL: phi.model @phi4_mini_tiny
// CHECK-SAME: vocab_size = 4032, hidden_size = 256, num_layers = 4
// CHECK-SAME: bos_token_id = 4000, eos_token_ids = [4000, 4003], pad_token_id = 4000, tie_word_embeddings = true
// CHECK: %[[EMBED_W:.*]] = phi.weight #phi.param<"model"::"model.embed_tokens.weight"> : tensor<4032x256xbf16>
// CHECK: phi.weight #phi.param<"model"::"model.layers.0.self_attn.qkv_proj.weight"> : tensor<384x256xbf16>
// CHECK: phi.split %{{.*}} : tensor<?x?x384xf32> -> tensor<?x?x256xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
// CHECK: phi.attention
// CHECK-SAME: head_dim = 32 : i64, num_heads = 8 : i64, num_kv_heads = 2 : i64
// CHECK-SAME: rope = #phi.rope<kind = longrope, theta = 1.000000e+04 : f64, rotary_dim = 24, original_max_positions = 512, max_positions = 8192, attention_factor = 1.2018504251546631 : f64, short_factor = [1.000000e+00, 1.002479e+00, {{.*}}, 1.300000e+00], long_factor = [1.000000e+00, 1.191871e+00, {{.*}}, 8.000000e+00]>
// CHECK-NOT: lm_head.weight
// CHECK: phi.lm_head %{{.*}}, %[[EMBED_W]] : (tensor<?x?x256xf32>, tensor<4032x256xbf16>) -> tensor<?x?x4032xf32>
