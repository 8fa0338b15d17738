package arch

// Tensor is a float32 tensor in row-major (PyTorch) order.
type Tensor struct {
	Shape []int
	Data  []float32
}
