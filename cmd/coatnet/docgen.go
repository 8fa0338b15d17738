//go:build docgen

package main

import (
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

// The docgen tag adds the hidden command that `make docs` runs on the
// build machine: cobra's own generators write the man pages and shell
// completions from the commands themselves, so they cannot drift from
// --help. It is left out of the installed binary, which then carries no
// markdown-to-roff code.
func init() { extraCommands = append(extraCommands, newGenDocsCmd) }

func newGenDocsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gendocs DIR",
		Short:  "Write the man pages (DIR/man, gzipped) and the bash, zsh and fish completions (DIR/completions)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			man, comp := filepath.Join(args[0], "man"), filepath.Join(args[0], "completions")
			for _, d := range []string{man, comp} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			manFlags(root)
			// The date comes from SOURCE_DATE_EPOCH (cobra reads it), so
			// the pages are reproducible.
			header := &doc.GenManHeader{Section: "1", Source: "coatnet-edge " + version(), Manual: "coatnet-edge manual"}
			if err := doc.GenManTree(root, header, man); err != nil {
				return err
			}
			if err := gzipAll(man); err != nil {
				return err
			}
			for name, gen := range map[string]func(*os.File) error{
				"coatnet":      func(f *os.File) error { return root.GenBashCompletionV2(f, true) },
				"_coatnet":     func(f *os.File) error { return root.GenZshCompletion(f) },
				"coatnet.fish": func(f *os.File) error { return root.GenFishCompletion(f, true) },
			} {
				f, err := os.Create(filepath.Join(comp, name))
				if err != nil {
					return err
				}
				err = gen(f)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			return nil
		},
	}
}

// manFlags makes the flags read in a man page as they do in --help: cobra's
// generator prints --name=DEFAULT, so the default becomes what --help shows
// (the value's NAME where it shows none).
func manFlags(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalNonPersistentFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				name := placeholder(f)
				if name == "" { // a switch keeps =false
					return
				}
				if d, ok := shownDefault(f); ok {
					name = strings.Trim(d, `"`)
				}
				f.DefValue = name
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// gzipAll replaces every file of dir by its gzip -9n (no name, no time),
// as Debian policy wants man pages.
func gzipAll(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".gz") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := os.Create(p + ".gz")
		if err != nil {
			return err
		}
		zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
		_, err = zw.Write(data)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Remove(p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
