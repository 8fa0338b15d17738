// Package redact hides the passwords that URLs and camera sources carry
// (mqtt://user:password@host, rtsp://admin:password@camera/stream), so
// that logs, errors, label messages and the status line can show them.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// URL is a URL fit to print or log: the password of a user:password@ in
// it replaced by "xxxxx", also when the URL does not parse (error
// messages quote those).
func URL(broker string) string {
	if u, err := url.Parse(broker); err == nil && (u.User != nil || !strings.Contains(broker, "@")) {
		return u.Redacted()
	}
	// Unparsable (and error messages quote it), or an '@' where it does
	// not belong: hide everything up to the last '@'.
	scheme, rest, ok := strings.Cut(broker, "://")
	if !ok {
		scheme, rest = "", broker
	} else {
		scheme += "://"
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return broker
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	if i := strings.IndexAny(user, "/?#"); i >= 0 {
		user = user[:i]
	}
	return scheme + user + ":xxxxx" + rest[at:]
}

// embeddedUserinfo is a scheme://user:password@ anywhere in a text.
var embeddedUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]*):[^@\s]*@`)

// Source is a camera source fit to print or log: a URL like URL, and the
// URLs inside a GStreamer pipeline (rtspsrc location=rtsp://user:pw@...)
// with their passwords replaced by "xxxxx".
func Source(s string) string {
	if !strings.ContainsAny(s, " !") {
		return URL(s)
	}
	return embeddedUserinfo.ReplaceAllString(s, "${1}:xxxxx@")
}
