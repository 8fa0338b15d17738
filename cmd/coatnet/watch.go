package main

import (
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/agent"
)

func newWatchCmd() *cobra.Command {
	var opt agent.WatchOptions
	cmd := &cobra.Command{
		Use:   "watch [--broker URL] [--device ID]",
		Short: "Show the labels, status and stats of coatnet agents live",
		Long: `watch subscribes to the topics of one agent (--device) or of all of them and
prints each label message, status change and statistics report as a line,
for checking a device from a laptop. It says when label sequence numbers
skip (messages lost on the way) and when an agent restarted. Ctrl-C stops.`,
		Example: `  coatnet watch --broker mqtt://192.168.1.10:1883
  coatnet watch --broker mqtt://broker.lan:1883 --device porch-cam --count 10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return agent.Watch(ctx, opt, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&opt.Broker, "broker", "mqtt://127.0.0.1:1883", "the MQTT broker the agents publish to")
	cmd.Flags().StringVar(&opt.Prefix, "prefix", "coatnet", "the agents' topic prefix (mqtt.prefix)")
	cmd.Flags().StringVar(&opt.Device, "device", "", "one device id (default: every device)")
	cmd.Flags().IntVar(&opt.MaxLabel, "count", 0, "exit after this many label messages (0: until Ctrl-C)")
	return cmd
}
