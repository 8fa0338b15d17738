// Package model is what callers of the engines need: open a model file of
// either kind (Open), run it on pictures or camera frames (Classifier),
// and read, write and check float model files (Load, Save).
//
// The parts live in packages of their own, each with one concern:
//
//   - model/arch: the CoAtNet architecture (configs, checkpoint schema,
//     costs) and a model's description (Metadata);
//   - model/float: the float32 reference forward pass;
//   - model/graph: the network as simple operations, and their float runner;
//   - model/int8net: the int8 program, its file binding and its engine;
//   - model/engine: what both engines share (Engine, Need and the limits,
//     LayerTime);
//   - model/checkpoint and model/modelfile: timm checkpoints and the
//     project's checksummed container.
//
// Quantization (float graph to int8 program) is package quant; the
// kernels the int8 engine runs are package kernels.
package model
