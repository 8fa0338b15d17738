package main

import (
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/agent"
)

func newRunCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "run --config FILE",
		Short: "Run the agent: camera frames to the model to MQTT labels",
		Long: `run is the long-running agent. It reads the YAML configuration FILE (every
key is optional; unknown keys and bad values are errors, all listed at once),
loads the model, opens the camera and the MQTT broker, and publishes one JSON
message per classified frame to <prefix>/<device>/labels, with a retained
online/offline on <prefix>/<device>/status. SIGINT or SIGTERM stop it cleanly
(offline is published, exit status 0).

A minimal configuration:

  device: porch-cam
  model: {path: /usr/share/coatnet/fmnist-pre-int8.coatnet}
  camera: {source: /dev/video0}
  mqtt: {broker: mqtt://192.168.1.10:1883}

Watch it with: mosquitto_sub -h 192.168.1.10 -t 'coatnet/#' -v`,
		Example: `  coatnet run --config /etc/coatnet/agent.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := agent.LoadConfig(configPath)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return agent.Run(ctx, cfg, slog.Default())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "the agent's YAML configuration file (required)")
	cmd.MarkFlagRequired("config")
	return cmd
}
