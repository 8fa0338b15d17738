// Package modelfile reads and writes the project's model container: one
// self-describing file holding a JSON metadata document and a list of named
// tensors. The package knows nothing about CoAtNet; the model package puts
// its configuration, labels and preprocessing in the metadata and its
// weights in the tensors.
//
// Open memory-maps a file read-only (on unix; elsewhere, and when mapping
// is impossible, it reads the file into memory) and verifies all of it,
// checksums included, before it returns. It refuses a device or a
// directory, and reads a pipe only if its header states at most
// [MaxReadLen] bytes. Tensor data is then used in place:
// [File.Tensor] and the typed views [Tensor.Float32], [Tensor.Int8] and
// [Tensor.Int32] return slices that alias the mapping, with no copy.
//
// # Format, version 1
//
// Integers are little-endian. Offsets count bytes from the start of the
// file. align64(x) is x rounded up to a multiple of 64. CRC-32C is the CRC-32
// with the Castagnoli polynomial (iSCSI, ext4; Go's
// crc32.MakeTable(crc32.Castagnoli)), with the usual initial value and final
// inversion: the CRC-32C of "123456789" is 0xe3069283, and of no bytes, 0.
//
//	offset   size  field
//	0        8     magic "COATNET\x00"
//	8        4     format version, uint32: 1
//	12       4     flags, uint32: version 1 defines none, so 0
//	16       8     M, metadata length, uint64: 1 to 64 MiB
//	24       8     I, tensor-index length, uint64: 2 to 64 MiB
//	32       8     L, data-section length, uint64: D+L <= 2^63-1
//	40       4     CRC-32C of bytes [64, D): metadata, index and padding
//	44       4     CRC-32C of bytes [D, D+L): the data section
//	48       12    reserved, zero
//	60       4     CRC-32C of bytes [0, 60): the header before this field
//	64       M     metadata
//	64+M     I     tensor index
//	64+M+I         zero padding up to D = align64(64+M+I)
//	D        L     data section
//	D+L            end of file; nothing may follow
//
// The header is 64 bytes. Every byte of a file is covered by exactly one of
// the three checksums, so a file with any single-bit error (and any burst
// error up to 32 bits long) is rejected; the reserved bytes, the padding and
// the data bytes between tensors must in addition be zero.
//
// The metadata is one JSON value in UTF-8. This package only checks that it
// is valid; [File.DecodeMetadata] decodes it strictly.
//
// The tensor index is a JSON array in UTF-8 with one object per tensor:
//
//	{"name":"stem.conv1.weight","dtype":"f32","shape":[32,3,3,3],"offset":0,"length":3456}
//
// Each object has exactly these five keys, spelled exactly so, once each, in
// any order:
//
//   - name: a non-empty string, unique in the file.
//   - dtype: the element type, one of f32, f16, i8, u8, i16, i32, i64 (see
//     [DType]); elements are little-endian.
//   - shape: an array of at most 8 integers, each >= 0. [] is a scalar (one
//     element); a dimension of 0 gives an empty tensor.
//   - offset: where the tensor's bytes start, counted from D; a multiple of 64.
//   - length: the tensor's length in bytes: the product of the shape times
//     the element size, at most 2^63-1 (if no dimension is 0, no partial
//     product may exceed that either); offset+length <= L.
//
// On a 32-bit platform every dimension and length must also fit in an int
// (2^31-1): such a platform cannot hold a larger tensor, and it rejects an
// empty tensor with a larger dimension as too large.
//
// Tensors do not overlap; an empty tensor may sit where another starts or
// ends, not inside it. The index lists at most 2^20 tensors; its order is the
// order [File.Tensors] reports. Because D is a multiple of 64 and a mapping
// is page-aligned, every tensor of a mapped file starts on a 64-byte boundary
// in memory.
//
// [Write] lays tensors out in the order given, each at the next multiple of
// 64 after the previous one's end, and ends the data section at the end of
// the last tensor.
//
// # Compatibility
//
// A reader rejects a file whose version it does not know and a file with a
// flag it does not know ([ErrUnsupportedVersion]). So a later writer adds
// what old readers may ignore as tensors or metadata keys; it marks with a
// flag what old readers must understand, and it increments the version when
// it changes the layout.
//
// # Errors
//
// Parse and Open return errors that match one of three sentinels with
// [errors.Is]: [ErrNotModelFile] (the magic is wrong; for a safetensors file
// or a PyTorch checkpoint the message suggests coatnet convert),
// [ErrUnsupportedVersion] and [ErrCorrupt] (a checksum mismatch, a
// truncated file, trailing bytes, an invalid index, sizes beyond the limits
// above). Errors from Open name the file.
//
// # Lifetime
//
// Slices obtained from a [File] (metadata, tensor data, typed views) are
// read-only: the mapping is PROT_READ, and a write faults and kills the
// program. They are valid until [File.Close]. Replacing a model file with
// [WriteFile], which renames a new file over the old one, is safe while
// another process has the old one open; truncating or rewriting a mapped
// file in place is not (the reader gets SIGBUS).
package modelfile
