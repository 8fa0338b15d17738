package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// ortInit loads ONNX Runtime's library (dlopen) and makes its environment.
// onnxruntime_go v1.27.0 asks the library for C API version 24 (ORT 1.24);
// newer libraries serve every older version, so 1.30's works.
func ortInit(lib string) error {
	ort.SetSharedLibraryPath(lib)
	return ort.InitializeEnvironment()
}

func ortDestroy() { _ = ort.DestroyEnvironment() }

func ortVersion() string { return ort.GetVersion() }

// newORTEngine is a session on the model file at path with threads
// intra-op threads (ORT's default inter-op setting: one, sequential), its
// input and output tensors allocated once, so each run only calls Run.
func newORTEngine(name, path string, threads int, saveDir string, shape []int64, input []float32, classes int) (*engine, error) {
	in, err := ort.NewTensor(ort.NewShape(shape...), slices.Clone(input))
	if err != nil {
		return nil, err
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, int64(classes)))
	if err != nil {
		in.Destroy()
		return nil, err
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		in.Destroy()
		out.Destroy()
		return nil, err
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(threads); err != nil {
		return nil, err
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, err
	}
	if saveDir != "" {
		if err := os.MkdirAll(saveDir, 0o755); err != nil {
			return nil, err
		}
		if err := opts.SetOptimizedModelFilePath(filepath.Join(saveDir, strings.TrimSuffix(filepath.Base(path), ".onnx")+"-optimized.onnx")); err != nil {
			return nil, err
		}
	}
	s, err := ort.NewAdvancedSession(path, []string{"input"}, []string{"logits"}, []ort.Value{in}, []ort.Value{out}, opts)
	if err != nil {
		in.Destroy()
		out.Destroy()
		return nil, err
	}
	return &engine{name: name,
		run: func() ([]float32, error) {
			if err := s.Run(); err != nil {
				return nil, err
			}
			return out.GetData(), nil
		},
		close: func() {
			s.Destroy()
			in.Destroy()
			out.Destroy()
		}}, nil
}
