package model

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/allocs"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/float"
)

// TestHostileFloatIsRefused: a float model whose config asks for 4096x4096
// pictures (2.3 TMACs per inference) is refused by Load and Open before
// any weight is decoded.
func TestHostileFloatIsRefused(t *testing.T) {
	m, err := Load("../models/fmnist-pre.coatnet")
	if err != nil {
		t.Fatal(err)
	}
	md := m.Metadata
	m.Close()
	md.Config.ImgSize, md.Preprocess.Size = 4096, 4096
	hostile := &Model{Metadata: md, Weights: arch.SyntheticWeights(&md.Config, 1)}
	path := filepath.Join(t.TempDir(), "hostile.coatnet")
	if err := hostile.Save(path); err != nil {
		t.Fatal(err)
	}
	hostile = nil
	for name, open := range map[string]func(string) (Any, error){
		"Load": func(p string) (Any, error) { return Load(p) },
		"Open": Open,
	} {
		var err error
		alloc := allocs.Bytes(func() {
			var m Any
			if m, err = open(path); err == nil {
				m.Close()
			}
		})
		if !errors.Is(err, engine.ErrTooBig) || !strings.Contains(err.Error(), "MACs") {
			t.Fatalf("%s = %v, want ErrTooBig naming the MACs", name, err)
		}
		if alloc > 64<<20 {
			t.Errorf("%s allocated %s to refuse the file", name, engine.FormatBytes(int64(alloc)))
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestLimitsAdmitEveryArch: every registered timm CoAtNet, at its own
// size, is far within the limits as a float model, with every CPU and
// with 16 threads.
func TestLimitsAdmitEveryArch(t *testing.T) {
	for _, name := range arch.ArchNames() {
		cfg, err := arch.Arch(name)
		if err != nil {
			t.Fatal(err)
		}
		need := float.Need(&cfg)
		for _, threads := range []int{0, 16} {
			if err := need.Check(threads); err != nil {
				t.Errorf("%s, %d threads: %v", name, threads, err)
			}
		}
		if need.MACs > engine.MaxMACs/4 || need.Bytes(16) > engine.MaxModelBytes/2 {
			t.Errorf("%s: %+v is not far within the limits", name, need)
		}
		if name == "coatnet_5_224" {
			t.Logf("%s: %+v, %s with 16 threads", name, need, engine.FormatBytes(need.Bytes(16)))
		}
	}
}
