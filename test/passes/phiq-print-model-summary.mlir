// RUN: phi-translate --import-hf %models/phi4-mini-tiny | phi-opt --phiq-print-model-summary -o /dev/null | FileCheck %s
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-print-model-summary=json -o /dev/null | FileCheck %s --check-prefix=JSON
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-print-model-summary | FileCheck %s --check-prefix=IR

// The summary reports the structure read off the IR (no weights touched).

// CHECK: model @phi4_mini_tiny (Phi3ForCausalLM)
// CHECK-NEXT: layers 4, hidden 256, mlp 768 (gated silu), vocab 4032
// CHECK-NEXT: attention: 8 heads, 2 kv heads (GQA), head_dim 32
// CHECK-NEXT: rope: longrope, rotary_dim 24 of 32, context 8192 (original 512), attention_factor 1.201850
// CHECK-NEXT: embeddings: tied
// CHECK-NEXT: parameters: 4049152 (7.72 MiB)
// CHECK-NEXT: bf16: 4049152 parameters, 8098304 bytes

// JSON: {"architecture":"Phi3ForCausalLM","attention_factor":1.2018504251546631,"head_dim":32,"hidden_size":256,"intermediate_size":768,"layers":6,"max_positions":8192,"model":"phi35_tiny","num_heads":8,"num_kv_heads":8,"original_max_positions":512,"rope":"longrope","rotary_dim":32,"tie_word_embeddings":false,"vocab_size":3520,"weights":{"bf16":{"bytes":13834752,"parameters":6917376}}}

// The pass leaves the IR as it was.
// IR: phi.model @phi35_tiny
