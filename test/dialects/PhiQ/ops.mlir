// RUN: phi-opt %s | phi-opt | FileCheck %s
// RUN: phi-opt %s --mlir-print-op-generic | phi-opt | FileCheck %s
// RUN: phi-opt %s --emit-bytecode | phi-opt | FileCheck %s

// Every phiq op, type and attribute survives printing and re-parsing.

// A scheme spelled out field by field.
// CHECK-LABEL: func.func @scheme
// CHECK: phiq.scheme = #phiq.scheme<format = "Q4_K", bits = 4, block_size = 32, super_block_size = 256, symmetric = false, scale = "u6*f16", min = "u6*f16", grid = "linear">
func.func @scheme() attributes {phiq.scheme = #phiq.scheme<format = "Q4_K", bits = 4, block_size = 32, super_block_size = 256, symmetric = false, scale = "u6*f16", min = "u6*f16", grid = "linear">} {
  return
}

// MatMulNBits schemes carry their zero point encoding; the GGUF ones
// leave it at its default (none) and print without it.
// CHECK-LABEL: func.func @mnb_schemes
// CHECK: a = #phiq.scheme<format = "MNB4_G32_ASYM", bits = 4, block_size = 32, super_block_size = 0, symmetric = false, scale = "f32", min = "none", grid = "linear", zero_point = "u4">
// CHECK-SAME: b = #phiq.scheme<format = "MNB8_G128_SYM_F16", bits = 8, block_size = 128, super_block_size = 0, symmetric = true, scale = "f16", min = "none", grid = "linear", zero_point = "implicit">
// CHECK-SAME: c = #phiq.scheme<format = "Q4_0", bits = 4, block_size = 32, super_block_size = 0, symmetric = true, scale = "f16", min = "none", grid = "linear">
func.func @mnb_schemes() attributes {a = #phiq.scheme<format = "MNB4_G32_ASYM", bits = 4, block_size = 32, super_block_size = 0, symmetric = false, scale = "f32", min = "none", grid = "linear", zero_point = "u4">, b = #phiq.scheme<format = "MNB8_G128_SYM_F16", bits = 8, block_size = 128, super_block_size = 0, symmetric = true, scale = "f16", min = "none", grid = "linear", zero_point = "implicit">, c = #phiq.scheme<format = "Q4_0", bits = 4, block_size = 32, super_block_size = 0, symmetric = true, scale = "f16", min = "none", grid = "linear", zero_point = "none">} {
  return
}

// MatMulNBits block formats as types.
// CHECK-LABEL: func.func @mnb_formats
// CHECK-SAME: !phiq.blocks<4x64, MNB4_G16_SYM>
// CHECK-SAME: !phiq.blocks<4x256, MNB4_G128_ASYM_F16>
// CHECK-SAME: !phiq.blocks<4x64, MNB8_G32_ASYM>
// CHECK: phiq.quantize %{{.*}} : tensor<8x64xbf16> -> !phiq.blocks<8x64, MNB4_G32_ASYM>
func.func @mnb_formats(%a: !phiq.blocks<4x64, MNB4_G16_SYM>, %b: !phiq.blocks<4x256, MNB4_G128_ASYM_F16>,
                       %c: !phiq.blocks<4x64, MNB8_G32_ASYM>, %w: tensor<8x64xbf16>) {
  %q = phiq.quantize %w : tensor<8x64xbf16> -> !phiq.blocks<8x64, MNB4_G32_ASYM>
  return
}

// NNCF's formats for OpenVINO: u4/i4 groups (MatMulNBits' bytes with f16
// scales) and u8 per channel (block_size -1: one group per row).
// CHECK-LABEL: func.func @nncf_formats
// CHECK-SAME: !phiq.blocks<4x128, NNCF_I4_G128>
// CHECK-SAME: !phiq.blocks<4x96, NNCF_U8_CHANNEL>
// CHECK-SAME: a = #phiq.scheme<format = "NNCF_U4_G64", bits = 4, block_size = 64, super_block_size = 0, symmetric = false, scale = "f16", min = "none", grid = "linear", zero_point = "u4">
// CHECK-SAME: b = #phiq.scheme<format = "NNCF_U8_CHANNEL", bits = 8, block_size = -1, super_block_size = 0, symmetric = false, scale = "f16", min = "none", grid = "linear", zero_point = "u8">
// CHECK: phiq.quantize %{{.*}} : tensor<8x96xbf16> -> !phiq.blocks<8x96, NNCF_U8_CHANNEL>
func.func @nncf_formats(%i4: !phiq.blocks<4x128, NNCF_I4_G128>, %u8: !phiq.blocks<4x96, NNCF_U8_CHANNEL>, %w: tensor<8x96xbf16>) attributes {a = #phiq.scheme<format = "NNCF_U4_G64", bits = 4, block_size = 64, super_block_size = 0, symmetric = false, scale = "f16", min = "none", grid = "linear", zero_point = "u4">, b = #phiq.scheme<format = "NNCF_U8_CHANNEL", bits = 8, block_size = -1, super_block_size = 0, symmetric = false, scale = "f16", min = "none", grid = "linear", zero_point = "u8">} {
  %q = phiq.quantize %w : tensor<8x96xbf16> -> !phiq.blocks<8x96, NNCF_U8_CHANNEL>
  return
}

// CHECK-LABEL: func.func @use_blocks
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x256xf32>, %[[IDS:.*]]: tensor<?x?xi32>, %[[W:.*]]: !phiq.blocks<768x256, Q4_K>, %[[E:.*]]: !phiq.blocks<3520x256, Q8_0>, %[[B:.*]]: tensor<768xf32>)
// CHECK: phiq.dequantize %[[W]] : !phiq.blocks<768x256, Q4_K> -> tensor<768x256xf32>
// CHECK: phiq.linear %[[X]], %[[W]] : (tensor<?x?x256xf32>, !phiq.blocks<768x256, Q4_K>) -> tensor<?x?x768xf32>
// CHECK: phiq.linear %[[X]], %[[W]], %[[B]] : (tensor<?x?x256xf32>, !phiq.blocks<768x256, Q4_K>, tensor<768xf32>) -> tensor<?x?x768xf32>
// CHECK: phiq.embedding %[[IDS]], %[[E]] : (tensor<?x?xi32>, !phiq.blocks<3520x256, Q8_0>) -> tensor<?x?x256xf32>
func.func @use_blocks(%x: tensor<?x?x256xf32>, %ids: tensor<?x?xi32>, %w: !phiq.blocks<768x256, Q4_K>,
                      %e: !phiq.blocks<3520x256, Q8_0>, %b: tensor<768xf32>) {
  %d = phiq.dequantize %w : !phiq.blocks<768x256, Q4_K> -> tensor<768x256xf32>
  %y = phiq.linear %x, %w : (tensor<?x?x256xf32>, !phiq.blocks<768x256, Q4_K>) -> tensor<?x?x768xf32>
  %y2 = phiq.linear %x, %w, %b : (tensor<?x?x256xf32>, !phiq.blocks<768x256, Q4_K>, tensor<768xf32>) -> tensor<?x?x768xf32>
  %z = phiq.embedding %ids, %e : (tensor<?x?xi32>, !phiq.blocks<3520x256, Q8_0>) -> tensor<?x?x256xf32>
  return
}

// Every block format as a type; stacked expert weights are 3-D.
// CHECK-LABEL: func.func @formats
// CHECK-SAME: !phiq.blocks<4x64, F32>
// CHECK-SAME: !phiq.blocks<4x64, F16>
// CHECK-SAME: !phiq.blocks<4x64, BF16>
// CHECK-SAME: !phiq.blocks<4x64, Q8_0>
// CHECK-SAME: !phiq.blocks<4x64, Q4_0>
// CHECK-SAME: !phiq.blocks<4x64, Q4_1>
// CHECK-SAME: !phiq.blocks<4x64, Q5_0>
// CHECK-SAME: !phiq.blocks<4x64, Q5_1>
// CHECK-SAME: !phiq.blocks<4x256, Q2_K>
// CHECK-SAME: !phiq.blocks<4x256, Q3_K>
// CHECK-SAME: !phiq.blocks<4x256, Q4_K>
// CHECK-SAME: !phiq.blocks<4x256, Q5_K>
// CHECK-SAME: !phiq.blocks<4x256, Q6_K>
// CHECK-SAME: !phiq.blocks<4x64, IQ4_NL>
// CHECK-SAME: !phiq.blocks<8x384x256, Q4_K>
func.func @formats(%a: !phiq.blocks<4x64, F32>, %b: !phiq.blocks<4x64, F16>, %c: !phiq.blocks<4x64, BF16>,
                   %d: !phiq.blocks<4x64, Q8_0>, %e: !phiq.blocks<4x64, Q4_0>, %f: !phiq.blocks<4x64, Q4_1>,
                   %g: !phiq.blocks<4x64, Q5_0>, %h: !phiq.blocks<4x64, Q5_1>, %i: !phiq.blocks<4x256, Q2_K>,
                   %j: !phiq.blocks<4x256, Q3_K>, %k: !phiq.blocks<4x256, Q4_K>, %l: !phiq.blocks<4x256, Q5_K>,
                   %m: !phiq.blocks<4x256, Q6_K>, %n: !phiq.blocks<4x64, IQ4_NL>, %o: !phiq.blocks<8x384x256, Q4_K>) {
  return
}

// A packed weight inside a model reads its bytes from a store.
// CHECK-LABEL: phi.model @packed
// CHECK: %[[P:.*]] = phiq.packed_weight #phi.param<"q"::"model.embed_tokens.weight"> : tensor<544xui8> -> !phiq.blocks<8x64, Q8_0>
// CHECK: phiq.dequantize %[[P]] : !phiq.blocks<8x64, Q8_0> -> tensor<8x64xf32>
phi.model @packed attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 64, num_layers = 1, max_positions = 64, bos_token_id = 1, eos_token_ids = [2], pad_token_id = 2, tie_word_embeddings = true>, stores = {q = "/nonexistent/q.safetensors"}} {
^bb0(%ids: tensor<?x?xi32>):
  %p = phiq.packed_weight #phi.param<"q"::"model.embed_tokens.weight"> : tensor<544xui8> -> !phiq.blocks<8x64, Q8_0>
  %t = phiq.dequantize %p : !phiq.blocks<8x64, Q8_0> -> tensor<8x64xf32>
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x64xf32>) -> tensor<?x?x64xf32>
  %a = phi.attention %x, %x, %x {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 32 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 32, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %l = phi.lm_head %a, %t : (tensor<?x?x64xf32>, tensor<8x64xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}

// MatMulNBits' planar layout (an imported ONNX file): codes, scales and,
// when asymmetric, packed zero points as three parameters.
// CHECK-LABEL: func.func @planar
// CHECK: phiq.packed_weight #phi.param<"o"::"w.qweight"> : tensor<8x2x16xui8> -> !phiq.blocks<8x64, MNB4_G32_ASYM> {scales = #phi.param<"o"::"w.scales"> : tensor<16xf32>, zero_points = #phi.param<"o"::"w.zero_points"> : tensor<8xui8>}
// CHECK: phiq.packed_weight #phi.param<"o"::"v.qweight"> : tensor<8x1x64xui8> -> !phiq.blocks<8x64, MNB8_G64_SYM_F16> {scales = #phi.param<"o"::"v.scales"> : tensor<8xf16>}
func.func @planar() {
  %a = phiq.packed_weight #phi.param<"o"::"w.qweight"> : tensor<8x2x16xui8> -> !phiq.blocks<8x64, MNB4_G32_ASYM> {scales = #phi.param<"o"::"w.scales"> : tensor<16xf32>, zero_points = #phi.param<"o"::"w.zero_points"> : tensor<8xui8>}
  %b = phiq.packed_weight #phi.param<"o"::"v.qweight"> : tensor<8x1x64xui8> -> !phiq.blocks<8x64, MNB8_G64_SYM_F16> {scales = #phi.param<"o"::"v.scales"> : tensor<8xf16>}
  return
}

// QDQ8_CHANNEL planar (an imported DequantizeLinear(axis=0)): int8 codes
// [rows, cols] and one f32 scale per row.
// CHECK-LABEL: func.func @planar_qdq
// CHECK: phiq.packed_weight #phi.param<"o"::"w.qdq"> : tensor<8x64xi8> -> !phiq.blocks<8x64, QDQ8_CHANNEL> {scales = #phi.param<"o"::"w.qdq_scale"> : tensor<8xf32>}
func.func @planar_qdq() {
  %a = phiq.packed_weight #phi.param<"o"::"w.qdq"> : tensor<8x64xi8> -> !phiq.blocks<8x64, QDQ8_CHANNEL> {scales = #phi.param<"o"::"w.qdq_scale"> : tensor<8xf32>}
  return
}

// A deferred quantization, from each float element type.
// CHECK-LABEL: func.func @quantize
// CHECK: phiq.quantize %{{.*}} : tensor<768x256xbf16> -> !phiq.blocks<768x256, Q4_K>
// CHECK: phiq.quantize %{{.*}} : tensor<8x64xf32> -> !phiq.blocks<8x64, Q8_0>
// CHECK: phiq.quantize %{{.*}} : tensor<2x8x64xf16> -> !phiq.blocks<2x8x64, Q4_0>
func.func @quantize(%a: tensor<768x256xbf16>, %b: tensor<8x64xf32>, %c: tensor<2x8x64xf16>) {
  %pa = phiq.quantize %a : tensor<768x256xbf16> -> !phiq.blocks<768x256, Q4_K>
  %pb = phiq.quantize %b : tensor<8x64xf32> -> !phiq.blocks<8x64, Q8_0>
  %pc = phiq.quantize %c : tensor<2x8x64xf16> -> !phiq.blocks<2x8x64, Q4_0>
  return
}

// MLX affine schemes and block formats round-trip.
// CHECK-LABEL: func.func @mlx_formats
// CHECK-SAME: !phiq.blocks<4x128, MLX6_G32_F16>
// CHECK-SAME: s = #phiq.scheme<format = "MLX4_G64_BF16", bits = 4, block_size = 64, super_block_size = 0, symmetric = false, scale = "bf16", min = "bf16", grid = "linear">
// CHECK: phiq.quantize %{{.*}} : tensor<8x64xbf16> -> !phiq.blocks<8x64, MLX4_G64_BF16>
func.func @mlx_formats(%a: !phiq.blocks<4x128, MLX6_G32_F16>, %w: tensor<8x64xbf16>) attributes {s = #phiq.scheme<format = "MLX4_G64_BF16", bits = 4, block_size = 64, super_block_size = 0, symmetric = false, scale = "bf16", min = "bf16", grid = "linear">} {
  %q = phiq.quantize %w : tensor<8x64xbf16> -> !phiq.blocks<8x64, MLX4_G64_BF16>
  return
}

// A deferred quantization weighted by calibration statistics: the op names
// its entry, the model the file.
// CHECK-LABEL: phi.model @importance
// CHECK-SAME: phiq.importance_file = "/nonexistent/stats.safetensors"
// CHECK: phiq.quantize %{{.*}} {importance = "model.embed_tokens.weight"} : tensor<8x64xf32> -> !phiq.blocks<8x64, Q8_0>
phi.model @importance attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 64, num_layers = 1, max_positions = 64, bos_token_id = 1, eos_token_ids = [2], pad_token_id = 2, tie_word_embeddings = true>, phiq.importance_file = "/nonexistent/stats.safetensors", stores = {}} {
^bb0(%ids: tensor<?x?xi32>):
  %w = phi.weight dense<0.5> : tensor<8x64xf32>
  %p = phiq.quantize %w {importance = "model.embed_tokens.weight"} : tensor<8x64xf32> -> !phiq.blocks<8x64, Q8_0>
  %t = phiq.dequantize %p : !phiq.blocks<8x64, Q8_0> -> tensor<8x64xf32>
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x64xf32>) -> tensor<?x?x64xf32>
  %a = phi.attention %x, %x, %x {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 32 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 32, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %l = phi.lm_head %a, %t : (tensor<?x?x64xf32>, tensor<8x64xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}

// W8A8: a linear's input quantized dynamically (DynamicQuantizeLinear) or
// with a calibrated scale and zero point.
// CHECK-LABEL: func.func @quantize_activation
// CHECK: %[[D:.*]] = phiq.quantize_activation "dynamic" %{{.*}} : tensor<?x?x64xf32>
// CHECK: phi.linear %[[D]], %{{.*}} : (tensor<?x?x64xf32>, tensor<8x64xf32>) -> tensor<?x?x8xf32>
// CHECK: %[[S:.*]] = phiq.quantize_activation "static" %{{.*}} {scale = 1.250000e-01 : f32, zero_point = 128 : i64} : tensor<?x?x64xf32>
// CHECK: phi.lm_head %[[S]], %{{.*}} : (tensor<?x?x64xf32>, tensor<8x64xf32>) -> tensor<?x?x8xf32>
func.func @quantize_activation(%x: tensor<?x?x64xf32>, %w: tensor<8x64xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  %d = phiq.quantize_activation "dynamic" %x : tensor<?x?x64xf32>
  %y = phi.linear %d, %w : (tensor<?x?x64xf32>, tensor<8x64xf32>) -> tensor<?x?x8xf32>
  %s = phiq.quantize_activation "static" %x {scale = 0.125 : f32, zero_point = 128 : i64} : tensor<?x?x64xf32>
  %l = phi.lm_head %s, %w : (tensor<?x?x64xf32>, tensor<8x64xf32>) -> tensor<?x?x8xf32>
  return %y, %l : tensor<?x?x8xf32>, tensor<?x?x8xf32>
}
