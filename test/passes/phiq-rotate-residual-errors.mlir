// --phiq-rotate-residual refuses what it cannot fold, naming the op, and
// writes nothing then.
// RUN: rm -rf %t && mkdir -p %t
// RUN: phi-opt %s -split-input-file -verify-diagnostics --phiq-rotate-residual="output=%t/out.safetensors" -o /dev/null
// RUN: not test -e %t/out.safetensors
// RUN: not phi-opt %s -split-input-file --phiq-rotate-residual -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOOUT
// NOOUT: error: phiq-rotate-residual writes the rotated weights to a store: give output=FILE

// A tied table whose final norm is not all ones would need two tensors.
phi.model @tied attributes {
    config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 4,
                         hidden_size = 4, num_layers = 1, max_positions = 8,
                         bos_token_id = 1, eos_token_ids = [2],
                         pad_token_id = 2, tie_word_embeddings = true>,
    stores = {}} {
^bb0(%ids: tensor<?x?xi32>):
  // expected-error@+1 {{read in two roles that rotate it differently}}
  %table = phi.weight dense<[[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.0], [1.0, 1.0, -1.0, 2.0], [0.0, 3.0, 1.0, -2.0]]> : tensor<4x4xf32>
  %g = phi.weight dense<[1.0, 2.0, 0.5, 1.0]> : tensor<4xf32>
  %wqkv = phi.weight dense<0.125> : tensor<12x4xf32>
  %wo = phi.weight dense<0.25> : tensor<4x4xf32>
  %w = phi.weight dense<0.5> : tensor<4x4xf32>
  %x = phi.embedding %ids, %table : (tensor<?x?xi32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %n = phi.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %qkv = phi.linear %n, %wqkv : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 1 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64,
      rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 4, original_max_positions = 8,
                       max_positions = 8, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %y = phi.linear %a, %wo : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %h = phi.add %x, %y : tensor<?x?x4xf32>
  %n2 = phi.rms_norm %h, %g {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %logits = phi.lm_head %n2, %table : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  phi.output %logits : tensor<?x?x4xf32>
}

// -----

// The stream feeds an op that is neither an add nor an rms_norm.
phi.model @other attributes {
    config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 4,
                         hidden_size = 4, num_layers = 1, max_positions = 8,
                         bos_token_id = 1, eos_token_ids = [2],
                         pad_token_id = 2, tie_word_embeddings = false>,
    stores = {}} {
^bb0(%ids: tensor<?x?xi32>):
  %table = phi.weight dense<[[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.0], [1.0, 1.0, -1.0, 2.0], [0.0, 3.0, 1.0, -2.0]]> : tensor<4x4xf32>
  %g = phi.weight dense<[1.0, 2.0, 0.5, 1.0]> : tensor<4xf32>
  %wqkv = phi.weight dense<0.125> : tensor<12x4xf32>
  %wo = phi.weight dense<0.25> : tensor<4x4xf32>
  %w = phi.weight dense<0.5> : tensor<4x4xf32>
  %x = phi.embedding %ids, %table : (tensor<?x?xi32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %n = phi.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %qkv = phi.linear %n, %wqkv : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 1 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64,
      rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 4, original_max_positions = 8,
                       max_positions = 8, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %y = phi.linear %a, %wo : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %h = phi.add %x, %y : tensor<?x?x4xf32>
  // expected-error@+1 {{the residual stream feeds this op, which the rotation cannot be folded into}}
  %logits = phi.lm_head %h, %w : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  phi.output %logits : tensor<?x?x4xf32>
}

// -----

// A normed stream feeding something other than a linear or the lm_head.
phi.model @normuse attributes {
    config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 4,
                         hidden_size = 4, num_layers = 1, max_positions = 8,
                         bos_token_id = 1, eos_token_ids = [2],
                         pad_token_id = 2, tie_word_embeddings = false>,
    stores = {}} {
^bb0(%ids: tensor<?x?xi32>):
  %table = phi.weight dense<[[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.0], [1.0, 1.0, -1.0, 2.0], [0.0, 3.0, 1.0, -2.0]]> : tensor<4x4xf32>
  %g = phi.weight dense<[1.0, 2.0, 0.5, 1.0]> : tensor<4xf32>
  %wqkv = phi.weight dense<0.125> : tensor<12x4xf32>
  %wo = phi.weight dense<0.25> : tensor<4x4xf32>
  %w = phi.weight dense<0.5> : tensor<4x4xf32>
  %x = phi.embedding %ids, %table : (tensor<?x?xi32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %n = phi.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %qkv = phi.linear %n, %wqkv : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x12xf32> -> tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
  %a = phi.attention %q, %k, %v {num_heads = 1 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64,
      rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 4, original_max_positions = 8,
                       max_positions = 8, attention_factor = 1.0>} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %y = phi.linear %a, %wo : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %h = phi.add %x, %y : tensor<?x?x4xf32>
  %n2 = phi.rms_norm %h, %g {epsilon = 1.0e-5 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  // expected-error@+1 {{a normed residual feeds this op}}
  %m = phi.add %n2, %n2 : tensor<?x?x4xf32>
  %logits = phi.lm_head %m, %w : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  phi.output %logits : tensor<?x?x4xf32>
}
