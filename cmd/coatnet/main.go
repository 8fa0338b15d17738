// Command coatnet converts, inspects and runs CoAtNet image classifiers.
//
// One binary with subcommands; `coatnet help <command>` explains each with an
// example.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
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
		Short: "Run int8 CoAtNet image classifiers on small boards",
		Long: `coatnet converts timm CoAtNet checkpoints into self-describing model files,
inspects them and classifies images with them.

Start with a timm checkpoint (.safetensors or .pth):

  coatnet convert coatnet_nano_rw_224.safetensors --arch coatnet_nano_rw_224 \
      --labels imagenet.txt -o nano.coatnet
  coatnet info nano.coatnet
  coatnet classify nano.coatnet cat.jpg`,
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
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log verbosity: debug, info, warn or error")
	root.PersistentFlags().Bool("no-progress", false, "report no progress of eval and quantize on stderr")
	root.AddCommand(newConvertCmd(), newInfoCmd(), newClassifyCmd(), newEvalCmd(), newQuantizeCmd(), newBenchCmd(), newRunCmd(), newWatchCmd())
	return root
}
