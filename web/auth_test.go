package web

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, data string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return path
}

func TestLoadAuthErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, data string
		mode       os.FileMode
		want       string
	}{
		{"open", "tok\n", 0o644, "chmod 600"},
		{"group", "tok\n", 0o640, "other users"},
		{"empty", "\n", 0o600, "empty"},
		{"lines", "tok\nmore\n", 0o600, "more than one line"},
		{"nouser", ":pass\n", 0o600, "empty user or password"},
		{"nopass", "user:\n", 0o600, "empty user or password"},
		{"long", strings.Repeat("x", 5000), 0o600, "longer than"},
	} {
		path := writeFile(t, c.name, c.data, c.mode)
		_, err := LoadAuth(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: LoadAuth: %v, want an error naming %s and saying %q", c.name, err, path, c.want)
		}
	}
	if _, err := LoadAuth(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadAuth(""); err == nil {
		t.Error(`LoadAuth("") loads`)
	}
	if _, _, err := EnsureAuth(""); err == nil {
		t.Error(`EnsureAuth("") writes`)
	}
	if _, err := LoadAuth(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}

func TestEnsureAuth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "http-auth")
	a, created, err := EnsureAuth(path)
	if err != nil || !created || a == nil {
		t.Fatalf("EnsureAuth on a missing file: %v, %v, %v", a, created, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("generated file mode %04o, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	tok := strings.TrimSpace(string(data))
	if len(tok) < 20 || strings.Contains(tok, ":") {
		t.Fatalf("generated token %q", tok)
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if !a.Check(r) {
		t.Error("the generated token is refused")
	}
	b, created, err := EnsureAuth(path)
	if err != nil || created || !b.Check(r) {
		t.Errorf("EnsureAuth on the existing file: created %v, err %v", created, err)
	}
	other := filepath.Join(t.TempDir(), "http-auth")
	c, _, err := EnsureAuth(other)
	if err != nil || c.Check(r) {
		t.Errorf("a second generated file accepts the first token (err %v)", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
	os.Chmod(path, 0o644)
	if _, _, err := EnsureAuth(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("EnsureAuth on a readable file: %v", err)
	}
}

func TestAuthCheck(t *testing.T) {
	token, err := LoadAuth(writeFile(t, "token", "s3cret-token\n", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	basic, err := LoadAuth(writeFile(t, "basic", "admin:pa:ss\n", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		a     *Auth
		set   func(*http.Request)
		allow bool
	}{
		{"token bearer", token, func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-token") }, true},
		{"token bearer lower case", token, func(r *http.Request) { r.Header.Set("Authorization", "bearer s3cret-token") }, true},
		{"token basic any user", token, func(r *http.Request) { r.SetBasicAuth("whoever", "s3cret-token") }, true},
		{"token wrong", token, func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-tokeN") }, false},
		{"token prefix", token, func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") }, false},
		{"token none", token, func(r *http.Request) {}, false},
		{"basic right", basic, func(r *http.Request) { r.SetBasicAuth("admin", "pa:ss") }, true},
		{"basic wrong user", basic, func(r *http.Request) { r.SetBasicAuth("Admin", "pa:ss") }, false},
		{"basic wrong password", basic, func(r *http.Request) { r.SetBasicAuth("admin", "pa:sS") }, false},
		{"basic as bearer", basic, func(r *http.Request) { r.Header.Set("Authorization", "Bearer pa:ss") }, false},
		{"nil auth", nil, func(r *http.Request) { r.SetBasicAuth("admin", "pa:ss") }, false},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		c.set(r)
		if got := c.a.Check(r); got != c.allow {
			t.Errorf("%s: Check = %v, want %v", c.name, got, c.allow)
		}
	}
}

func TestCSRFToken(t *testing.T) {
	if a, b := CSRFToken(), CSRFToken(); a != b || len(a) < 20 {
		t.Fatalf("CSRFToken() = %q then %q: want one random token per process", a, b)
	}
}

// TestProtect runs requests through a real server: writes need the
// credential, a same-origin request and the CSRF token; reads need the
// credential only when asked.
func TestProtect(t *testing.T) {
	a, err := LoadAuth(writeFile(t, "token", "tok\n", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"saved": r.Method})
	})
	mux := http.NewServeMux()
	mux.Handle("/open/", http.StripPrefix("/open", Protect(ok, a, false)))
	mux.Handle("/closed/", http.StripPrefix("/closed", Protect(ok, a, true)))
	s, url := serve(t, Limits{}, mux)
	origin := "http://" + s.Addr()
	auth := func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok") }
	csrf := func(r *http.Request) { r.Header.Set("X-CSRF-Token", CSRFToken()) }
	sameSite := func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-origin"); r.Header.Set("Origin", origin) }
	for _, c := range []struct {
		name, method, path string
		set                []func(*http.Request)
		code               int
	}{
		{"read open", "GET", "/open/x", nil, 200},
		{"read closed without auth", "GET", "/closed/x", nil, 401},
		{"read closed wrong auth", "GET", "/closed/x", []func(*http.Request){func(r *http.Request) { r.Header.Set("Authorization", "Bearer bad") }}, 401},
		{"read closed with auth", "GET", "/closed/x", []func(*http.Request){auth}, 200},
		{"write without auth", "PUT", "/open/x", []func(*http.Request){csrf, sameSite}, 401},
		{"write wrong auth", "DELETE", "/open/x", []func(*http.Request){csrf, sameSite, func(r *http.Request) { r.SetBasicAuth("u", "bad") }}, 401},
		{"write without token", "PUT", "/open/x", []func(*http.Request){auth, sameSite}, 403},
		{"write wrong token", "PUT", "/open/x", []func(*http.Request){auth, sameSite, func(r *http.Request) { r.Header.Set("X-CSRF-Token", "x"+CSRFToken()) }}, 403},
		{"write cross-site", "PUT", "/open/x", []func(*http.Request){auth, csrf, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }}, 403},
		{"write same-site other origin", "POST", "/open/x", []func(*http.Request){auth, csrf, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }}, 403},
		{"write foreign origin", "DELETE", "/open/x", []func(*http.Request){auth, csrf, func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }}, 403},
		{"write same origin", "PUT", "/open/x", []func(*http.Request){auth, csrf, sameSite}, 200},
		{"write same origin, Origin only", "DELETE", "/closed/x", []func(*http.Request){auth, csrf, func(r *http.Request) { r.Header.Set("Origin", origin) }}, 200},
		{"write from a non-browser", "PATCH", "/open/x", []func(*http.Request){auth, csrf}, 200},
	} {
		r, err := http.NewRequest(c.method, url+c.path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range c.set {
			f(r)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s: %s %s: %d %s, want %d", c.name, c.method, c.path, resp.StatusCode, body, c.code)
			continue
		}
		var got map[string]string
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("%s: body %q is not JSON: %v", c.name, body, err)
		}
		if c.code != 200 && got["error"] == "" {
			t.Errorf("%s: body %q has no error", c.name, body)
		}
		if wa := resp.Header.Get("WWW-Authenticate"); (c.code == 401) != (wa == `Basic realm="coatnet"`) {
			t.Errorf("%s: %d with WWW-Authenticate %q", c.name, c.code, wa)
		}
	}
}
