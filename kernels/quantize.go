package kernels

import "math"

// QuantizeInput quantizes the float input of a model: for i < len(src),
//
//	dst[i*stride] = QuantizeInputValue(src[i], scale, zeroPoint)
//
// leaving the bytes between untouched, so that one call per channel plane
// turns a CHW input into HWC (stride = channels). stride is at least 1,
// dst holds (len(src)-1)*stride+1 values or more, scale is positive.
func QuantizeInput(dst []int8, stride int, src []float32, scale float64, zeroPoint int32) {
	if stride < 1 {
		panic("kernels: QuantizeInput stride below 1")
	}
	if len(src) > 0 && (len(dst) == 0 || len(src)-1 > (len(dst)-1)/stride) {
		panic("kernels: QuantizeInput dst too short")
	}
	if !(scale > 0) {
		panic("kernels: QuantizeInput scale is not positive")
	}
	quantizeInputK.fn(dst, stride, src, scale, zeroPoint)
}

var quantizeInputK = newKernel[func(dst []int8, stride int, src []float32, scale float64, zeroPoint int32)](quantizeInputRef, NameQuantizeInput)

// QuantizeInputValue is the int8 code of f for a real value scale*(q -
// zeroPoint): f/scale (as f * (1/scale) in float64) rounded to the nearest
// integer, halves away from zero, plus zeroPoint, saturated to [-128,
// 127]; NaN gives 0 (what Go's conversion of a NaN to int8 gives on amd64
// and arm64, which earlier versions relied on).
func QuantizeInputValue(f float32, scale float64, zeroPoint int32) int8 {
	v := math.Round(float64(f)*(1/scale)) + float64(zeroPoint)
	if v != v {
		return 0
	}
	return int8(max(-128, min(127, v)))
}
