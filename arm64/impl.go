package arm64

// Implementation maps each kernel to the implementation it runs: "go" for
// the portable reference, "sdot" for the NEON micro-kernel with the dot
// product (Cortex-A55/A76/A78), "neon" for the one without (Cortex-A53,
// A72). The GEMMs' implementation is chosen once from the CPU's features;
// [Weights] are packed for it.
func Implementation() map[string]string {
	return map[string]string{
		"GemmRequant":  gemmImpl.name,
		"GemmInt32":    gemmImpl.name,
		"Depthwise3x3": "go",
		"LUT":          "go",
		"Add":          "go",
		"SoftmaxRow":   "go",
	}
}
