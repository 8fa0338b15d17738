package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// Limits on pickles. gopickle allocates what a pickle asks for before
// reading it and keeps a 16-slot stack per MARK, so the scanner below bounds
// both before the unpickler runs. A state dict's pickle is about 100 bytes a
// tensor (a few MB with optimizer state), far below these.
const (
	maxPickle    = 64 << 20
	maxMarkDepth = 1 << 12
)

// Opcode argument kinds, as in Python's pickletools.
const (
	argUnknown uint8 = iota // not an opcode
	argNone
	argFix1
	argFix2
	argFix4
	argFix8
	argLine     // up to and including '\n'
	argTwoLines // GLOBAL and INST: module and name lines
	argLen1     // 1-byte length, then that many bytes
	argLen4     // 4-byte length, then that many bytes
	argLen8     // 8-byte length, then that many bytes
	argFrame    // 8-byte frame length; the frame's opcodes follow
	argStop
)

var pickleArgs [256]uint8

// lenWidth is the width of a length prefix.
var lenWidth = [...]int{argLen1: 1, argLen4: 4, argLen8: 8}

// markEffect: +1 pushes a mark, -1 pops one.
var markEffect [256]int8

func init() {
	set := func(kind uint8, ops string) {
		for i := 0; i < len(ops); i++ {
			pickleArgs[ops[i]] = kind
		}
	}
	set(argNone, "(012NQRabd}el]ost)u\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98")
	set(argFix1, "Khq\x80\x82")
	set(argFix2, "M\x83")
	set(argFix4, "Jjr\x84")
	set(argFix8, "G")
	set(argLine, "FILPSVgp")
	set(argTwoLines, "ci")
	set(argLen1, "UC\x8a\x8c")
	set(argLen4, "TXB\x8b")
	set(argLen8, "\x8d\x8e\x96")
	set(argFrame, "\x95")
	set(argStop, ".")
	markEffect['('] = 1
	for _, op := range []byte("1tlduei\x90\x91o") {
		markEffect[op] = -1
	}
}

// scanPickle reads exactly one pickle (up to and including STOP) from r,
// checking every length against the limit bytes that may remain, and returns
// its bytes. It interprets nothing; it only makes sure gopickle will not be
// asked to allocate more than the pickle holds.
func scanPickle(r *bufio.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	var n int64 // bytes consumed
	truncated := func() error { return fmt.Errorf("pickle truncated at byte %d", n) }
	take := func(k int64) error {
		if k < 0 || k > limit-n {
			return truncated()
		}
		m, err := io.CopyN(&buf, r, k)
		n += m
		if err != nil {
			return truncated()
		}
		return nil
	}
	fixed := func(k int) (uint64, error) {
		start := buf.Len()
		if err := take(int64(k)); err != nil {
			return 0, err
		}
		var b [8]byte
		copy(b[:], buf.Bytes()[start:])
		return binary.LittleEndian.Uint64(b[:]), nil
	}
	line := func() error {
		for {
			if n >= limit {
				return truncated()
			}
			c, err := r.ReadByte()
			if err != nil {
				return truncated()
			}
			n++
			buf.WriteByte(c)
			if c == '\n' {
				return nil
			}
		}
	}
	depth := 0
	for {
		if n >= limit {
			return nil, truncated()
		}
		op, err := r.ReadByte()
		if err != nil {
			return nil, truncated()
		}
		n++
		buf.WriteByte(op)
		switch markEffect[op] {
		case 1:
			if depth++; depth > maxMarkDepth {
				return nil, fmt.Errorf("pickle nests more than %d marks", maxMarkDepth)
			}
		case -1:
			depth = max(depth-1, 0)
		}
		switch pickleArgs[op] {
		case argUnknown:
			return nil, fmt.Errorf("unknown pickle opcode 0x%02x at byte %d", op, n-1)
		case argNone:
		case argFix1:
			err = take(1)
		case argFix2:
			err = take(2)
		case argFix4:
			err = take(4)
		case argFix8:
			err = take(8)
		case argLine:
			err = line()
		case argTwoLines:
			if err = line(); err == nil {
				err = line()
			}
		case argLen1, argLen4, argLen8:
			var k uint64
			if k, err = fixed(lenWidth[pickleArgs[op]]); err == nil {
				if k > uint64(limit-n) {
					return nil, fmt.Errorf("pickle string of %d bytes at byte %d runs past the end", k, n)
				}
				err = take(int64(k))
			}
		case argFrame:
			var k uint64
			if k, err = fixed(8); err == nil && k > uint64(limit-n) {
				return nil, fmt.Errorf("pickle frame of %d bytes at byte %d runs past the end", k, n)
			}
		case argStop:
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// unpickle runs gopickle on a scanned pickle. gopickle is not hardened
// against hostile input, so a panic inside it becomes an error.
func unpickle(p []byte, persistentLoad func(any) (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("corrupt PyTorch file: unpickler panicked: %v", r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(p))
	u.FindClass = findClass
	u.PersistentLoad = persistentLoad
	return u.Load()
}

// storageClasses maps torch's legacy typed-storage classes, which torch.save
// still records in every storage reference, to dtypes.
var storageClasses = map[string]string{
	"FloatStorage":    "F32",
	"HalfStorage":     "F16",
	"BFloat16Storage": "BF16",
	"DoubleStorage":   "F64",
	"LongStorage":     "I64",
	"IntStorage":      "I32",
	"ShortStorage":    "I16",
	"CharStorage":     "I8",
	"ByteStorage":     "U8",
	"BoolStorage":     "BOOL",
}

// storageClass is a torch.*Storage class; dtype is "" for ones we cannot
// read (complex, quantized), which is an error only if a tensor uses them.
type storageClass struct {
	name  string
	dtype string
}

// findClass resolves the globals a pickle names. Tensors and storages get
// real types; everything else (argparse.Namespace in timm's training
// checkpoints, numpy scalars, whole nn.Modules) becomes an opaqueObject, so
// a checkpoint loads as long as the state dict itself is plain tensors.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2":
		return rebuildTensor{}, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return rebuildParameter{}, nil
	}
	if module == "torch" && strings.HasSuffix(name, "Storage") {
		return &storageClass{name: "torch." + name, dtype: storageClasses[name]}, nil
	}
	return &opaqueClass{name: module + "." + name}, nil
}

// torchTensor is a tensor as pickled: a view into a storage.
type torchTensor struct {
	storage *storageRef
	offset  int
	size    []int
	stride  []int
}

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, storage_offset,
// size, stride, requires_grad, backward_hooks[, metadata]).
type rebuildTensor struct{}

func (rebuildTensor) Call(args ...any) (any, error) {
	const fn = "torch._utils._rebuild_tensor_v2"
	if len(args) != 6 && len(args) != 7 {
		return nil, fmt.Errorf("%s: %d arguments, want 6 or 7", fn, len(args))
	}
	s, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("%s: storage is %s, not a storage reference", fn, describe(args[0]))
	}
	off, ok := args[1].(int)
	if !ok {
		return nil, fmt.Errorf("%s: storage offset is %s, not an int", fn, describe(args[1]))
	}
	size, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("%s: size: %w", fn, err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, fmt.Errorf("%s: stride: %w", fn, err)
	}
	return &torchTensor{storage: s, offset: off, size: size, stride: stride}, nil
}

func intTuple(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("%s, not a tuple", describe(v))
	}
	out := make([]int, t.Len())
	for i := range out {
		x, ok := t.Get(i).(int)
		if !ok {
			return nil, fmt.Errorf("element %d is %s, not an int", i, describe(t.Get(i)))
		}
		out[i] = x
	}
	return out, nil
}

// rebuildParameter is torch._utils._rebuild_parameter(data, requires_grad,
// backward_hooks[, state]): an nn.Parameter is its tensor for our purposes.
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("torch._utils._rebuild_parameter: no arguments")
	}
	if _, ok := args[0].(*torchTensor); !ok {
		return nil, fmt.Errorf("torch._utils._rebuild_parameter: data is %s, not a tensor", describe(args[0]))
	}
	return args[0], nil
}

// opaqueClass stands for any Python class or function we do not model.
type opaqueClass struct{ name string }

func (c *opaqueClass) Call(...any) (any, error)  { return &opaqueObject{class: c.name}, nil }
func (c *opaqueClass) PyNew(...any) (any, error) { return &opaqueObject{class: c.name}, nil }

// opaqueObject is an instance of an opaqueClass. It takes and drops
// whatever state, items or elements the pickle gives it.
type opaqueObject struct{ class string }

func (*opaqueObject) PySetState(any) error { return nil }
func (*opaqueObject) Set(any, any)         {}
func (*opaqueObject) Append(any)           {}
func (*opaqueObject) Add(any)              {}
func (o *opaqueObject) String() string     { return "a " + o.class + " object" }

// describe names a pickled value's Python type for error messages without
// printing the value (which may be huge or cyclic).
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int:
		return "an int"
	case float64:
		return "a float"
	case string:
		return "a str"
	case []byte:
		return "bytes"
	case *types.Dict, *types.OrderedDict:
		return "a dict"
	case *types.List:
		return "a list"
	case *types.Tuple:
		return "a tuple"
	case *torchTensor:
		return "a tensor"
	case *storageRef:
		return "a storage"
	case *opaqueObject:
		return v.String()
	case *opaqueClass:
		return v.name
	case *storageClass:
		return v.name
	}
	return fmt.Sprintf("a %T", v)
}
