package modelfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes, as they are and with their
// checksums recomputed so that the fuzzer reaches the checks behind them.
// Parse must not panic, must fail only with one of the sentinels, and what
// it accepts must be usable and must write back to an equivalent file.
func FuzzParse(f *testing.F) {
	good := sampleFile(f)
	f.Add(good)
	f.Add(encode(f, nil, nil))
	f.Add(encode(f, json.RawMessage(`{"a":[1,2,{"b":null}]}`), []Tensor{Int8Tensor("z", []int{0}, nil), Int32Tensor("s", nil, []int32{5})}))
	f.Add(assemble(`1`, `[{"length":0,"offset":0,"shape":[0,9223372036854775807],"dtype":"i64","name":"x"}]`, nil))
	f.Add(assemble(`{}`, `[{"name":"a","dtype":"u8","shape":[65],"offset":0,"length":65},{"name":"b","dtype":"u8","shape":[1],"offset":64,"length":1}]`, make([]byte, 128)))
	f.Add(assemble(`{}`, `[{"name":"a","dtype":"u8","shape":[1],"offset":0,"length":1,"x":0}]`, make([]byte, 1)))
	huge := assemble("1", "[]", nil)
	binary.LittleEndian.PutUint64(huge[offDataLen:], math.MaxInt64-uint64(len(huge)))
	reseal(huge)
	f.Add(huge)
	f.Add(good[:len(good)-1])
	f.Add(good[:headerSize])
	f.Add(append(bytes.Clone(good), 0))
	f.Add([]byte("COATNET"))
	f.Add([]byte("PK\x03\x04"))
	f.Add(append([]byte{2, 0, 0, 0, 0, 0, 0, 0}, "{}"...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		check(t, b)
		if len(b) >= headerSize {
			c := bytes.Clone(b)
			reseal(c)
			check(t, c)
		}
	})
}

func check(t *testing.T, b []byte) {
	img, err := readImage(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("readImage: %v", err)
	}
	f, err := Parse(b)
	_, ierr := Parse(img)
	if (err == nil) != (ierr == nil) {
		t.Fatalf("Parse: %v; Parse after readImage: %v", err, ierr)
	}
	if err != nil {
		n := 0
		for _, s := range []error{ErrNotModelFile, ErrUnsupportedVersion, ErrCorrupt} {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("error %v matches %d sentinels", err, n)
		}
		return
	}
	if !bytes.Equal(img, b) {
		t.Fatalf("readImage read %d bytes of a valid file of %d", len(img), len(b))
	}
	if !json.Valid(f.Metadata()) {
		t.Fatalf("invalid metadata %q accepted", f.Metadata())
	}
	var v any
	if err := f.DecodeMetadata(&v); err != nil {
		t.Fatalf("DecodeMetadata: %v", err)
	}
	var ts []Tensor
	for _, info := range f.Tensors() {
		tt, ok := f.Tensor(info.Name)
		if !ok || int64(len(tt.Data)) != info.Length {
			t.Fatalf("tensor %q: %v", info.Name, ok)
		}
		var verr error
		switch tt.DType {
		case F32:
			_, verr = tt.Float32()
		case I32:
			_, verr = tt.Int32()
		case I8:
			_, verr = tt.Int8()
		}
		if verr != nil {
			t.Fatalf("tensor %q: %v", info.Name, verr)
		}
		ts = append(ts, tt)
	}
	var buf bytes.Buffer
	if err := Write(&buf, json.RawMessage(f.Metadata()), ts); err != nil {
		t.Fatalf("writing back an accepted file: %v", err)
	}
	g, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("the file written back is rejected: %v", err)
	}
	gi := g.Tensors()
	for i, info := range f.Tensors() {
		gt, _ := g.Tensor(info.Name)
		if gi[i].Name != info.Name || !bytes.Equal(gt.Data, ts[i].Data) {
			t.Fatalf("tensor %d changed on writing back", i)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
