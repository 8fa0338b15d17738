//go:build !purego

package amd64

// QuantizeInputAVX2 sets dst[i*stride] to the int8 code of src[i] for i
// < n (n a multiple of 8): round(float64(src[i]) * inv), halves away from
// zero, plus zp, saturated to [-128, 127]; 0 for NaN (quantize_amd64.s).
//
//go:noescape
func QuantizeInputAVX2(dst *int8, stride int, src *float32, n int, inv, zp float64)
