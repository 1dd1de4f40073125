// RUN: phi-opt %s -split-input-file -verify-diagnostics

// Verifier errors of the phiq dialect, one small case each.

// A scheme cannot misdescribe its format.
// expected-error@+1 {{Q4_K has bits = 4, not 5}}
func.func @scheme_bits() attributes {s = #phiq.scheme<format = "Q4_K", bits = 5, block_size = 32, super_block_size = 256, symmetric = false, scale = "u6*f16", min = "u6*f16", grid = "linear">} {
  return
}

// -----

// expected-error@+1 {{Q8_0 has symmetric = true, not false}}
func.func @scheme_symmetric() attributes {s = #phiq.scheme<format = "Q8_0", bits = 8, block_size = 32, super_block_size = 0, symmetric = false, scale = "f16", min = "none", grid = "linear">} {
  return
}

// -----

// expected-error@+1 {{Q6_K has scale encoding i8*f16, not u6*f16}}
func.func @scheme_scale() attributes {s = #phiq.scheme<format = "Q6_K", bits = 6, block_size = 16, super_block_size = 256, symmetric = true, scale = "u6*f16", min = "none", grid = "linear">} {
  return
}

// -----

// expected-error@+1 {{unknown block format 'Q7_K'}}
func.func @scheme_unknown() attributes {s = #phiq.scheme<format = "Q7_K", bits = 7, block_size = 32, super_block_size = 256, symmetric = true, scale = "f16", min = "none", grid = "linear">} {
  return
}

// -----

// A MatMulNBits scheme states its zero point encoding exactly.
// expected-error@+1 {{MNB4_G32_ASYM has zero point encoding u4, not implicit}}
func.func @scheme_zero_point() attributes {s = #phiq.scheme<format = "MNB4_G32_ASYM", bits = 4, block_size = 32, super_block_size = 0, symmetric = false, scale = "f32", min = "none", grid = "linear", zero_point = "implicit">} {
  return
}

// -----

// Left out, the zero point encoding is none, which no MatMulNBits format has.
// expected-error@+1 {{MNB8_G64_SYM has zero point encoding implicit, not none}}
func.func @scheme_zero_point_default() attributes {s = #phiq.scheme<format = "MNB8_G64_SYM", bits = 8, block_size = 64, super_block_size = 0, symmetric = true, scale = "f32", min = "none", grid = "linear">} {
  return
}

// -----

// expected-error@+1 {{MNB4_G64_SYM_F16 has scale encoding f16, not f32}}
func.func @scheme_mnb_scale() attributes {s = #phiq.scheme<format = "MNB4_G64_SYM_F16", bits = 4, block_size = 64, super_block_size = 0, symmetric = true, scale = "f32", min = "none", grid = "linear", zero_point = "implicit">} {
  return
}

// -----

// expected-error@+1 {{MNB4_G128_ASYM has block_size = 128, not 32}}
func.func @scheme_mnb_block() attributes {s = #phiq.scheme<format = "MNB4_G128_ASYM", bits = 4, block_size = 32, super_block_size = 0, symmetric = false, scale = "f32", min = "none", grid = "linear", zero_point = "u4">} {
  return
}

// -----

// A MatMulNBits row is a whole number of its blocks.
// expected-error@+1 {{MNB4_G128_SYM packs rows in blocks of 128 elements, but rows here have 192}}
func.func @mnb_rows(%w: !phiq.blocks<256x192, MNB4_G128_SYM>) {
  return
}

// -----

// A K-quant needs rows that are whole 256-element super-blocks.
// expected-error@+1 {{Q4_K packs rows in blocks of 256 elements, but rows here have 384; use a format with a smaller block (the quantizer's fallback does this) or keep this tensor in F16}}
func.func @kquant_rows(%w: !phiq.blocks<256x384, Q4_K>) {
  return
}

// -----

// expected-error@+1 {{unknown block format 'Q9_9'}}
func.func @type_unknown(%w: !phiq.blocks<4x32, Q9_9>) {
  return
}

// -----

// expected-error@+1 {{packed weights are 2-D matrices or 3-D stacks of them, got rank 1}}
func.func @type_rank(%w: !phiq.blocks<32, Q8_0>) {
  return
}

// -----

func.func @dequantize_type(%w: !phiq.blocks<4x32, Q8_0>) {
  // expected-error@+1 {{result must be 'tensor<4x32xf32>', the weight the blocks stand for}}
  %d = phiq.dequantize %w : !phiq.blocks<4x32, Q8_0> -> tensor<4x64xf32>
  return
}

// -----

func.func @linear_shape(%x: tensor<?x?x64xf32>, %w: !phiq.blocks<4x32, Q8_0>) {
  // expected-error@+1 {{weight 4x32 maps 32 features to 4, not 64 to 4}}
  %y = phiq.linear %x, %w : (tensor<?x?x64xf32>, !phiq.blocks<4x32, Q8_0>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<?x?x32xf32>, %w: !phiq.blocks<4x32, Q8_0>, %b: tensor<5xf32>) {
  // expected-error@+1 {{bias must have 4 elements}}
  %y = phiq.linear %x, %w, %b : (tensor<?x?x32xf32>, !phiq.blocks<4x32, Q8_0>, tensor<5xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @embedding_features(%ids: tensor<?x?xi32>, %t: !phiq.blocks<8x32, Q8_0>) {
  // expected-error@+1 {{result must have the table's 32 features}}
  %y = phiq.embedding %ids, %t : (tensor<?x?xi32>, !phiq.blocks<8x32, Q8_0>) -> tensor<?x?x16xf32>
  return
}

// -----

phi.model @m attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 64, num_layers = 1, max_positions = 64, bos_token_id = 1, eos_token_ids = [2], pad_token_id = 2, tie_word_embeddings = true>, stores = {q = "/x"}} {
^bb0(%ids: tensor<?x?xi32>):
  // expected-error@+1 {{8 rows of 64 Q8_0 elements take 544 bytes, but the parameter holds 256}}
  %p = phiq.packed_weight #phi.param<"q"::"e"> : tensor<256xui8> -> !phiq.blocks<8x64, Q8_0>
  %t = phiq.dequantize %p : !phiq.blocks<8x64, Q8_0> -> tensor<8x64xf32>
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x64xf32>) -> tensor<?x?x64xf32>
  %a = phi.attention %x, %x, %x {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 32 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 32, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %l = phi.lm_head %a, %t : (tensor<?x?x64xf32>, tensor<8x64xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}

// -----

func.func @packed_bytes_type() {
  // expected-error@+1 {{packed bytes must be a 1-D ui8 tensor, got 'tensor<272xi8>'}}
  %p = phiq.packed_weight #phi.param<"q"::"e"> : tensor<272xi8> -> !phiq.blocks<8x64, Q8_0>
  return
}

// -----

func.func @quantize_shape(%w: tensor<4x64xf32>) {
  // expected-error@+1 {{input of shape 'tensor<4x64xf32>' cannot fill '!phiq.blocks<4x32, Q8_0>'; the blocks must have the input's shape}}
  %p = phiq.quantize %w : tensor<4x64xf32> -> !phiq.blocks<4x32, Q8_0>
  return
}

// -----

func.func @quantize_element(%w: tensor<4x32xi8>) {
  // expected-error@+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %p = phiq.quantize %w : tensor<4x32xi8> -> !phiq.blocks<4x32, Q8_0>
  return
}

// -----

func.func @planar_not_nbits() {
  // expected-error@+1 {{separate scales are only allowed for the MatMulNBits formats (MNB*) and QDQ8_CHANNEL, not Q8_0}}
  %p = phiq.packed_weight #phi.param<"o"::"w"> : tensor<512xui8> -> !phiq.blocks<8x64, Q8_0> {scales = #phi.param<"o"::"s"> : tensor<16xf32>}
  return
}

// -----

// An MLX scheme's scale and bias (min) share the model's float type.
// expected-error@+1 {{MLX4_G64_BF16 has min encoding bf16, not none}}
func.func @scheme_mlx_bias() attributes {s = #phiq.scheme<format = "MLX4_G64_BF16", bits = 4, block_size = 64, super_block_size = 0, symmetric = false, scale = "bf16", min = "none", grid = "linear">} {
  return
}

// -----

func.func @planar_codes() {
  // expected-error@+1 {{8x64 MNB4_G32_SYM codes take 256 ui8, but the parameter is 'tensor<8x2x8xui8>'}}
  %p = phiq.packed_weight #phi.param<"o"::"w"> : tensor<8x2x8xui8> -> !phiq.blocks<8x64, MNB4_G32_SYM> {scales = #phi.param<"o"::"s"> : tensor<16xf32>}
  return
}

// -----

// An MLX scheme states its group size exactly.
// expected-error@+1 {{MLX3_G128_F16 has block_size = 128, not 64}}
func.func @scheme_mlx_group() attributes {s = #phiq.scheme<format = "MLX3_G128_F16", bits = 3, block_size = 64, super_block_size = 0, symmetric = false, scale = "f16", min = "f16", grid = "linear">} {
  return
}

// -----

func.func @planar_scale_type() {
  // expected-error@+1 {{expected 16 'f32' scales, one per block, but the parameter is 'tensor<16xf16>'}}
  %p = phiq.packed_weight #phi.param<"o"::"w"> : tensor<8x2x16xui8> -> !phiq.blocks<8x64, MNB4_G32_SYM> {scales = #phi.param<"o"::"s"> : tensor<16xf16>}
  return
}

// -----

func.func @planar_symmetric_zero_points() {
  // expected-error@+1 {{MNB4_G32_SYM is symmetric and takes no zero points}}
  %p = phiq.packed_weight #phi.param<"o"::"w"> : tensor<8x2x16xui8> -> !phiq.blocks<8x64, MNB4_G32_SYM> {scales = #phi.param<"o"::"s"> : tensor<16xf32>, zero_points = #phi.param<"o"::"z"> : tensor<8xui8>}
  return
}

// -----

func.func @planar_missing_zero_points() {
  // expected-error@+1 {{MNB4_G32_ASYM is asymmetric and needs zero points}}
  %p = phiq.packed_weight #phi.param<"o"::"w"> : tensor<8x2x16xui8> -> !phiq.blocks<8x64, MNB4_G32_ASYM> {scales = #phi.param<"o"::"s"> : tensor<16xf32>}
  return
}

// -----

func.func @planar_zero_point_count() {
  // expected-error@+1 {{expected 8 ui8 of packed zero points, but the parameter is 'tensor<16xui8>'}}
  %p = phiq.packed_weight #phi.param<"o"::"w"> : tensor<8x2x16xui8> -> !phiq.blocks<8x64, MNB4_G32_ASYM> {scales = #phi.param<"o"::"s"> : tensor<16xf32>, zero_points = #phi.param<"o"::"z"> : tensor<16xui8>}
  return
}

// -----

func.func @zero_points_without_scales() {
  // expected-error@+1 {{zero points need separate scales (the planar MatMulNBits form)}}
  %p = phiq.packed_weight #phi.param<"o"::"w"> : tensor<272xui8> -> !phiq.blocks<8x32, MNB4_G32_ASYM> {zero_points = #phi.param<"o"::"z"> : tensor<8xui8>}
  return
}

// -----

// An MLX row is a whole number of its groups.
// expected-error@+1 {{MLX4_G64_F32 packs rows in blocks of 64 elements, but rows here have 96}}
func.func @mlx_rows(%w: !phiq.blocks<8x96, MLX4_G64_F32>) {
  return
}

// -----

func.func @importance_without_file(%w: tensor<4x32xf32>) {
  // expected-error@+1 {{names importance 'k' but its phi.model has no phiq.importance_file attribute naming the statistics file}}
  %p = phiq.quantize %w {importance = "k"} : tensor<4x32xf32> -> !phiq.blocks<4x32, Q8_0>
  return
}

// -----

func.func @activation_mode(%x: tensor<?x?x64xf32>) {
  // expected-error@+1 {{mode must be "dynamic" or "static", got "per_token"}}
  %q = phiq.quantize_activation "per_token" %x : tensor<?x?x64xf32>
  return
}

// -----

func.func @activation_dynamic_scale(%x: tensor<?x?x64xf32>) {
  // expected-error@+1 {{a dynamic quantization computes its scale and zero point at run time; remove scale and zero_point}}
  %q = phiq.quantize_activation "dynamic" %x {scale = 0.5 : f32} : tensor<?x?x64xf32>
  return
}

// -----

func.func @activation_static_needs_scale(%x: tensor<?x?x64xf32>) {
  // expected-error@+1 {{a static quantization needs a scale and a zero_point}}
  %q = phiq.quantize_activation "static" %x {scale = 0.5 : f32} : tensor<?x?x64xf32>
  return
}

// -----

func.func @activation_static_scale(%x: tensor<?x?x64xf32>) {
  // expected-error@+1 {{scale must be positive and finite, got 0}}
  %q = phiq.quantize_activation "static" %x {scale = 0.0 : f32, zero_point = 0 : i64} : tensor<?x?x64xf32>
  return
}

// -----

func.func @activation_static_zero_point(%x: tensor<?x?x64xf32>) {
  // expected-error@+1 {{zero_point 256 is outside uint8's [0, 255]}}
  %q = phiq.quantize_activation "static" %x {scale = 0.5 : f32, zero_point = 256 : i64} : tensor<?x?x64xf32>
  return
}

// -----

func.func @activation_user(%x: tensor<?x?x64xf32>, %w: tensor<64x64xf32>) {
  // expected-error@+1 {{quantized activations can only be the input of a linear or lm_head, not operand 1 of phi.add}}
  %q = phiq.quantize_activation "dynamic" %x : tensor<?x?x64xf32>
  %y = phi.add %x, %q : tensor<?x?x64xf32>
  return
}

// -----

func.func @planar_qdq_codes() {
  // expected-error@+1 {{8x64 QDQ8_CHANNEL codes take 512 8-bit integers, but the parameter is 'tensor<8x32xi8>'}}
  %p = phiq.packed_weight #phi.param<"o"::"w"> : tensor<8x32xi8> -> !phiq.blocks<8x64, QDQ8_CHANNEL> {scales = #phi.param<"o"::"s"> : tensor<8xf32>}
  return
}

// -----

func.func @planar_qdq_scales() {
  // expected-error@+1 {{expected 8 f32 scales, one per row, but the parameter is 'tensor<16xf32>'}}
  %p = phiq.packed_weight #phi.param<"o"::"w"> : tensor<8x64xi8> -> !phiq.blocks<8x64, QDQ8_CHANNEL> {scales = #phi.param<"o"::"s"> : tensor<16xf32>}
  return
}

// -----

func.func @planar_qdq_zero_points() {
  // expected-error@+1 {{QDQ8_CHANNEL is symmetric and takes no zero points}}
  %p = phiq.packed_weight #phi.param<"o"::"w"> : tensor<8x64xi8> -> !phiq.blocks<8x64, QDQ8_CHANNEL> {scales = #phi.param<"o"::"s"> : tensor<8xf32>, zero_points = #phi.param<"o"::"z"> : tensor<8xi8>}
  return
}
