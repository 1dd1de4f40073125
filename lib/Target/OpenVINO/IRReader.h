//===- IRReader.h - The layers and Consts of an OpenVINO IR file -*- C++ -*-===//
//
// Reads an OpenVINO IR v11 .xml (with expat: LLVM has no XML reader) into
// its layers and edges, and checks what the importer relies on: the root is
// <net version="11">, every layer is of a type PhiQ's writer (and NNCF's
// weight compression) emits, and every Const's bytes lie inside the .bin
// and match its element type and shape. Errors name the file and the layer
// (id, name, type) or the line.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_OPENVINO_IRREADER_H
#define PHIQ_LIB_TARGET_OPENVINO_IRREADER_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>
#include <vector>

namespace phiq::openvino {

/// One <layer>: its <data> attributes, and for a Const the bytes it names.
struct IRLayer {
  std::string id, name, type;
  llvm::StringMap<std::string> data;
  /// Const only: element_type, shape and its bytes in the mapped .bin.
  std::string elementType;
  llvm::SmallVector<int64_t, 4> shape;
  llvm::ArrayRef<uint8_t> bytes;
  uint64_t offset = 0;

  /// "layer 'NAME' (id ID, TYPE)" for diagnostics.
  std::string describe() const;
};

/// A read IR file and its mapped weights.
struct IRGraph {
  std::string xmlPath, binPath;
  std::vector<IRLayer> layers;
  /// Const layers by name.
  llvm::StringMap<const IRLayer *> constants;
  std::unique_ptr<llvm::MemoryBuffer> bin;
};

/// Reads `xmlPath` and maps the .bin next to it (same name, .bin).
llvm::Expected<std::unique_ptr<IRGraph>> readIR(llvm::StringRef xmlPath);

} // namespace phiq::openvino

#endif // PHIQ_LIB_TARGET_OPENVINO_IRREADER_H
