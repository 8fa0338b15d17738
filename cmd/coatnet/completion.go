package main

import (
	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// modelFirst names the commands whose first argument is a model file.
var modelFirst = map[string]bool{"info": true, "classify": true, "eval": true, "quantize": true, "bench": true}

// pictureExts are what classify's arguments after the model complete to
// (with folders); preprocess.IsPicture decides what is read.
var pictureExts = []string{"png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp"}

// addCompletions makes cobra's shell completions (coatnet completion
// bash|zsh|fish) complete --arch with the architecture names, a model
// argument with *.coatnet files, a checkpoint with .safetensors and .pth,
// and configuration files by their extension.
func addCompletions(root *cobra.Command) {
	files := func(exts ...string) cobra.CompletionFunc {
		return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return exts, cobra.ShellCompDirectiveFilterFileExt
		}
	}
	for _, c := range root.Commands() {
		switch {
		case c.Name() == "convert":
			c.ValidArgsFunction = firstArg(files("safetensors", "pth", "pt"), nil)
			_ = c.RegisterFlagCompletionFunc("config", files("json"))
			_ = c.RegisterFlagCompletionFunc("labels", files("txt"))
			_ = c.RegisterFlagCompletionFunc("output", files("coatnet"))
		case c.Name() == "classify":
			c.ValidArgsFunction = firstArg(files("coatnet"), files(pictureExts...))
		case c.Name() == "eval": // several models, a folder dataset
			c.ValidArgsFunction = files("coatnet")
			_ = c.RegisterFlagCompletionFunc("dataset", dirs)
			_ = c.RegisterFlagCompletionFunc("errors", files("csv"))
		case modelFirst[c.Name()]:
			c.ValidArgsFunction = firstArg(files("coatnet"), cobra.NoFileCompletions)
			if c.Flags().Lookup("output") != nil { // quantize's int8 model
				_ = c.RegisterFlagCompletionFunc("output", files("coatnet"))
			}
			if c.Flags().Lookup("calib") != nil {
				_ = c.RegisterFlagCompletionFunc("calib", dirs)
			}
		case c.Name() == "run" || c.Name() == "watch":
			_ = c.RegisterFlagCompletionFunc("config", files("yaml", "yml"))
		}
		if c.Flags().Lookup("arch") != nil {
			_ = c.RegisterFlagCompletionFunc("arch", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return arch.ArchNames(), cobra.ShellCompDirectiveNoFileComp
			})
		}
	}
}

// dirs completes a folder (a dataset, calibration pictures).
func dirs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// firstArg completes the first argument with first and the others with
// rest (nil: no more arguments).
func firstArg(first, rest cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch {
		case len(args) == 0:
			return first(cmd, args, toComplete)
		case rest != nil:
			return rest(cmd, args, toComplete)
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}
