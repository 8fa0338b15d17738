package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Auth is the one credential the server accepts, read from a file of one
// line: "USER:PASSWORD" (basic auth) or a TOKEN (Authorization: Bearer TOKEN,
// or basic auth with any user and TOKEN as the password).
type Auth struct {
	// user is empty for a token. Both are kept as SHA-256 digests, so that
	// comparing them takes the same time whatever their lengths.
	user, secret [sha256.Size]byte
	token        bool
}

// maxAuthFile bounds what LoadAuth reads: the file holds one short line.
const maxAuthFile = 4096

// LoadAuth reads the credential file at path. The file must be a regular
// file that only its owner can read or write (mode 0600 or stricter).
func LoadAuth(path string) (*Auth, error) {
	if path == "" {
		return nil, errors.New("auth file: no file named")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("auth file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("auth file %s: not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("auth file %s: other users can access it (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxAuthFile+1))
	if err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	if len(data) > maxAuthFile {
		return nil, fmt.Errorf("auth file %s: longer than %d bytes; it holds one line, USER:PASSWORD or a token", path, maxAuthFile)
	}
	a, err := parseAuth(data)
	if err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	return a, nil
}

func parseAuth(data []byte) (*Auth, error) {
	line, rest, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSpace(line)
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("more than one line; it holds one line, USER:PASSWORD or a token")
	}
	if len(line) == 0 {
		return nil, errors.New("empty; it holds one line, USER:PASSWORD or a token")
	}
	user, pass, basic := bytes.Cut(line, []byte(":"))
	if !basic {
		return &Auth{secret: sha256.Sum256(line), token: true}, nil
	}
	if len(user) == 0 || len(pass) == 0 {
		return nil, errors.New("USER:PASSWORD with an empty user or password")
	}
	return &Auth{user: sha256.Sum256(user), secret: sha256.Sum256(pass)}, nil
}

// EnsureAuth loads the credential file at path, first writing one with a new
// random token (mode 0600) when there is none; created says it was written.
func EnsureAuth(path string) (a *Auth, created bool, err error) {
	if path == "" {
		return nil, false, errors.New("auth file: no file named")
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		a, err := LoadAuth(path)
		return a, false, err
	}
	if err := writeToken(path); err != nil {
		return nil, false, fmt.Errorf("auth file %s: %w", path, err)
	}
	a, err = LoadAuth(path)
	return a, err == nil, err
}

// writeToken writes a new token to path through a temporary file renamed
// into place, so that a crash leaves either no file or a whole one.
func writeToken(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".auth-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing
	_, err = tmp.WriteString(rand.Text() + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Check says whether r carries the credential. A nil Auth accepts nothing.
func (a *Auth) Check(r *http.Request) bool {
	if a == nil {
		return false
	}
	h := r.Header.Get("Authorization")
	if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		d := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		return a.token && subtle.ConstantTimeCompare(d[:], a.secret[:]) == 1
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	secretOK := subtle.ConstantTimeCompare(p[:], a.secret[:])
	if a.token {
		return secretOK == 1
	}
	return subtle.ConstantTimeCompare(u[:], a.user[:])&secretOK == 1
}

// CSRFToken is this process's token that writes must carry in the header
// X-CSRF-Token; the page reads it from /api/status, which another site's
// page cannot read.
func CSRFToken() string { return csrfToken() }

var csrfToken = sync.OnceValue(rand.Text)

// Protect guards h. Writes (any method but GET, HEAD and OPTIONS) need the
// credential, a same-origin request (http.CrossOriginProtection: a browser
// sends the credential to this host whatever page asks) and the header
// X-CSRF-Token equal to CSRFToken. Reads need the credential only when
// reads is true (a listener others can reach).
func Protect(h http.Handler, a *Auth, reads bool) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := !safeMethod(r.Method)
		if write {
			if err := cop.Check(r); err != nil {
				WriteError(w, http.StatusForbidden, "cross-origin request refused")
				return
			}
		}
		if (write || reads) && !a.Check(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="coatnet"`)
			WriteError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		if write {
			tok := r.Header.Get("X-CSRF-Token")
			if subtle.ConstantTimeCompare([]byte(tok), []byte(CSRFToken())) != 1 {
				WriteError(w, http.StatusForbidden, "missing or wrong X-CSRF-Token header")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
