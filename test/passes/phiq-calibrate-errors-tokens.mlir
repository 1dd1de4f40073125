// Calibration input errors, reported on the model.
// RUN: rm -rf %t && mkdir -p %t
// RUN: phi-opt %s --phiq-calibrate="tokens=%t/missing.i32 output=%t/s.safetensors" -verify-diagnostics -o /dev/null
// RUN: not test -e %t/s.safetensors

// expected-error @+1 {{cannot read calibration tokens '}}
phi.model @missing attributes {
    config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8,
                         hidden_size = 32, num_layers = 1, max_positions = 64,
                         bos_token_id = 1, eos_token_ids = [2], pad_token_id = 2,
                         tie_word_embeddings = false>,
    stores = {}} {
^bb0(%ids: tensor<?x?xi32>):
  %table = phi.weight dense<0.5> : tensor<8x32xf32>
  %norm_w = phi.weight dense<1.0> : tensor<32xf32>
  %w = phi.weight dense<0.25> : tensor<32x32xf32>
  %wqkv = phi.weight dense<0.125> : tensor<96x32xf32>
  %head = phi.weight dense<0.25> : tensor<8x32xf32>
  %x = phi.embedding %ids, %table : (tensor<?x?xi32>, tensor<8x32xf32>) -> tensor<?x?x32xf32>
  %h = phi.rms_norm %x, %norm_w {epsilon = 1.0e-5 : f64} : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %y = phi.linear %h, %w : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
  %qkv = phi.linear %h, %wqkv : (tensor<?x?x32xf32>, tensor<96x32xf32>) -> tensor<?x?x96xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x96xf32> -> tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
  %a = phi.attention %q, %k, %v {num_heads = 1 : i64, num_kv_heads = 1 : i64, head_dim = 32 : i64,
      rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 32, original_max_positions = 64,
                       max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
  %r = phi.add %y, %a : tensor<?x?x32xf32>
  %logits = phi.lm_head %r, %head : (tensor<?x?x32xf32>, tensor<8x32xf32>) -> tensor<?x?x8xf32>
  phi.output %logits : tensor<?x?x8xf32>
}
