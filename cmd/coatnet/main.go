// Command coatnet converts, inspects and runs CoAtNet image classifiers.
//
// One binary with subcommands; `coatnet help <command>` explains each with an
// example.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		var quiet *exitError
		if !errors.As(err, &quiet) {
			fmt.Fprintln(os.Stderr, "coatnet:", err)
		}
		os.Exit(1)
	}
}

// exitError ends the program with status 1 after the command has already
// reported the problem itself.
type exitError struct{ msg string }

func (e *exitError) Error() string { return e.msg }

// progressOut is where a command reports its progress: stderr, or nil
// (no report) with --no-progress.
func progressOut(cmd *cobra.Command) io.Writer {
	if off, _ := cmd.Flags().GetBool("no-progress"); off {
		return nil
	}
	return cmd.ErrOrStderr()
}

// buildVersion is set by the Makefile (-ldflags -X main.buildVersion=...).
var buildVersion string

// version is the version the build was stamped with, else the module
// version or VCS revision Go recorded.
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 && (v == "" || v == "(devel)") {
			v = "dev-" + s.Value[:12]
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:   "coatnet",
		Short: "Classify camera frames with an int8 CoAtNet and publish the labels over MQTT",
		Long: `coatnet-edge classifies camera frames on small boards (Raspberry Pi, Jetson)
with an int8-quantized CoAtNet and publishes the labels over MQTT, for
Home Assistant (discovery included), Node-RED or any subscriber.

'coatnet run' is that agent; the systemd service coatnet-agent runs it with
/etc/coatnet/agent.yaml. Without a configuration it runs the demo: a built-in
Fashion-MNIST model, a demo video and an embedded broker on 127.0.0.1:1883.
The other commands make and check its models: convert a timm checkpoint,
quantize it to int8, describe it, classify pictures, evaluate, benchmark, and
watch what the agents publish.`,
		Example: `  coatnet run                                    # the demo
  coatnet run --config /etc/coatnet/agent.yaml   # what the service runs
  coatnet watch --broker mqtt://127.0.0.1:1883   # follow the labels

  # a timm checkpoint made into an int8 model for the agent
  coatnet convert nano.safetensors --arch coatnet_nano_rw_224 --labels imagenet.txt -o nano.coatnet
  coatnet quantize nano.coatnet --calib pictures/ -o nano-int8.coatnet
  coatnet classify nano-int8.coatnet cat.jpg
  coatnet bench nano-int8.coatnet`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})))
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "`LEVEL` of the messages shown: debug, info, warn or error")
	root.PersistentFlags().Bool("no-progress", false, "report no progress of eval and quantize on stderr")
	root.AddCommand(newConvertCmd(), newInfoCmd(), newClassifyCmd(), newEvalCmd(), newQuantizeCmd(), newBenchCmd(), newRunCmd(), newWatchCmd(),
		newVersionCmd())
	for _, c := range extraCommands {
		root.AddCommand(c())
	}
	addCompletions(root)
	tidyHelp(root)
	return root
}

// extraCommands are added to the root by files built only with some tags
// (docgen.go).
var extraCommands []func() *cobra.Command

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version (the Debian package's)",
		Long: `version prints the version the build was stamped with: the same string as
--version and the Debian package's version (the Makefile's VERSION).`,
		Example: `  coatnet version
  coatnet version --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !asJSON {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), version())
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(struct {
				Version string `json:"version"`
				Go      string `json:"go"`
				OS      string `json:"os"`
				Arch    string `json:"arch"`
			}{version(), runtime.Version(), runtime.GOOS, runtime.GOARCH})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the version, Go release, OS and architecture as JSON")
	return cmd
}

// note prints a plain message for the user on stderr, "warning: " before
// a warning, unless --log-level is above lvl. The CLI's messages are
// sentences; time=... level=... lines are the agent's, for its journal.
func note(cmd *cobra.Command, lvl slog.Level, format string, a ...any) {
	var min slog.Level
	if s, err := cmd.Flags().GetString("log-level"); err == nil {
		_ = min.UnmarshalText([]byte(s)) // checked before any command runs
	}
	if lvl < min {
		return
	}
	prefix := ""
	if lvl >= slog.LevelWarn {
		prefix = "warning: "
	}
	fmt.Fprintf(cmd.ErrOrStderr(), prefix+format+"\n", a...)
}
