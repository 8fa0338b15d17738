// Package termtext makes text from files and the network safe to print to
// a terminal: a label, description or MQTT payload can hold escape
// sequences that retitle the window, rewrite the screen or hide text.
package termtext

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape writes what a terminal would act on rather than show as Go
// escapes (\x1b, \n, \u202e): control characters (C0, DEL and C1: ESC and
// CSI start terminal commands), bidirectional controls (they reorder what
// follows), line and paragraph separators, and bytes that are not UTF-8
// (\xff). Everything else, other scripts and emoji included, is left as it
// is; a backslash too, so the result is for reading, not for unquoting.
func Escape(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafe(r) || r == utf8.RuneError && n == 1 {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafe(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}
