// --phiq-rotate-residual on phi35-tiny: every tensor the residual stream
// touches is rewritten into the `rotated` store (embedding, the norms as
// ones, qkv/gate_up/lm_head with the norm folded in, o_proj/down_proj on
// their output side), the graph keeps its ops, and phi-run's logits of the
// rotated model equal the original's within float error.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; np.fromfile('%models/phi35-tiny/reference/eval_tokens.i32', dtype='<i4')[:256].tofile('%t/tokens.i32')"
// RUN: phi-translate --import-hf %models/phi35-tiny -o %t/f32.mlir
// RUN: phi-opt %t/f32.mlir --phiq-rotate-residual="output=%t/rotated.safetensors seed=3" -o %t/rotated.mlir
// RUN: grep -c '#phi.param<"rotated"' %t/rotated.mlir | FileCheck %s --check-prefix=COUNT
// RUN: FileCheck %s < %t/rotated.mlir
// RUN: phi-run eval %t/f32.mlir --tokens %t/tokens.i32 --logits-out %t/f32.logits
// RUN: phi-run eval %t/rotated.mlir --tokens %t/tokens.i32 --logits-out %t/rotated.logits
// RUN: %python %S/Inputs/compare_logits.py %t/f32.logits %t/rotated.logits 2e-3 | FileCheck %s --check-prefix=SAME
// A different seed is a different rotation (same function, other weights).
// RUN: phi-opt %t/f32.mlir --phiq-rotate-residual="output=%t/seed4.safetensors seed=4" -o /dev/null
// RUN: not cmp -s %t/rotated.safetensors %t/seed4.safetensors

// 1 embedding + 6 layers x (2 norms + 4 linears) + final norm + lm_head.
// COUNT: 39

// CHECK: rotated = "{{.*}}rotated.safetensors"
// CHECK: phi.weight #phi.param<"rotated"::"model.embed_tokens.weight"> : tensor<3520x256xf32>
// CHECK: phi.weight #phi.param<"rotated"::"model.layers.0.input_layernorm.weight"> : tensor<256xf32>
// CHECK: phi.weight #phi.param<"rotated"::"model.layers.0.self_attn.qkv_proj.weight"> : tensor<768x256xf32>
// CHECK: phi.attention
// CHECK: phi.weight #phi.param<"rotated"::"model.layers.0.self_attn.o_proj.weight"> : tensor<256x256xf32>
// CHECK: phi.weight #phi.param<"rotated"::"model.layers.0.mlp.gate_up_proj.weight"> : tensor<1536x256xf32>
// CHECK: phi.glu
// CHECK: phi.weight #phi.param<"rotated"::"model.layers.0.mlp.down_proj.weight"> : tensor<256x768xf32>
// CHECK: phi.weight #phi.param<"rotated"::"model.norm.weight"> : tensor<256xf32>
// CHECK: phi.weight #phi.param<"rotated"::"lm_head.weight"> : tensor<3520x256xf32>
// CHECK-NOT: #phi.param<"model"

// SAME: same logits
