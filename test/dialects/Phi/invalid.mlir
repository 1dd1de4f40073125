// RUN: phi-opt %s -split-input-file -verify-diagnostics

// Every verifier error of the phi dialect, one small case each.

// A #phi.param needs a parameter name.
func.func @param_empty_key() {
  // expected-error@+1 {{parameter name must not be empty}}
  %w = phi.weight #phi.param<"model"::""> : tensor<4xf32>
  return
}

// -----

// A #phi.param needs a store name.
func.func @param_empty_store() {
  // expected-error@+1 {{parameter store name must not be empty}}
  %w = phi.weight #phi.param<""::"x"> : tensor<4xf32>
  return
}

// -----

// A #phi.param tensor must be statically shaped.
func.func @param_dynamic() {
  // expected-error@+1 {{parameter 'x' must have a statically shaped tensor type}}
  %w = phi.weight #phi.param<"model"::"x"> : tensor<?xf32>
  return
}

// -----

// Rope theta must be positive.
func.func @rope_theta(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{rope theta must be positive}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 0.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Rope rotary_dim must be even.
func.func @rope_odd(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{rope rotary_dim must be positive and even, got 3}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 3, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Rope context lengths must be positive.
func.func @rope_ctx(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{rope context lengths must be positive}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 0, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Rope attention_factor must be positive.
func.func @rope_af(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{rope attention_factor must be positive}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 0.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Default rope takes no factors.
func.func @rope_default_factors(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{default rope takes no short/long factors}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0, short_factor = [1.0]>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Longrope needs both factor lists.
func.func @rope_long_missing(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{longrope needs both short_factor and long_factor}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = longrope, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0, short_factor = [1.0]>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Longrope short_factor is sized by rotary_dim / 2.
func.func @rope_short_size(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{longrope short_factor has 2 entries, expected rotary_dim / 2 = 1}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = longrope, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0, short_factor = [1.0, 1.0], long_factor = [1.0]>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Longrope long_factor is sized by rotary_dim / 2.
func.func @rope_long_size(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{longrope long_factor has 2 entries, expected rotary_dim / 2 = 1}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = longrope, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0, short_factor = [1.0], long_factor = [1.0, 2.0]>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Longrope factors must be positive.
func.func @rope_factor_neg(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{longrope factors must be positive, got -2}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = longrope, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0, short_factor = [1.0], long_factor = [-2.0]>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// num_heads must be a multiple of num_kv_heads.
func.func @attn_gqa(%q: tensor<?x?x6xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{num_heads (3) must be a multiple of num_kv_heads (2)}}
  %a = phi.attention %q, %k, %v {num_heads = 3 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x6xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x6xf32>
  return
}

// -----

// Query features are num_heads * head_dim.
func.func @attn_q(%q: tensor<?x?x6xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{query has 6 features, expected num_heads * head_dim = 4}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x6xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Key/value features are num_kv_heads * head_dim.
func.func @attn_kv(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{key and value must have num_kv_heads * head_dim = 2 features, got 4 and 4}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Result features are num_heads * head_dim.
func.func @attn_result(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{result must have num_heads * head_dim = 4 features}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x6xf32>
  return
}

// -----

// The rotary part cannot exceed the head.
func.func @attn_rotary(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{rope rotary_dim 4 exceeds head_dim 2}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 4, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// An explicit softmax scale must be positive.
func.func @attn_scale(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{scale must be positive}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>, scale = -1.0 : f64} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// The sliding window must be positive.
func.func @attn_window(%q: tensor<?x?x4xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>) {
  // expected-error@+1 {{attribute 'sliding_window' failed to satisfy constraint}}
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>, sliding_window = 0 : i64} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// weight_type
func.func @weight_type() {
  // expected-error@+1 {{result type 'tensor<5xf32>' differs from the value's type 'tensor<4xf32>'}}
  %w = "phi.weight"() <{value = dense<1.0> : tensor<4xf32>}> : () -> tensor<5xf32>
  return
}

// -----

// embedding_rank
func.func @embedding_rank(%ids: tensor<?x?xi32>, %t: tensor<8xf32>) {
  // expected-error@+1 {{table must be vocab x hidden, got 'tensor<8xf32>'}}
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// embedding_features
func.func @embedding_features(%ids: tensor<?x?xi32>, %t: tensor<8x4xf32>) {
  // expected-error@+1 {{result has 5 features but the table rows have 4}}
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x4xf32>) -> tensor<?x?x5xf32>
  return
}

// -----

// embedding_ids_type
func.func @embedding_ids_type(%ids: tensor<?x?xi64>, %t: tensor<8x4xf32>) {
  // expected-error@+1 {{operand #0 must be 2D tensor of 32-bit signless integer values}}
  %x = phi.embedding %ids, %t : (tensor<?x?xi64>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// embedding_tokens
func.func @embedding_tokens(%ids: tensor<2x3xi32>, %t: tensor<8x4xf32>) {
  // expected-error@+1 {{result batch and sequence sizes differ from ids}}
  %x = phi.embedding %ids, %t : (tensor<2x3xi32>, tensor<8x4xf32>) -> tensor<2x5x4xf32>
  return
}

// -----

// rms_norm_weight
func.func @rms_norm_weight(%x: tensor<?x?x4xf32>, %w: tensor<5xf32>) {
  // expected-error@+1 {{weight must have 4 elements, got 'tensor<5xf32>'}}
  %y = phi.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<5xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// rms_norm_result
func.func @rms_norm_result(%x: tensor<?x?x4xf32>, %w: tensor<4xf32>) {
  // expected-error@+1 {{result type 'tensor<1x?x4xf32>' must equal the input type 'tensor<?x?x4xf32>'}}
  %y = phi.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  return
}

// -----

// rms_norm_eps
func.func @rms_norm_eps(%x: tensor<?x?x4xf32>, %w: tensor<4xf32>) {
  // expected-error@+1 {{epsilon must be positive, got 0}}
  %y = phi.rms_norm %x, %w {epsilon = 0.0 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// rms_norm_dynamic
func.func @rms_norm_dynamic(%x: tensor<?x?x?xf32>, %w: tensor<4xf32>) {
  // expected-error@+1 {{input must have a static feature dimension}}
  %y = phi.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : (tensor<?x?x?xf32>, tensor<4xf32>) -> tensor<?x?x?xf32>
  return
}

// -----

// layer_norm_bias
func.func @layer_norm_bias(%x: tensor<?x?x4xf32>, %w: tensor<4xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{bias must have 4 elements, got 'tensor<3xf32>'}}
  %y = phi.layer_norm %x, %w, %b {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<3xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// linear_weight
func.func @linear_weight(%x: tensor<?x?x4xf32>, %w: tensor<6x5xf32>) {
  // expected-error@+1 {{weight (out x in) must be 6x4, got 'tensor<6x5xf32>'}}
  %y = phi.linear %x, %w : (tensor<?x?x4xf32>, tensor<6x5xf32>) -> tensor<?x?x6xf32>
  return
}

// -----

// linear_bias
func.func @linear_bias(%x: tensor<?x?x4xf32>, %w: tensor<6x4xf32>, %b: tensor<4xf32>) {
  // expected-error@+1 {{bias must have 6 elements, got 'tensor<4xf32>'}}
  %y = phi.linear %x, %w, %b : (tensor<?x?x4xf32>, tensor<6x4xf32>, tensor<4xf32>) -> tensor<?x?x6xf32>
  return
}

// -----

// linear_tokens
func.func @linear_tokens(%x: tensor<2x3x4xf32>, %w: tensor<6x4xf32>) {
  // expected-error@+1 {{result has 5 tokens where the input has 3}}
  %y = phi.linear %x, %w : (tensor<2x3x4xf32>, tensor<6x4xf32>) -> tensor<2x5x6xf32>
  return
}

// -----

// linear_activation_type
func.func @linear_activation_type(%x: tensor<?x?x4xf16>, %w: tensor<6x4xf32>) {
  // expected-error@+1 {{operand #0 must be 3D tensor of 32-bit float values}}
  %y = phi.linear %x, %w : (tensor<?x?x4xf16>, tensor<6x4xf32>) -> tensor<?x?x6xf32>
  return
}

// -----

// lm_head_weight
func.func @lm_head_weight(%x: tensor<?x?x4xf32>, %w: tensor<8x5xf32>) {
  // expected-error@+1 {{weight (out x in) must be 8x4, got 'tensor<8x5xf32>'}}
  %y = phi.lm_head %x, %w : (tensor<?x?x4xf32>, tensor<8x5xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

// split_sum
func.func @split_sum(%x: tensor<?x?x12xf32>) {
  // expected-error@+1 {{result features add up to 8 but the input has 12}}
  %a, %b = phi.split %x : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>
  return
}

// -----

// split_none
func.func @split_none(%x: tensor<?x?x12xf32>) {
  // expected-error@+1 {{needs at least one result}}
  "phi.split"(%x) : (tensor<?x?x12xf32>) -> ()
  return
}

// -----

// glu_odd
func.func @glu_odd(%x: tensor<?x?x5xf32>) {
  // expected-error@+1 {{input must hold [gate | up] halves, got an odd feature size 5}}
  %y = phi.glu silu %x : tensor<?x?x5xf32> -> tensor<?x?x2xf32>
  return
}

// -----

// glu_half
func.func @glu_half(%x: tensor<?x?x6xf32>) {
  // expected-error@+1 {{result must have half the input's features (3), got 2}}
  %y = phi.glu silu %x : tensor<?x?x6xf32> -> tensor<?x?x2xf32>
  return
}

// -----

// add_types
func.func @add_types(%a: tensor<?x?x4xf32>, %b: tensor<?x?x5xf32>) {
  // expected-error@+1 {{requires the same type for all operands and results}}
  %y = "phi.add"(%a, %b) : (tensor<?x?x4xf32>, tensor<?x?x5xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// output_parent
func.func @output_parent(%a: tensor<?x?x4xf32>) {
  // expected-error@+1 {{expects parent op 'phi.model'}}
  phi.output %a : tensor<?x?x4xf32>
  return
}

// -----

// The model's logits must cover the vocabulary.
// expected-error@+1 {{returns 8 logits per token but config vocab_size is 16}}
phi.model @m_vocab attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 16, hidden_size = 4, num_layers = 1, max_positions = 64, bos_token_id = 1, eos_token_ids = [2], pad_token_id = 2, tie_word_embeddings = false>, stores = {model = "/x"}} {
^bb0(%ids: tensor<?x?xi32>):
  %t = phi.weight dense<1.0> : tensor<8x4xf32>
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  %wq = phi.weight dense<1.0> : tensor<12x4xf32>
  %qkv = phi.linear %x, %wq : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %l = phi.lm_head %a, %t : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}

// -----

// The layer count must match config num_layers.
// expected-error@+1 {{has 1 attention layers but config num_layers is 2}}
phi.model @m_layers attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 4, num_layers = 2, max_positions = 64, bos_token_id = 1, eos_token_ids = [2], pad_token_id = 2, tie_word_embeddings = false>, stores = {model = "/x"}} {
^bb0(%ids: tensor<?x?xi32>):
  %t = phi.weight dense<1.0> : tensor<8x4xf32>
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  %wq = phi.weight dense<1.0> : tensor<12x4xf32>
  %qkv = phi.linear %x, %wq : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %l = phi.lm_head %a, %t : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}

// -----

// The embedding table must be vocab_size x hidden_size.
// expected-error@+4 {{table must be vocab_size x hidden_size = 8x8, got 'tensor<8x4xf32>'}}
phi.model @m_table attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 8, num_layers = 1, max_positions = 64, bos_token_id = 1, eos_token_ids = [2], pad_token_id = 2, tie_word_embeddings = false>, stores = {model = "/x"}} {
^bb0(%ids: tensor<?x?xi32>):
  %t = phi.weight dense<1.0> : tensor<8x4xf32>
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  %wq = phi.weight dense<1.0> : tensor<12x4xf32>
  %qkv = phi.linear %x, %wq : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %l = phi.lm_head %a, %t : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}

// -----

// The model takes token ids.
// expected-error@+1 {{body must take one argument, the token ids tensor<?x?xi32>}}
phi.model @m_arg attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 4, num_layers = 1, max_positions = 64, bos_token_id = 1, eos_token_ids = [2], pad_token_id = 2, tie_word_embeddings = false>, stores = {model = "/x"}} {
^bb0(%ids: tensor<?x?xi32>, %extra: tensor<?x?xi32>):
  %t = phi.weight dense<1.0> : tensor<8x4xf32>
  %e = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  %l = phi.lm_head %e, %t : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}

// -----

// Stores map names to paths.
// expected-error@+1 {{store 'model' must map to a path string}}
phi.model @m_store attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 4, num_layers = 1, max_positions = 64, bos_token_id = 1, eos_token_ids = [2], pad_token_id = 2, tie_word_embeddings = false>, stores = {model = 3 : i64}} {
^bb0(%ids: tensor<?x?xi32>):
  %t = phi.weight dense<1.0> : tensor<8x4xf32>
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  %wq = phi.weight dense<1.0> : tensor<12x4xf32>
  %qkv = phi.linear %x, %wq : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %l = phi.lm_head %a, %t : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}

// -----

// Config token ids lie in the vocabulary.
// expected-error@+1 {{config bos_token_id 99 is outside the vocabulary [0, 8)}}
phi.model @m_bos attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 4, num_layers = 1, max_positions = 64, bos_token_id = 99, eos_token_ids = [2], pad_token_id = 2, tie_word_embeddings = false>, stores = {model = "/x"}} {
^bb0(%ids: tensor<?x?xi32>):
  %t = phi.weight dense<1.0> : tensor<8x4xf32>
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  %wq = phi.weight dense<1.0> : tensor<12x4xf32>
  %qkv = phi.linear %x, %wq : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %l = phi.lm_head %a, %t : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}

// -----

// Config needs an end token.
// expected-error@+1 {{config needs at least one eos token id}}
phi.model @m_eos attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 4, num_layers = 1, max_positions = 64, bos_token_id = 1, eos_token_ids = [], pad_token_id = 2, tie_word_embeddings = false>, stores = {model = "/x"}} {
^bb0(%ids: tensor<?x?xi32>):
  %t = phi.weight dense<1.0> : tensor<8x4xf32>
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  %wq = phi.weight dense<1.0> : tensor<12x4xf32>
  %qkv = phi.linear %x, %wq : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %l = phi.lm_head %a, %t : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}

// -----

// Config eos ids lie in the vocabulary.
// expected-error@+1 {{config eos token id 8 is outside the vocabulary [0, 8)}}
phi.model @m_eos2 attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 4, num_layers = 1, max_positions = 64, bos_token_id = 1, eos_token_ids = [2, 8], pad_token_id = 2, tie_word_embeddings = false>, stores = {model = "/x"}} {
^bb0(%ids: tensor<?x?xi32>):
  %t = phi.weight dense<1.0> : tensor<8x4xf32>
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  %wq = phi.weight dense<1.0> : tensor<12x4xf32>
  %qkv = phi.linear %x, %wq : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %l = phi.lm_head %a, %t : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}

// -----

// Config sizes are positive.
// expected-error@+1 {{config sizes (vocab_size, hidden_size, num_layers, max_positions) must be positive}}
phi.model @m_sizes attributes {config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8, hidden_size = 4, num_layers = 1, max_positions = 0, bos_token_id = 1, eos_token_ids = [2], pad_token_id = 2, tie_word_embeddings = false>, stores = {model = "/x"}} {
^bb0(%ids: tensor<?x?xi32>):
  %t = phi.weight dense<1.0> : tensor<8x4xf32>
  %x = phi.embedding %ids, %t : (tensor<?x?xi32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  %wq = phi.weight dense<1.0> : tensor<12x4xf32>
  %qkv = phi.linear %x, %wq : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 2 : i64, rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 2, original_max_positions = 64, max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %l = phi.lm_head %a, %t : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  phi.output %l : tensor<?x?x8xf32>
}
