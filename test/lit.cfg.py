# -*- Python -*-
# lit configuration for PhiQ's compiler tests (the way
# mlir/examples/standalone/test/lit.cfg.py does it).
import os
import sys

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "PHIQ"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.phiq_obj_root, "test")
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%models", config.phiq_models_dir))
config.substitutions.append(("%python", config.phiq_python or sys.executable))
config.substitutions.append(("%phiq_bin", config.phiq_tools_dir))
llvm_config.use_default_substitutions()
llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.phiq_tools_dir, config.llvm_tools_dir]
tools = ["phi-opt", "phi-translate", "phi-run", "phi-gen-checkpoint", "phi-quantize",
         "phi-gguf-dump", "phi-quant-blocks"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
