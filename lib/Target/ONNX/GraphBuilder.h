//===- GraphBuilder.h - Small helper to build an ONNX graph ------*- C++ -*-===//
//
// Adds nodes, constants, initializers and graph inputs/outputs to an
// onnx::GraphProto with readable, unique names ("/model/layers.3/attn/
// MatMul_2/output_0", the convention of ONNX Runtime GenAI's builder), so
// that the emitters read like the graph they make.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_ONNX_GRAPHBUILDER_H
#define PHIQ_LIB_TARGET_ONNX_GRAPHBUILDER_H

#include "ExternalData.h"

// Generated from libonnx-dev's onnx.proto (see CMakeLists.txt).
#include "onnx/onnx.pb.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <string>
#include <variant>
#include <vector>

namespace phiq::onnx {

/// A dimension of a graph input or output: fixed or named (symbolic).
using Dim = std::variant<int64_t, std::string>;

/// A node being built; attribute setters chain.
class Node {
public:
  explicit Node(::onnx::NodeProto *proto) : proto(proto) {}
  Node &attr(llvm::StringRef name, int64_t value);
  Node &attr(llvm::StringRef name, float value);
  Node &attr(llvm::StringRef name, llvm::ArrayRef<int64_t> values);
  Node &attr(llvm::StringRef name, llvm::StringRef value);
  const std::string &out(int i = 0) const { return proto->output(i); }
  operator std::string() const { return out(0); }

private:
  ::onnx::NodeProto *proto;
};

class GraphBuilder {
public:
  GraphBuilder(::onnx::GraphProto &graph, ExternalDataWriter &data)
      : graph(graph), data(data) {}

  /// Names new nodes "<scope>/<op>_<n>" until the scope changes.
  void setScope(llvm::StringRef scope) { this->scope = scope.str(); }

  /// Adds a node with `numOutputs` fresh outputs ("" inputs are skipped
  /// optional inputs, as ONNX spells them).
  Node add(llvm::StringRef opType, llvm::ArrayRef<std::string> inputs,
           int numOutputs = 1, llvm::StringRef domain = "");
  /// The same with the given output names (graph outputs).
  Node addNamed(llvm::StringRef opType, llvm::ArrayRef<std::string> inputs,
                llvm::ArrayRef<std::string> outputs,
                llvm::StringRef domain = "");

  /// Inline int64 constants (shapes, axes, indices); identical ones are
  /// shared. `scalar` makes a rank-0 tensor of the single value.
  std::string constI64(llvm::ArrayRef<int64_t> values, bool scalar = false);
  /// An inline rank-0 constant of `elemType` (FLOAT or FLOAT16).
  std::string constScalar(float value, int32_t elemType);

  /// A weight initializer whose bytes go to the external data file.
  llvm::Error addWeight(llvm::StringRef name, int32_t elemType,
                        llvm::ArrayRef<int64_t> dims,
                        llvm::ArrayRef<uint8_t> bytes);

  void addInput(llvm::StringRef name, int32_t elemType,
                llvm::ArrayRef<Dim> dims);
  void addOutput(llvm::StringRef name, int32_t elemType,
                 llvm::ArrayRef<Dim> dims);

  ::onnx::GraphProto &proto() { return graph; }

private:
  std::string freshNodeName(llvm::StringRef opType);
  Node addWithName(const std::string &name, llvm::StringRef opType,
                   llvm::ArrayRef<std::string> inputs,
                   llvm::ArrayRef<std::string> outputs,
                   llvm::StringRef domain);

  ::onnx::GraphProto &graph;
  ExternalDataWriter &data;
  std::string scope = "/model";
  llvm::StringMap<unsigned> counters;
  llvm::StringMap<std::string> constants;
};

/// Little-endian bytes of `values` as FLOAT, FLOAT16 or BFLOAT16 (rounded
/// to nearest even; exact for values that are bf16 already).
std::vector<uint8_t> encodeFloats(llvm::ArrayRef<float> values,
                                  int32_t elemType);

} // namespace phiq::onnx

#endif // PHIQ_LIB_TARGET_ONNX_GRAPHBUILDER_H
