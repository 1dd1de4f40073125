// RUN: rm -rf %t && mkdir -p %t
// 3 windows of 4 tokens and a partial one, which is dropped.
// RUN: %python -c "import numpy as np; np.array([0,1,2,3, 4,5,6,7, 7,3,3,1, 5,6], dtype='<i4').tofile('%t/tokens.i32')"

// The statistics of every linear input, against numpy's (the model is
// Inputs/calib-tiny.mlir: embedding, rms_norm, linears, lm_head), and the
// model now names the file.
// RUN: phi-opt %S/Inputs/calib-tiny.mlir --phiq-calibrate="tokens=%t/tokens.i32 seq-len=4 hessian=true output=%t/stats.safetensors" -o %t/calibrated.mlir
// RUN: FileCheck %s --check-prefix=IR < %t/calibrated.mlir
// IR: phi.model @calib attributes {config = {{.*}}, phiq.calibration_stats = "{{.*}}stats.safetensors", stores = {calibration = "{{.*}}stats.safetensors"}}
// RUN: %python %S/check_calibration.py %S/Inputs/calib-tiny.mlir %t/tokens.i32 4 %t/stats.safetensors | FileCheck %s --check-prefix=STATS
// STATS: inline.2.in_sumsq [32] rel err {{.*}} ok
// STATS: inline.2.in_absmax [32] rel err {{.*}} ok
// STATS: inline.2.count [1] rel err {{.*}} ok
// STATS: inline.2.hessian [32, 32] rel err {{.*}} ok
// STATS: inline.3.in_sumsq [32] rel err {{.*}} ok
// STATS: inline.4.in_sumsq [32] rel err {{.*}} ok
// STATS: inline.4.in_absmax [32] rel err {{.*}} ok
// STATS: inline.4.hessian [32, 32] rel err {{.*}} ok
// STATS: 0 failed

// Without hessian=true there is no X^T X; lm-head=false leaves out the
// lm_head's input.
// RUN: phi-opt %S/Inputs/calib-tiny.mlir --phiq-calibrate="tokens=%t/tokens.i32 seq-len=4 lm-head=false output=%t/nohead.safetensors" -o /dev/null
// RUN: %python -c "import json,sys; d=open('%t/nohead.safetensors','rb').read(); n=int.from_bytes(d[:8],'little'); print(sorted(k for k in json.loads(d[8:8+n]) if k != '__metadata__'))" | FileCheck %s --check-prefix=NOHEAD
// NOHEAD: ['inline.2.count', 'inline.2.in_absmax', 'inline.2.in_sumsq', 'inline.3.count', 'inline.3.in_absmax', 'inline.3.in_sumsq']

// The quantization passes pick the statistics up from the model: each
// deferred phiq.quantize names its entry (the embedding, which multiplies
// no activation, has none) and the model the file; the bytes are packed
// with the importance whoever packs them, so the deferred module and the
// materialized one compute the same, and differ from plain quantization.
// RUN: phi-opt %t/calibrated.mlir --phiq-quantize-weights="type=Q4_0 pure=true" -o %t/deferred.mlir
// RUN: FileCheck %s --check-prefix=DEFERRED < %t/deferred.mlir
// DEFERRED: phiq.importance_file = "{{.*}}stats.safetensors"
// DEFERRED: phiq.quantize %{{.*}} : tensor<8x32xf32> -> !phiq.blocks<8x32, Q4_0>
// DEFERRED: phiq.quantize %{{.*}} {importance = "inline.2"} : tensor<32x32xf32> -> !phiq.blocks<32x32, Q4_0>
// DEFERRED: phiq.quantize %{{.*}} {importance = "inline.3"} : tensor<96x32xf32> -> !phiq.blocks<96x32, Q4_0>
// DEFERRED: phiq.quantize %{{.*}} {importance = "inline.4"} : tensor<8x32xf32> -> !phiq.blocks<8x32, Q4_0>
// RUN: phi-opt %t/calibrated.mlir --phiq-quantize-weights="type=Q4_0 pure=true output=%t/packed.safetensors" -o %t/packed.mlir
// RUN: phi-opt %S/Inputs/calib-tiny.mlir --phiq-quantize-weights="type=Q4_0 pure=true" -o %t/plain.mlir
// RUN: phi-run eval %t/deferred.mlir --tokens %t/tokens.i32 --seq-len 7 --json > %t/deferred.json
// RUN: phi-run eval %t/packed.mlir --tokens %t/tokens.i32 --seq-len 7 --json > %t/packed.json
// RUN: phi-run eval %t/plain.mlir --tokens %t/tokens.i32 --seq-len 7 --json > %t/plain.json
// RUN: %python -c "import json; d,p,r=[json.load(open('%t/'+n+'.json'))['mean_nll'] for n in ('deferred','packed','plain')]; print('same' if d == p else 'differ', 'changed' if d != r else 'unchanged')" | FileCheck %s --check-prefix=SAME
// SAME: same changed

// The same for ONNX Runtime's MatMulNBits blocks.
// RUN: phi-opt %t/calibrated.mlir --phiq-quantize-onnx="bits=4 block-size=32" | FileCheck %s --check-prefix=ONNX
// ONNX: phiq.quantize %{{.*}} {importance = "inline.2"} : tensor<32x32xf32> -> !phiq.blocks<32x32, MNB4_G32_ASYM>

// text=FILE: calibration text encoded with the model's tokenizer (here
// phi35-tiny's, from its checkpoint folder): 2 windows of 8 tokens.
// RUN: printf 'The quick brown fox jumps over the lazy dog. It was a sunny day in the park.' > %t/calib.txt
// RUN: phi-translate --import-hf %models/phi35-tiny | phi-opt --phiq-calibrate="text=%t/calib.txt seq-len=8 max-windows=2 output=%t/text.safetensors" -o /dev/null
// RUN: %python -c "import json,struct; d=open('%t/text.safetensors','rb').read(); n=int.from_bytes(d[:8],'little'); h=json.loads(d[8:8+n]); a,b=h['model.layers.0.mlp.down_proj.weight.count']['data_offsets']; print('count', struct.unpack('<f', d[8+n+a:8+n+b])[0], h['__metadata__']['windows'])" | FileCheck %s --check-prefix=TEXT
// TEXT: count 16.0 2
