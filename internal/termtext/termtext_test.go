package termtext

import "testing"

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"T-shirt/top", "T-shirt/top"},
		{"Ankle boot 0.93, Sandal 0.05", "Ankle boot 0.93, Sandal 0.05"},
		{"café, 猫, emoji 🐈, Ω", "café, 猫, emoji 🐈, Ω"},
		{`back\slash "quoted"`, `back\slash "quoted"`},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"a\nb\rc\td", `a\nb\rc\td`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bidi \u202egnp.exe\u202c \u2066x\u2069 \u200f", `bidi \u202egnp.exe\u202c \u2066x\u2069 \u200f`},
		{"line\u2028para\u2029", `line\u2028para\u2029`},
		{"bad \xff\xfe utf-8", `bad \xff\xfe utf-8`},
		{"replacement \uFFFD kept", "replacement \uFFFD kept"},
	} {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEscapeLeavesSafeTextAlone(t *testing.T) {
	s := "Trouser 0.99"
	if n := testing.AllocsPerRun(100, func() { _ = Escape(s) }); n != 0 {
		t.Errorf("%v allocations for text that needs no escaping", n)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[31mred", "\u202e", "\xff", "\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		for _, r := range e {
			if unsafe(r) {
				t.Fatalf("Escape(%q) = %q keeps %U", s, e, r)
			}
		}
		if Escape(e) != e {
			t.Fatalf("Escape(%q) = %q is escaped again", s, e)
		}
	})
}
