# For each external initializer of the torch export, finds the checkpoint
# tensor it holds (as is, or transposed): the recipe to rebuild model.onnx.data.
import sys, json, numpy as np, onnx
from onnx import numpy_helper
from safetensors.numpy import load_file
import torch
from safetensors.torch import load_file as tload
onnx_path, st_path, out = sys.argv[1:4]
external = {i.name for i in onnx.load(onnx_path, load_external_data=False).graph.initializer if any(e.key == 'location' for e in i.external_data)}
m = onnx.load(onnx_path)  # loads external data from the folder
sd = {k: v.float().numpy() for k, v in tload(st_path).items()}
recipe = []
for init in m.graph.initializer:
    if init.name not in external:
        continue
    a = numpy_helper.to_array(init)
    found = None
    for k, v in sd.items():
        if v.shape == a.shape and np.array_equal(v, a): found = (k, False); break
        if v.T.shape == a.shape and np.array_equal(v.T, a): found = (k, True); break
    recipe.append({"initializer": init.name, "shape": list(a.shape), "source": found[0] if found else None, "transposed": found[1] if found else None})
json.dump(recipe, open(out, "w"), indent=1)
print(sum(r["source"] is None for r in recipe), "unmatched of", len(recipe))
