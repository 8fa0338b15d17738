package agent

import (
	"errors"
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/internal/meminfo"
	"github.com/coatnet-edge/coatnet-edge/internal/parallel"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
)

// memAvailable is how much memory the machine can still give (a hook for
// tests).
var memAvailable = meminfo.Available

// memoryMargin is what must stay available beyond an engine's own need
// (engine.Need) when it is built: a quarter of the need for the Go
// runtime's heap growth, plus 64 MiB for the rest of the agent. On a
// reload the running model still holds its memory, so the new one must
// fit beside it.
func memoryMargin(need int64) int64 { return need/4 + 64<<20 }

// checkMemory refuses a model whose engine, with the given threads, would
// not fit in the memory the machine has available. Where the platform does
// not say, the model's own limits (checked by model.Open) are all.
func checkMemory(m model.Any, threads int) error {
	avail, err := memAvailable()
	if errors.Is(err, meminfo.ErrUnknown) {
		return nil
	}
	if err != nil {
		return err
	}
	need := m.Need().Bytes(threads)
	if need+memoryMargin(need) > avail {
		return fmt.Errorf("the engine needs %s with %d threads, and %s more to spare, but the machine has %s available",
			engine.FormatBytes(need), parallel.Count(threads), engine.FormatBytes(memoryMargin(need)), engine.FormatBytes(avail))
	}
	return nil
}
