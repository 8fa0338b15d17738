// Package engine is what the float reference (model/float) and the int8
// engine (model/int8net) share, so that callers can hold either: the
// Engine interface, the limits on what a model may ask of the machine
// (Need, checked before anything is allocated) and per-layer timing.
package engine
