package engine

import "time"

// LayerTime is one layer's share of the runs since timing was enabled.
type LayerTime struct {
	Name string        `json:"name"`
	Kind string        `json:"kind"`           // op kind for int8 programs, block kind for the float engine
	Impl string        `json:"impl,omitempty"` // int8: the kernels and their implementations (Int8Impl)
	MACs int64         `json:"macs"`           // per run
	Time time.Duration `json:"time_ns"`
}

// Lap adds the time since *start to layer i when timing, and restarts it.
func Lap(times []time.Duration, i int, start *time.Time) {
	if times == nil {
		return
	}
	now := time.Now()
	times[i] += now.Sub(*start)
	*start = now
}

// Engine is a network ready to run on preprocessed input: the float
// reference or the int8 engine.
type Engine interface {
	Input() []float32 // CHW, normalised, as preprocessing writes it
	Run() []float32   // logits, reused by the next Run
	Threads() int
	EnableTiming()
	LayerTimes() []LayerTime
	Close()
}
