//===- phi-translate.cpp - mlir-translate for PhiQ --------------*- C++ -*-===//
//
// Importers (checkpoint -> phi IR) and emitters (phi IR -> runtime files).
// A model folder given as input stands for its config.json, so
// `phi-translate --import-hf models/phi35-tiny` works as users expect.
//
//===----------------------------------------------------------------------===//
#include "phiq/InitAll.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <string>
#include <vector>

int main(int argc, char **argv) {
  phiq::registerAllTranslations();
  // Rewrite a folder argument into the folder's config.json: mlir-translate
  // reads its input as a file.
  // Folders that are the value of an option stay folders.
  const llvm::StringRef folderOptions[] = {"--onnx-out", "-onnx-out",
                                           "--onnx-tokenizer",
                                           "-onnx-tokenizer",
                                           "--gguf-tokenizer",
                                           "-gguf-tokenizer",
                                           "--openvino-out",
                                           "-openvino-out",
                                           "--openvino-config",
                                           "-openvino-config",
                                           "--mlx-out",
                                           "-mlx-out",
                                           "--mlx-checkpoint",
                                           "-mlx-checkpoint"};
  std::vector<std::string> storage(argv, argv + argc);
  for (size_t i = 1; i < storage.size(); ++i) {
    const std::string &arg = storage[i];
    if (llvm::is_contained(folderOptions, llvm::StringRef(storage[i - 1])))
      continue;
    if (!arg.empty() && arg[0] != '-' && llvm::sys::fs::is_directory(arg)) {
      llvm::SmallString<256> config(arg);
      llvm::sys::path::append(config, "config.json");
      storage[i] = std::string(config);
    }
  }
  std::vector<char *> args;
  for (std::string &s : storage)
    args.push_back(s.data());
  return mlir::failed(mlir::mlirTranslateMain(int(args.size()), args.data(),
                                              "PhiQ translation driver\n"));
}
