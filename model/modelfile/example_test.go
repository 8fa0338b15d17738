package modelfile_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

func Example() {
	dir, err := os.MkdirTemp("", "modelfile")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.coatnet")

	type meta struct {
		Arch   string   `json:"arch"`
		Labels []string `json:"labels"`
	}
	err = modelfile.WriteFile(path, meta{Arch: "tiny", Labels: []string{"cat", "dog"}}, []modelfile.Tensor{
		modelfile.Float32Tensor("fc.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		modelfile.Int8Tensor("fc.qweight", []int{2, 3}, []int8{-128, 0, 127, 1, 2, 3}),
	})
	if err != nil {
		log.Fatal(err)
	}

	f, err := modelfile.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var m meta
	if err := f.DecodeMetadata(&m); err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Arch, m.Labels)
	for _, t := range f.Tensors() {
		fmt.Println(t.Name, t.DType, t.Shape, t.Length)
	}
	w, _ := f.Tensor("fc.weight")
	v, err := w.Float32() // aliases the mapping on little-endian hosts
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v)
	// Output:
	// tiny [cat dog]
	// fc.weight f32 [2 3] 24
	// fc.qweight i8 [2 3] 6
	// [1 2 3 4 5 6]
}
