package dataset

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// forEach calls do(r, i) for every i in [0, n) on workers goroutines, each
// with its own r from open (closed when it is done), until ctx ends. An
// error from open or do stops that worker; all of them are returned
// joined. Which worker handles which i is not fixed, so do must give
// the same result on any.
func forEach[R interface{ Close() error }](ctx context.Context, n, workers int, open func() (R, error), do func(r R, i int) error) error {
	workers = max(1, min(workers, n))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := open()
			if err != nil {
				errs[w] = err
				return
			}
			defer r.Close()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := do(r, i); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
