package main

import (
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/agent"
)

func newWatchCmd() *cobra.Command {
	var opt agent.WatchOptions
	var configPath string
	cmd := &cobra.Command{
		Use:   "watch [--broker URL] [--device ID]",
		Short: "Show the labels, status and stats of coatnet agents live",
		Long: `watch subscribes to the topics of one agent (--device) or of all of them and
prints each label message, status change and statistics report as a line,
for checking a device from a laptop. It says when label sequence numbers
skip (messages lost on the way: numbers still missing 10 s later; late
ones are marked "late") and when an agent restarted. It subscribes again
after every reconnection and says so. Ctrl-C stops.

It logs in like the agent: --username, --password-file, --ca-file,
--cert-file and --key-file mean what mqtt.username, mqtt.password_file,
mqtt.ca_file, mqtt.cert_file and mqtt.key_file mean in agent.yaml, and
--config takes the broker, prefix and credentials from such a file (flags
override it). A user:password@ in --broker works too; watch never prints
the password. --client-id keeps a session on the broker, so labels sent
while watch is away arrive when it is back.`,
		Example: `  coatnet watch --broker mqtt://192.168.1.10:1883
  coatnet watch --broker mqtt://broker.lan:1883 --device porch-cam --count 10
  coatnet watch --broker mqtt://broker.lan:1883 --username laptop --password-file ~/.config/coatnet/mqtt-password
  coatnet watch --broker mqtts://broker.lan:8883 --ca-file ca.pem --cert-file laptop.pem --key-file laptop-key.pem
  coatnet watch --config /etc/coatnet/agent.yaml --device porch-cam
  coatnet watch --broker mqtt://broker.lan:1883 --client-id laptop-watch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath != "" {
				cfg, err := agent.LoadConfig(configPath)
				if err != nil {
					return err
				}
				m := cfg.MQTT
				if m.Broker == "" { // the agent's embedded broker
					m.Broker = "mqtt://" + m.EmbeddedListen
				}
				for flag, v := range map[string]struct {
					dst *string
					val string
				}{
					"broker": {&opt.Broker, m.Broker}, "prefix": {&opt.Prefix, m.Prefix},
					"username": {&opt.Username, m.Username}, "password-file": {&opt.PasswordFile, m.PasswordFile},
					"ca-file": {&opt.CAFile, m.CAFile}, "cert-file": {&opt.CertFile, m.CertFile}, "key-file": {&opt.KeyFile, m.KeyFile},
				} {
					if !cmd.Flags().Changed(flag) {
						*v.dst = v.val
					}
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return agent.Watch(ctx, opt, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&opt.Broker, "broker", "mqtt://127.0.0.1:1883", "the MQTT broker `URL` the agents publish to (mqtt:// or mqtts://)")
	cmd.Flags().StringVar(&opt.Prefix, "prefix", "coatnet", "the agents' topic `PREFIX` (mqtt.prefix)")
	cmd.Flags().StringVar(&opt.Device, "device", "", "one device `ID` (default: every device)")
	cmd.Flags().IntVar(&opt.MaxLabel, "count", 0, "exit after `N` label messages (0: until Ctrl-C)")
	cmd.Flags().StringVar(&opt.Username, "username", "", "log in as `USER` (mqtt.username)")
	cmd.Flags().StringVar(&opt.PasswordFile, "password-file", "", "a `FILE` holding the password (mqtt.password_file; never on the command line)")
	cmd.Flags().StringVar(&opt.CAFile, "ca-file", "", "the `FILE` of the CA that signed the broker's certificate (mqtt.ca_file; default: the system's)")
	cmd.Flags().StringVar(&opt.CertFile, "cert-file", "", "a client certificate `FILE` to show the broker (mqtt.cert_file)")
	cmd.Flags().StringVar(&opt.KeyFile, "key-file", "", "the client certificate's key `FILE` (mqtt.key_file)")
	cmd.Flags().StringVar(&opt.ClientID, "client-id", "", "a fixed client `ID`, unique on the broker: the broker keeps the session, and labels sent while watch is away arrive later (default: a new id, no session)")
	cmd.Flags().StringVar(&configPath, "config", "", "an agent.yaml `FILE` to take the broker, prefix and credentials from")
	return cmd
}
