// RUN: phi-opt %s -split-input-file -verify-diagnostics

// Verifier errors of the mixture-of-experts ops, one small case each.

// top_k cannot exceed the number of experts.
func.func @route_topk(%l: tensor<?x?x4xf32>) {
  // expected-error@+1 {{top_k 5 exceeds the 4 experts the router scores}}
  %w, %i = phi.moe_route softmax_topk %l {top_k = 5 : i64} : tensor<?x?x4xf32> -> tensor<?x?x5xf32>, tensor<?x?x5xi32>
  return
}

// -----

// Weights and indices hold top_k entries.
func.func @route_width(%l: tensor<?x?x4xf32>) {
  // expected-error@+1 {{weights and indices must have top_k = 2 entries per token}}
  %w, %i = phi.moe_route softmax_topk %l {top_k = 2 : i64} : tensor<?x?x4xf32> -> tensor<?x?x3xf32>, tensor<?x?x2xi32>
  return
}

// -----

// sparsemixer picks exactly two experts.
func.func @route_sparse_k(%l: tensor<?x?x4xf32>) {
  // expected-error@+1 {{sparsemixer routing selects exactly 2 experts, got top_k 1}}
  %w, %i = phi.moe_route sparsemixer %l {jitter_eps = 0.01 : f64, top_k = 1 : i64} : tensor<?x?x4xf32> -> tensor<?x?x1xf32>, tensor<?x?x1xi32>
  return
}

// -----

// sparsemixer needs its threshold.
func.func @route_sparse_eps(%l: tensor<?x?x4xf32>) {
  // expected-error@+1 {{sparsemixer routing needs jitter_eps}}
  %w, %i = phi.moe_route sparsemixer %l {top_k = 2 : i64} : tensor<?x?x4xf32> -> tensor<?x?x2xf32>, tensor<?x?x2xi32>
  return
}

// -----

// sparsemixer weights are not renormalized.
func.func @route_sparse_norm(%l: tensor<?x?x4xf32>) {
  // expected-error@+1 {{normalize applies to softmax_topk routing only}}
  %w, %i = phi.moe_route sparsemixer %l {jitter_eps = 0.01 : f64, normalize, top_k = 2 : i64} : tensor<?x?x4xf32> -> tensor<?x?x2xf32>, tensor<?x?x2xi32>
  return
}

// -----

// softmax_topk has no jitter threshold.
func.func @route_softmax_eps(%l: tensor<?x?x4xf32>) {
  // expected-error@+1 {{jitter_eps applies to sparsemixer routing only}}
  %w, %i = phi.moe_route softmax_topk %l {jitter_eps = 0.01 : f64, top_k = 2 : i64} : tensor<?x?x4xf32> -> tensor<?x?x2xf32>, tensor<?x?x2xi32>
  return
}

// -----

// The threshold is not negative.
func.func @route_eps_neg(%l: tensor<?x?x4xf32>) {
  // expected-error@+1 {{jitter_eps must not be negative}}
  %w, %i = phi.moe_route sparsemixer %l {jitter_eps = -0.01 : f64, top_k = 2 : i64} : tensor<?x?x4xf32> -> tensor<?x?x2xf32>, tensor<?x?x2xi32>
  return
}

// -----

// Indices are int32.
func.func @route_index_type(%l: tensor<?x?x4xf32>) {
  // expected-error@+1 {{result #1 must be 3D tensor of 32-bit signless integer values}}
  %w, %i = phi.moe_route softmax_topk %l {top_k = 2 : i64} : tensor<?x?x4xf32> -> tensor<?x?x2xf32>, tensor<?x?x2xi64>
  return
}

// -----

// Per-expert weights come one per expert.
func.func @experts_count(%x: tensor<?x?x4xf32>, %w: tensor<?x?x2xf32>, %i: tensor<?x?x2xi32>, %g0: tensor<6x4xf32>, %g1: tensor<6x4xf32>, %u0: tensor<6x4xf32>, %u1: tensor<6x4xf32>, %d0: tensor<4x6xf32>, %d1: tensor<4x6xf32>) {
  // expected-error@+1 {{needs one gate/up/down weight per expert (3) or one stacked tensor each, got 2}}
  %y = phi.moe_experts silu %x, %w, %i gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) {num_experts = 3 : i64} : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<6x4xf32>, tensor<6x4xf32>) up(tensor<6x4xf32>, tensor<6x4xf32>) down(tensor<4x6xf32>, tensor<4x6xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// gate, up and down share a layout.
func.func @experts_layout(%x: tensor<?x?x4xf32>, %w: tensor<?x?x2xf32>, %i: tensor<?x?x2xi32>, %g0: tensor<6x4xf32>, %g1: tensor<6x4xf32>, %u0: tensor<6x4xf32>, %u1: tensor<6x4xf32>, %d0: tensor<4x6xf32>, %d1: tensor<4x6xf32>, %s: tensor<2x6x4xf32>) {
  // expected-error@+1 {{gate, up and down must use the same layout, got 2, 1 and 2 tensors}}
  %y = phi.moe_experts silu %x, %w, %i gate(%g0, %g1) up(%s) down(%d0, %d1) {num_experts = 2 : i64} : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<6x4xf32>, tensor<6x4xf32>) up(tensor<2x6x4xf32>) down(tensor<4x6xf32>, tensor<4x6xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Every expert has the same shapes.
func.func @experts_shape(%x: tensor<?x?x4xf32>, %w: tensor<?x?x2xf32>, %i: tensor<?x?x2xi32>, %g0: tensor<6x4xf32>, %g1: tensor<6x4xf32>, %u0: tensor<6x4xf32>, %u1: tensor<5x4xf32>, %d0: tensor<4x6xf32>, %d1: tensor<4x6xf32>) {
  // expected-error@+1 {{up weight of expert 1 must be 6x4, got 'tensor<5x4xf32>'}}
  %y = phi.moe_experts silu %x, %w, %i gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) {num_experts = 2 : i64} : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<6x4xf32>, tensor<6x4xf32>) up(tensor<6x4xf32>, tensor<5x4xf32>) down(tensor<4x6xf32>, tensor<4x6xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// down maps the intermediate size back to hidden.
func.func @experts_down(%x: tensor<?x?x4xf32>, %w: tensor<?x?x2xf32>, %i: tensor<?x?x2xi32>, %g0: tensor<6x4xf32>, %g1: tensor<6x4xf32>, %u0: tensor<6x4xf32>, %u1: tensor<6x4xf32>, %d0: tensor<6x4xf32>, %d1: tensor<4x6xf32>) {
  // expected-error@+1 {{down weight of expert 0 must be 4x6, got 'tensor<6x4xf32>'}}
  %y = phi.moe_experts silu %x, %w, %i gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) {num_experts = 2 : i64} : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<6x4xf32>, tensor<6x4xf32>) up(tensor<6x4xf32>, tensor<6x4xf32>) down(tensor<6x4xf32>, tensor<4x6xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// Stacked weights hold num_experts slices.
func.func @experts_stacked(%x: tensor<?x?x4xf32>, %w: tensor<?x?x2xf32>, %i: tensor<?x?x2xi32>, %g: tensor<3x6x4xf32>, %u: tensor<3x6x4xf32>, %d: tensor<2x4x6xf32>) {
  // expected-error@+1 {{down weight must be 3x4x6, got 'tensor<2x4x6xf32>'}}
  %y = phi.moe_experts silu %x, %w, %i gate(%g) up(%u) down(%d) {num_experts = 3 : i64} : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<3x6x4xf32>) up(tensor<3x6x4xf32>) down(tensor<2x4x6xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// A token cannot pick more experts than there are.
func.func @experts_topk(%x: tensor<?x?x4xf32>, %w: tensor<?x?x2xf32>, %i: tensor<?x?x2xi32>, %g: tensor<1x6x4xf32>, %u: tensor<1x6x4xf32>, %d: tensor<1x4x6xf32>) {
  // expected-error@+1 {{top_k 2 exceeds num_experts 1}}
  %y = phi.moe_experts silu %x, %w, %i gate(%g) up(%u) down(%d) {num_experts = 1 : i64} : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<1x6x4xf32>) up(tensor<1x6x4xf32>) down(tensor<1x4x6xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

// The block returns hidden-size activations.
func.func @experts_result(%x: tensor<?x?x4xf32>, %w: tensor<?x?x2xf32>, %i: tensor<?x?x2xi32>, %g0: tensor<6x4xf32>, %g1: tensor<6x4xf32>, %u0: tensor<6x4xf32>, %u1: tensor<6x4xf32>, %d0: tensor<4x6xf32>, %d1: tensor<4x6xf32>) {
  // expected-error@+1 {{result must have the input's 4 features}}
  %y = phi.moe_experts silu %x, %w, %i gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) {num_experts = 2 : i64} : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi32>) gate(tensor<6x4xf32>, tensor<6x4xf32>) up(tensor<6x4xf32>, tensor<6x4xf32>) down(tensor<4x6xf32>, tensor<4x6xf32>) -> tensor<?x?x6xf32>
  return
}
