// Statistics for tensors the model does not have mean the file belongs to
// another model: an error naming the tensor, nothing written.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/write_imatrix_dat.py %t/other.dat inline.2=32,blk.7.ffn_down.weight=64
// RUN: phi-opt %s --phiq-quantize-weights="type=Q4_0 pure=true imatrix=%t/other.dat output=%t/q.safetensors" -verify-diagnostics -o /dev/null
// RUN: not test -e %t/q.safetensors

// expected-error-re @+1 {{importance file {{.*}}other.dat has statistics for 'blk.7.ffn_down.weight', which is no weight of this model (is the file for another model?)}}
phi.model @names attributes {
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
