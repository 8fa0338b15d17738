// Package ckptbomb writes small, well-formed PyTorch checkpoints that
// inflate to far more than their size on disk, for tests of the
// checkpoint reader's bounds. The bytes are produced as they are written,
// so a test never holds what the file expands to.
package ckptbomb

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
)

// PyTorchZip writes a torch.save zip file holding {"w": a 1-D float16
// tensor of numel elements} whose storage record deflates one random 4 KiB
// block repeated: under 1% of 2*numel bytes on disk inflate to 2*numel bytes
// (4*numel as float32), a ratio well inside what deflate allows, so only a
// bound on the decoded size can refuse it.
func PyTorchZip(w io.Writer, numel int64) error {
	z := zip.NewWriter(w)
	fw, err := z.Create("archive/data.pkl")
	if err != nil {
		return err
	}
	if _, err := fw.Write(pickle(numel)); err != nil {
		return err
	}
	if fw, err = z.Create("archive/data/0"); err != nil {
		return err
	}
	block := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(r.Uint32())
	}
	for left := 2 * numel; left > 0; left -= int64(len(block)) {
		if _, err := fw.Write(block[:min(left, int64(len(block)))]); err != nil {
			return err
		}
	}
	return z.Close()
}

// pickle is protocol 2 for {"w": _rebuild_tensor_v2(persistent
// ('storage', torch.HalfStorage, '0', 'cpu', numel), 0, (numel,), (1,),
// False, OrderedDict())}.
func pickle(numel int64) []byte {
	var b bytes.Buffer
	str := func(s string) {
		b.WriteByte('X') // BINUNICODE
		b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
		b.WriteString(s)
	}
	integer := func(v int64) {
		b.Write([]byte{0x8a, 8}) // LONG1, 8 bytes
		b.Write(binary.LittleEndian.AppendUint64(nil, uint64(v)))
	}
	b.Write([]byte{0x80, 2, '}'}) // PROTO 2, EMPTY_DICT
	str("w")
	b.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(") // GLOBAL, MARK
	b.WriteString("(")
	str("storage")
	b.WriteString("ctorch\nHalfStorage\n")
	str("0")
	str("cpu")
	integer(numel)
	b.WriteString("tQ") // TUPLE, BINPERSID
	integer(0)
	b.WriteString("(")
	integer(numel)
	b.WriteString("t(")
	integer(1)
	b.WriteString("t")
	b.WriteByte(0x89)                              // NEWFALSE
	b.WriteString("ccollections\nOrderedDict\n)R") // EMPTY_TUPLE, REDUCE
	b.WriteString("tRs.")                          // TUPLE, REDUCE, SETITEM, STOP
	return b.Bytes()
}
