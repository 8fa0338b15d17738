package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/agent"
	"github.com/coatnet-edge/coatnet-edge/internal/sdnotify"
)

func newRunCmd() *cobra.Command {
	var configPath string
	var check bool
	cmd := &cobra.Command{
		Use:   "run [--config FILE] [--check]",
		Short: "Run the agent: camera frames to the model to MQTT labels",
		Long: `run is the long-running agent. It reads the YAML configuration FILE (every
key is optional; unknown keys and bad values are errors, all listed at once),
loads the model, opens the camera and the MQTT broker, and publishes one JSON
message per classified frame to <prefix>/<device>/labels, with a retained
online/offline on <prefix>/<device>/status, statistics on .../stats, and the
settings in force (paused, threshold, max_rate) retained on .../state.
Commands on .../set change them: "pause", "resume" or JSON such as
{"threshold": 0.5, "max_rate": 2}; .../set/paused takes ON/OFF,
.../set/threshold and .../set/rate a number. With mqtt.discovery (the
default) Home Assistant finds the device by itself.

Without --config it runs the demo: the int8 Fashion-MNIST model built into
this binary, one camera "demo" on a scene video made once in the state
directory (~/.local/state/coatnet/demo) whose two regions, "left" and
"right", show items that change at moments it logs at the start, and an
embedded MQTT broker on 127.0.0.1:1883. It logs each region's confirmed
state change and says how to watch them.

It serves a status page on http.listen (default http://127.0.0.1:8080/):
each camera's live view with its regions and states, rates, latency and
the MQTT connection, and, for a FILE with cameras:, a region editor that
rewrites FILE and reloads it; /api/status, /healthz and /metrics too.

SIGINT or SIGTERM stop it cleanly (offline is published, exit status 0).
Under systemd (Type=notify, see systemd/coatnet-agent.service) it reports
READY=1 once the model is loaded and the MQTT session started (a camera or
broker not there yet is retried in the background), a STATUS= line with
rates and latency, and WATCHDOG=1 only while camera frames arrive (or while
a camera that never opened is waited for).
SIGHUP reads FILE again and applies it without dropping the MQTT session:
the model is loaded again and the camera reopened if its settings changed;
a file that does not load is logged and the running configuration kept.

--check reads FILE (or the defaults), checks every value and opens what
opens without the camera or the broker (the model, a video file or folder,
the MQTT password and TLS files), prints "FILE: ok" or every problem, one a
line as "line N: key: what is wrong", and exits: status 0 if it is ok, else 1.

A minimal configuration:

  device: porch-cam
  model: {path: /usr/share/coatnet/fmnist-pre-int8.coatnet}
  camera: {source: /dev/video0}
  mqtt: {broker: mqtt://192.168.1.10:1883}

Watch it with: mosquitto_sub -h 192.168.1.10 -t 'coatnet/#' -v
or: coatnet watch --broker mqtt://192.168.1.10:1883`,
		Example: `  coatnet run                                # the demo
  coatnet run --config /etc/coatnet/agent.yaml
  coatnet run --check --config /etc/coatnet/agent.yaml   # check it, run nothing`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if check {
				return checkConfig(cmd, configPath)
			}
			cfg, err := agent.DemoConfig()
			if err != nil {
				return err
			}
			cfg.LogLabels = true // the demo shows what it publishes
			var load func() (agent.Config, error)
			if configPath != "" {
				load = func() (agent.Config, error) { return agent.LoadConfig(configPath) }
				if cfg, err = load(); err != nil {
					return err
				}
			}
			if err := execGoCV(cfg); err != nil {
				return err
			}
			log := slog.Default()
			if !cmd.Flags().Changed("log-level") {
				var lvl slog.Level
				if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err == nil {
					log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl}))
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer func() { signal.Stop(hup); close(hup) }()
			reload := make(chan struct{}, 1)
			go func() {
				for range hup {
					select {
					case reload <- struct{}{}:
					default: // one reload already waits
					}
				}
			}()
			opts := agent.Options{Reload: reload, LoadConfig: load, ConfigPath: configPath, Version: version()}
			// Under systemd (Type=notify): READY, RELOADING, STOPPING,
			// STATUS and the watchdog.
			if n, err := sdnotify.New(); err != nil {
				log.Warn("not notifying systemd", "err", err)
			} else {
				defer n.Close()
				opts.Notifier = n // does nothing outside systemd
				opts.WatchdogInterval, _ = sdnotify.WatchdogInterval()
			}
			return agent.Run(ctx, cfg, opts, log)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "the agent's YAML configuration `FILE` (default: the demo)")
	cmd.Flags().BoolVar(&check, "check", false, "check the configuration and exit: status 0 if it is ok, else 1")
	return cmd
}

// checkConfig is run --check: it checks the configuration at path (the
// defaults without one) and says "PATH: ok" or returns what is wrong.
func checkConfig(cmd *cobra.Command, path string) error {
	if err := agent.CheckConfig(path); err != nil {
		return err
	}
	name := path
	if name == "" {
		name = "the defaults (the demo)"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", name)
	return nil
}
