// RUN: phi-translate --import-hf %models/phi35-tiny | FileCheck %s
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt | phi-opt | FileCheck %s

// Phi-3.5-mini layout: MHA (8/8 heads), longrope over all 32 head dims with
// 16 short and 16 long factors, untied lm_head, bf16 weights by reference.

// CHECK-LABEL: phi.model @phi35_tiny
// CHECK-SAME: config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 3520, hidden_size = 256, num_layers = 6, max_positions = 8192, bos_token_id = 1, eos_token_ids = [3500, 3507, 3501], pad_token_id = 3500, tie_word_embeddings = false>
// CHECK-SAME: stores = {model = "{{.*}}phi35-tiny"}
// CHECK: ^bb0(%[[IDS:.*]]: tensor<?x?xi32>):
// CHECK: %[[EMBED_W:.*]] = phi.weight #phi.param<"model"::"model.embed_tokens.weight"> : tensor<3520x256xbf16>
// CHECK: %[[X:.*]] = phi.embedding %[[IDS]], %[[EMBED_W]]
// CHECK: %[[NORM_W:.*]] = phi.weight #phi.param<"model"::"model.layers.0.input_layernorm.weight"> : tensor<256xbf16>
// CHECK: %[[H:.*]] = phi.rms_norm %[[X]], %[[NORM_W]] {epsilon = 1.000000e-05 : f64}
// CHECK: %[[QKV_W:.*]] = phi.weight #phi.param<"model"::"model.layers.0.self_attn.qkv_proj.weight"> : tensor<768x256xbf16>
// CHECK: %[[QKV:.*]] = phi.linear %[[H]], %[[QKV_W]] : (tensor<?x?x256xf32>, tensor<768x256xbf16>) -> tensor<?x?x768xf32>
// CHECK: %[[P:.*]]:3 = phi.split %[[QKV]] : tensor<?x?x768xf32> -> tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>
// CHECK: phi.attention %[[P]]#0, %[[P]]#1, %[[P]]#2
// CHECK-SAME: head_dim = 32 : i64, num_heads = 8 : i64, num_kv_heads = 8 : i64
// CHECK-SAME: rope = #phi.rope<kind = longrope, theta = 1.000000e+04 : f64, rotary_dim = 32, original_max_positions = 512, max_positions = 8192, attention_factor = 1.2018504251546631 : f64
// CHECK-SAME: short_factor = [1.000000e+00, 1.001333e+00, {{.*}}, 1.300000e+00], long_factor = [1.000000e+00, 1.120493e+00, {{.*}}, 8.000000e+00]>
// CHECK-SAME: sliding_window = 262144 : i64
// CHECK: phi.glu silu %{{.*}} : tensor<?x?x1536xf32> -> tensor<?x?x768xf32>
// CHECK: phi.weight #phi.param<"model"::"model.layers.5.mlp.down_proj.weight"> : tensor<256x768xbf16>
// CHECK-NOT: model.layers.6
// CHECK: %[[HEAD_W:.*]] = phi.weight #phi.param<"model"::"lm_head.weight"> : tensor<3520x256xbf16>
// CHECK: %[[LOGITS:.*]] = phi.lm_head %{{.*}}, %[[HEAD_W]] : (tensor<?x?x256xf32>, tensor<3520x256xbf16>) -> tensor<?x?x3520xf32>
// CHECK: phi.output %[[LOGITS]] : tensor<?x?x3520xf32>
