//===- IRBuilder.h - OpenVINO IR v11 layers, edges and weights --*- C++ -*-===//
//
// Builds an OpenVINO IR v11 graph (the openvino_model.xml that
// ov::Core::read_model reads) layer by layer, with every Const's bytes
// appended to openvino_model.bin as it is added: the weights are streamed
// tensor by tensor and never held twice. Ports carry their precision (the
// reader requires it) and no dims: OpenVINO infers every shape from the
// Parameters' shapes when it reads the model, so the writer does not need
// a shape inference of its own.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_OPENVINO_IRBUILDER_H
#define PHIQ_LIB_TARGET_OPENVINO_IRBUILDER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace phiq::openvino {

/// The element types the writer uses, spelled as IR v11 spells them.
enum class ElementType { f32, f16, i64, i32, boolean, u8, u4, i4 };

llvm::StringRef elementTypeName(ElementType type);
/// Bits per element (4 for u4 and i4, which pack two per byte, low nibble
/// first).
int elementBits(ElementType type);

/// One output port of a layer.
struct Output {
  int layer = -1;
  int port = 0;
  ElementType type = ElementType::f32;
};

class IRBuilder {
public:
  /// `bin` receives the constants' bytes from offset 0.
  explicit IRBuilder(std::unique_ptr<llvm::raw_fd_ostream> bin)
      : bin(std::move(bin)) {}

  /// Names new layers "<scope>/<type>_<n>".
  void setScope(llvm::StringRef scope) { this->scope = scope.str(); }

  /// A layer with `inputs` and one output of `outType` per element of
  /// `outTypes`; attributes are (name, value) pairs of its <data>.
  using Attrs = std::vector<std::pair<std::string, std::string>>;
  std::vector<Output> addLayer(llvm::StringRef type, llvm::StringRef opset,
                               llvm::ArrayRef<Output> inputs,
                               llvm::ArrayRef<ElementType> outTypes,
                               Attrs attrs = {}, std::string name = "");
  /// The usual one-output layer.
  Output add(llvm::StringRef type, llvm::StringRef opset,
             llvm::ArrayRef<Output> inputs, ElementType outType,
             Attrs attrs = {}) {
    return addLayer(type, opset, inputs, {outType}, std::move(attrs))[0];
  }

  Output parameter(llvm::StringRef name, ElementType type,
                   llvm::StringRef shape);
  /// A Result named `name` (its tensor name) reading `value`.
  void result(llvm::StringRef name, Output value);
  /// A layer with no outputs that the model keeps (Assign).
  void sink(llvm::StringRef type, llvm::StringRef opset, Output input,
            Attrs attrs);
  /// Marks `value`'s layer with the "decompression" rt_info attribute that
  /// ov.save_model(compress_to_fp16=True) puts on its f16 -> f32 Converts,
  /// which keeps OpenVINO from folding the weights back to f32.
  void markDecompression(Output value) {
    layers[size_t(value.layer)].decompression = true;
  }
  /// Gives `value`'s port the tensor name `name`.
  void nameOutput(Output value, llvm::StringRef name);

  /// A Const whose bytes are appended to the .bin now, aligned to 64.
  llvm::Expected<Output> constant(llvm::StringRef name, ElementType type,
                                  llvm::ArrayRef<int64_t> shape,
                                  llvm::ArrayRef<uint8_t> bytes);
  /// Small shared constants (shapes, axes, scalars).
  Output constI64(llvm::ArrayRef<int64_t> values, bool scalar = false);
  Output constI32(llvm::ArrayRef<int32_t> values, bool scalar = false);
  Output constF32(float value);

  /// Flushes the .bin and writes the XML to `os`.
  llvm::Error finish(llvm::raw_ostream &os, llvm::StringRef modelName,
                     llvm::ArrayRef<std::pair<std::string, std::string>>
                         rtInfo);

  uint64_t binBytes() const { return binSize; }

private:
  struct Layer {
    std::string name, type, opset;
    Attrs attrs;
    std::vector<ElementType> inputs;
    std::vector<ElementType> outputs;
    std::vector<std::string> outputNames;
    bool decompression = false;
  };
  Output smallConstant(ElementType type, llvm::ArrayRef<int64_t> shape,
                       llvm::ArrayRef<uint8_t> bytes);

  std::unique_ptr<llvm::raw_fd_ostream> bin;
  uint64_t binSize = 0;
  std::string scope = "model";
  llvm::StringMap<unsigned> counters;
  llvm::StringMap<Output> shared;
  std::vector<Layer> layers;
  struct Edge {
    int fromLayer, fromPort, toLayer, toPort;
  };
  std::vector<Edge> edges;
};

/// Little-endian IEEE half bytes (round to nearest even) or f32 bytes.
std::vector<uint8_t> encodeFloats(llvm::ArrayRef<float> values,
                                  ElementType type);

} // namespace phiq::openvino

#endif // PHIQ_LIB_TARGET_OPENVINO_IRBUILDER_H
