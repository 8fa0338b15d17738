package agent

import (
	"os"
	"path/filepath"
)

// replaceFile puts data at path atomically: written to tmp (a name in
// path's folder), set up by prepare (mode, owner; nil: 0600), synced and
// renamed over path, so a reader or a crash sees the old file or the new
// one, never a part. On failure tmp is removed and path untouched. The
// rename is then made durable by syncing the folder; that failure is
// dirErr, apart, since the new file is complete either way.
func replaceFile(tmp, path string, data []byte, prepare func(*os.File) error) (dirErr, err error) {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if prepare != nil {
		err = prepare(f)
	}
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	d, err := os.Open(filepath.Dir(path))
	if err == nil {
		err = d.Sync()
		d.Close()
	}
	return err, nil
}
