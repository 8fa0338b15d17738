package arm64

// Implementation maps each kernel to the implementation it runs: "go" for
// the portable reference.
func Implementation() map[string]string {
	return map[string]string{
		"GemmRequant":  "go",
		"GemmInt32":    "go",
		"Depthwise3x3": "go",
		"LUT":          "go",
		"Add":          "go",
		"SoftmaxRow":   "go",
	}
}
