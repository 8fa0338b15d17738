// Package graph spells a CoAtNet out as simple operations over NHWC
// tensors (convolutions, activations, attention, ...): the form that
// package quant calibrates and quantizes, and the kinds of operation
// (OpKinds) that every layer of the project implements once each: here
// the float runner (one file per kind, registered by kind), in quant the
// quantization rule, in model/int8net the int8 implementation.
package graph
