package kernels

// quantizeInputRef is the reference of [QuantizeInput].
func quantizeInputRef(dst []int8, stride int, src []float32, scale float64, zeroPoint int32) {
	for i, f := range src {
		dst[i*stride] = QuantizeInputValue(f, scale, zeroPoint)
	}
}
