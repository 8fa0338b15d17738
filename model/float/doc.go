// Package float is the float32 reference forward pass of a CoAtNet
// (timm's), in portable Go: the engine that conformance checks against
// timm, that float model files run on, and whose float kernels (Dense,
// Softmax, the activations, the relative-position indexing, the weight
// folding) the graph runner of model/graph reuses, so that each float
// computation is written once.
package float
