package agent

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// warnUnsafeFiles logs, at the start, what lets another user of the
// machine read the broker password or change what the agent stores and
// sends: a password_file every user can read, and a state_dir another
// user owns. Warnings, not errors: a start that worked keeps working. A
// password file among systemd's credentials ($CREDENTIALS_DIRECTORY) is
// private to the unit whatever its mode.
func warnUnsafeFiles(cfg *Config, log *slog.Logger) {
	if pf := cfg.MQTT.PasswordFile; pf != "" && cfg.MQTT.Username != "" && !inCredentials(pf) {
		if info, err := os.Stat(pf); err == nil && info.Mode().Perm()&0o004 != 0 {
			log.Warn("mqtt.password_file can be read by every user; chmod 600 it, or hand it over as a systemd "+
				"credential (LoadCredential=)", "path", pf, "mode", fmt.Sprintf("%04o", info.Mode().Perm()))
		}
	}
	if info, err := os.Stat(cfg.StateDir); err == nil {
		if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
			log.Warn("state_dir is owned by another user, who can change the messages the agent stores and sends; "+
				"chown it to the agent's user", "path", cfg.StateDir, "owner_uid", st.Uid, "agent_uid", os.Geteuid())
		}
	}
}

// inCredentials reports whether path is in systemd's credentials
// directory for this service.
func inCredentials(path string) bool {
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" || !filepath.IsAbs(path) {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../")
}
