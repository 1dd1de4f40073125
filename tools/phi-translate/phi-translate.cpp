//===- phi-translate.cpp - mlir-translate for PhiQ --------------*- C++ -*-===//
//
// Importers (checkpoint -> phi IR) and emitters (phi IR -> runtime files).
// A model folder given as input stands for its config.json, so
// `phi-translate --import-hf models/phi35-tiny` works as users expect.
//
//===----------------------------------------------------------------------===//
#include "phiq/InitAll.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <string>
#include <vector>

/// Whether `arg` is an option whose value is the next argument (`--opt
/// value`), so that value is not an input path. Asked of the option itself,
/// as registered by the translations, rather than kept in a list here.
static bool takesSeparateValue(llvm::StringRef arg) {
  if (!arg.consume_front("-"))
    return false;
  arg.consume_front("-");
  if (arg.contains('='))
    return false;
  auto &options = llvm::cl::getRegisteredOptions();
  auto it = options.find(arg);
  return it != options.end() &&
         it->second->getValueExpectedFlag() == llvm::cl::ValueRequired;
}

int main(int argc, char **argv) {
  phiq::registerAllTranslations();
  // Rewrite a folder argument into the folder's config.json: mlir-translate
  // reads its input as a file. Folders that are an option's value (e.g.
  // --onnx-out DIR) stay folders.
  std::vector<std::string> storage(argv, argv + argc);
  for (size_t i = 1; i < storage.size(); ++i) {
    const std::string &arg = storage[i];
    if (takesSeparateValue(storage[i - 1]))
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
