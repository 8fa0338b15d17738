package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/benchmodel"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/float"
)

// edgeModels are coatnet-edge's two models of the case: float32 (the
// state dict itself) and int8 (quantized by package quant, kept in the
// cache so later runs skip the calibration).
type edgeModels struct {
	cfg     arch.Config
	weights map[string]arch.Tensor
	int8    model.Any
}

func newEdgeModels(ctx context.Context, o *options, c *conformance.Case, stderr io.Writer) (*edgeModels, error) {
	m := &edgeModels{}
	var err error
	if m.cfg, err = c.Config(); err != nil {
		return nil, err
	}
	if has(o, engEdgeFP32) {
		if m.weights, err = c.StateDict(); err != nil {
			return nil, err
		}
	}
	if !has(o, engEdgeInt8) {
		return m, nil
	}
	path := filepath.Join(o.cache, fmt.Sprintf("%s-calib%d.coatnet", c.Name, o.calib))
	if m.int8, err = model.Open(path); err == nil {
		return m, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "peerbench: %v: making it again\n", err)
	}
	fmt.Fprintf(stderr, "peerbench: quantizing %s for coatnet-edge on %d inputs (once; minutes with the portable kernels)\n", c.Name, o.calib)
	start := time.Now()
	qm, source, err := benchmodel.Build(ctx, benchmodel.Options{Case: c.Name, Calib: o.calib, RequireCase: true})
	if err != nil {
		return nil, fmt.Errorf("quantizing for coatnet-edge: %w", err)
	}
	if err := os.MkdirAll(o.cache, 0o755); err != nil {
		return nil, err
	}
	if err := qm.Save(path); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "peerbench: wrote %s in %v: %s\n", path, time.Since(start).Round(time.Second), source)
	m.int8 = qm
	return m, nil
}

func (m *edgeModels) engine(name string, threads int) (*engine, error) {
	if name == engEdgeFP32 {
		n, err := float.New(m.cfg, m.weights, threads)
		if err != nil {
			return nil, err
		}
		return &engine{name: name, input: n.Input(), run: func() ([]float32, error) { return n.Run(), nil }, close: n.Close}, nil
	}
	e, err := m.int8.NewEngine(threads)
	if err != nil {
		return nil, err
	}
	return &engine{name: name, input: e.Input(), run: func() ([]float32, error) { return e.Run(), nil }, close: e.Close}, nil
}

func (m *edgeModels) close() {
	if m.int8 != nil {
		m.int8.Close()
	}
}
