// The calibration store must hold a Hessian of the right shape for every
// linear weight GPTQ quantizes; each one missing or mis-shaped is named.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/calibration_store.py %t/calib.safetensors inline.3=32x16 other.weight=32
// RUN: phi-opt %s -verify-diagnostics --phiq-quantize-weights="type=Q4_0 pure=true algorithm=gptq calibration=%t/calib.safetensors output=%t/out.safetensors" -o /dev/null
// RUN: not test -e %t/out.safetensors

phi.model @tiny attributes {
    config = #phi.config<architecture = "Phi3ForCausalLM", vocab_size = 8,
                         hidden_size = 32, num_layers = 1, max_positions = 64,
                         bos_token_id = 1, eos_token_ids = [2],
                         pad_token_id = 2, tie_word_embeddings = true>,
    stores = {}} {
^bb0(%ids: tensor<?x?xi32>):
  %table = phi.weight dense<0.25> : tensor<8x32xf32>
  %norm_w = phi.weight dense<1.0> : tensor<32xf32>
  // expected-error@+1 {{tensor 'inline.2': the calibration store}}
  %w1 = phi.weight dense<0.5> : tensor<96x32xf32>
  // expected-error@+1 {{tensor 'inline.3': 'inline.3.hessian' is 32x16, but the weight's rows have 32 elements (32x32 expected; a calibration of another model?)}}
  %w2 = phi.weight dense<0.75> : tensor<32x32xf32>
  %x = phi.embedding %ids, %table : (tensor<?x?xi32>, tensor<8x32xf32>) -> tensor<?x?x32xf32>
  %n = phi.rms_norm %x, %norm_w {epsilon = 1.0e-5 : f64} : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %qkv = phi.linear %n, %w1 : (tensor<?x?x32xf32>, tensor<96x32xf32>) -> tensor<?x?x96xf32>
  %q, %k, %v = phi.split %qkv : tensor<?x?x96xf32> -> tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
  %a = phi.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64,
      rope = #phi.rope<kind = default, theta = 10000.0, rotary_dim = 16, original_max_positions = 64,
                       max_positions = 64, attention_factor = 1.0>} : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
  %y = phi.linear %a, %w2 : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
  %logits = phi.lm_head %y, %table : (tensor<?x?x32xf32>, tensor<8x32xf32>) -> tensor<?x?x8xf32>
  phi.output %logits : tensor<?x?x8xf32>
}
