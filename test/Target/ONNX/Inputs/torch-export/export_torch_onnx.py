# Exports models/phi35-tiny with a plain torch.onnx.export (fp32, no KV cache),
# for PhiQ's --import-onnx tests. Run on a machine with torch+transformers.
import os, sys, json, torch, transformers, onnx
from transformers import AutoModelForCausalLM
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
m = AutoModelForCausalLM.from_pretrained(src, torch_dtype=torch.float32, attn_implementation="eager")
m.eval(); m.config.use_cache = False
class Wrap(torch.nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, input_ids): return s.m(input_ids=input_ids, use_cache=False).logits
ids = torch.tensor([[1, 450, 496, 1735, 1701, 2991, 432, 1720]], dtype=torch.long)
# torch.export cannot trace longrope's data-dependent short/long switch; for
# sequences up to original_max_position_embeddings the short factors set at
# init are the ones used, so the update is a no-op for the exported graph.
info = {"torch": torch.__version__, "transformers": transformers.__version__, "onnx": onnx.__version__}
for dyn in (False, True):
    name = "legacy" if not dyn else "dynamo"
    try:
        path = os.path.join(out, name, "model.onnx"); os.makedirs(os.path.dirname(path), exist_ok=True)
        kw = dict(input_names=["input_ids"], output_names=["logits"], opset_version=17 if not dyn else 18)
        if not dyn:
            torch.onnx.export(Wrap(m), (ids,), path, dynamo=False, do_constant_folding=False,
                              dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}, **kw)
        else:
            m.model.rotary_emb.rope_type = "longrope-short"  # skips the runtime switch
            torch.onnx.export(Wrap(m), (ids,), path, dynamo=True, external_data=True,
                              dynamic_shapes={"input_ids": {0: torch.export.Dim("batch"), 1: torch.export.Dim("seq")}}, **kw)
        mo = onnx.load(path)
        onnx.save(mo, path, save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=1024)
        info[name] = "ok"
        with torch.no_grad(): ref = m(input_ids=ids).logits
        import numpy as np, onnxruntime as ort
        np.save(os.path.join(out, name, "logits.npy"), ref.numpy())
        got = ort.InferenceSession(path).run(None, {"input_ids": ids.numpy()})[0]
        info[name + "_maxdiff_vs_torch"] = float(np.abs(got - ref.numpy()).max())
    except Exception as e:
        info[name] = "failed: " + repr(e)[:2000]
json.dump(info, open(os.path.join(out, "info.json"), "w"), indent=1)
print(json.dumps(info, indent=1))
