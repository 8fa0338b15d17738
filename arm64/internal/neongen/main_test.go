package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The files in the arm64 package are what this program writes: the same
// text, and, where llvm-mc-19 is installed, the same encodings.
func TestGeneratedFilesUpToDate(t *testing.T) {
	_, err := exec.LookPath("llvm-mc-19")
	haveMC := err == nil
	for name, gen := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		want := gen()
		if haveMC {
			if want, err = fill(want); err != nil {
				t.Fatal(err)
			}
		} else {
			got = blank(got)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate in arm64/", name)
		}
	}
	if !haveMC {
		t.Log("llvm-mc-19 not installed: encodings not compared (words_test.go in arm64 checks them)")
	}
}
