// Package int8net is the int8 program and its engine: a quantized CoAtNet
// as operations over int8 tensors (Program, each operation's typed Params
// in a file of its own, registered by kind), the checks a program must
// pass before anything is allocated, its binding to the model file
// (format.go, whose structs own the file's key names) and the engine
// (Net) that runs it on the kernels of package kernels, bit-exact on every
// architecture, implementation and thread count.
//
// # Adding an operation
//
// A kind of operation has one file in each layer, and one registration
// line in each:
//
//   - model/graph/<kind>.go: the kind's constant in graph.go and OpKinds,
//     how the graph builder spells the network with it, and its float32
//     runner (registerGraphOp);
//   - quant/rules.go: one entry of the rules table, turning the float
//     operation and its calibrated scales into the int8 parameters (and
//     one in keepsInputQuant if the output keeps its input's
//     quantization);
//   - model/int8net/<kind>.go: its typed parameters and arrays, checks,
//     cost, preparation (packing), task split, run, the kernels it uses
//     (kernels.Name*), and registerInt8 in an init function;
//   - format.go only when the operation brings scalars the file has no
//     key for yet (arrays are stored as Name+"/"+role tensors, their roles
//     given by the parameters' arrays method).
//
// quant's TestEveryLayerHasEveryOp fails until every kind of
// graph.OpKinds has a float runner, a quantization rule and an int8
// implementation. OpMaxPixels, the head's global_pool max, is the
// smallest complete example: model/graph/maxpixels.go, its rule in
// quant/rules.go, maxpixels.go here.
package int8net
