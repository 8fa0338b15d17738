package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// static is the status page: plain HTML, CSS and JavaScript, no build
// step, nothing fetched from elsewhere.
//
//go:embed static/index.html static/app.js static/style.css
var static embed.FS

// pageCSP lets the page run only its own script and style and talk only to
// its own origin: no inline script (an injected name cannot run), no
// framing, no form posts elsewhere.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// pageTypes are the content types of the page's files, by extension, so
// they never depend on the machine's mime.types.
var pageTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// pageFile is one embedded file, with its ETag.
type pageFile struct {
	body        []byte
	contentType string
	etag        string
}

// Page serves the status page: / is static/index.html, /NAME the file
// static/NAME; anything else is 404. Mount it at "GET /". The files are
// revalidated at every load (no-cache with an ETag of their content), so
// a browser never mixes the script of one build with the page of another
// after an upgrade, yet a reload costs a 304.
func Page() http.Handler {
	files := map[string]pageFile{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := pageTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		files["/"+strings.TrimPrefix(p, "static/")] = pageFile{b, ct, `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("web: the embedded page does not read: " + err.Error()) // built into the binary
	}
	files["/"] = files["/index.html"]
	delete(files, "/index.html")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	})
}
