package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// tidyHelp makes every command's help read as a user's manual: values
// named by what they are (--top N, not --top int), one default per flag,
// and the American spellings accepted (--color beside --colour).
func tidyHelp(root *cobra.Command) {
	root.SetGlobalNormalizationFunc(spellings)
	takePlaceholders(root)
	cobra.AddTemplateFunc("flagUsages", flagUsages)
	t := root.UsageTemplate()
	for _, set := range []string{"LocalFlags", "InheritedFlags"} {
		t = strings.ReplaceAll(t, "."+set+".FlagUsages", "flagUsages ."+set)
	}
	root.SetUsageTemplate(t)
}

// placeholderKey annotates a flag with the NAME of its value, taken out
// of its usage, where completions and man pages would show the backquotes.
const placeholderKey = "coatnet_placeholder"

// takePlaceholders moves the backquoted NAME of every flag's usage
// ("timm model `NAME`") into its annotation, leaving the usage plain.
func takePlaceholders(c *cobra.Command) {
	for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
		fs.VisitAll(func(f *pflag.Flag) {
			if !strings.Contains(f.Usage, "`") {
				return
			}
			name, usage := pflag.UnquoteUsage(f)
			f.Usage = usage
			if f.Annotations == nil {
				f.Annotations = map[string][]string{}
			}
			f.Annotations[placeholderKey] = []string{name}
		})
	}
	for _, sub := range c.Commands() {
		takePlaceholders(sub)
	}
}

// spellings maps the flag names users may spell the other way to the
// names the commands define.
func spellings(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	if name == "color" {
		name = "colour"
	}
	return pflag.NormalizedName(name)
}

// flagUsages lists fs's flags as pflag's FlagUsages does, except that a
// value is named by the NAME its usage gave (takePlaceholders) or by its
// kind (N, LIST, DURATION), not by its Go type, and the default is not
// repeated where the usage states its own ("(default: the arch's)").
func flagUsages(fs *pflag.FlagSet) string {
	type row struct{ left, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		left := "      --" + f.Name
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		name, usage := placeholder(f), f.Usage
		if name != "" {
			if f.NoOptDefVal != "" {
				left += "[=" + name + "]"
			} else {
				left += " " + name
			}
		}
		if d, ok := shownDefault(f); ok {
			usage += " (default " + d + ")"
		}
		if f.Deprecated != "" {
			usage += " (DEPRECATED: " + f.Deprecated + ")"
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s   %s\n", width, r.left, strings.ReplaceAll(r.usage, "\n", "\n"+strings.Repeat(" ", width+3)))
	}
	return b.String()
}

// placeholder names a flag's value: its NAME, else its kind; "" for a
// switch.
func placeholder(f *pflag.Flag) string {
	if n := f.Annotations[placeholderKey]; len(n) == 1 {
		return n[0]
	}
	switch t := f.Value.Type(); t {
	case "bool":
		return ""
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "count":
		return "N"
	case "float32", "float64":
		return "X"
	case "duration":
		return "DURATION"
	case "string":
		return "TEXT"
	default:
		if strings.HasSuffix(t, "Slice") || strings.HasSuffix(t, "Array") {
			return "LIST"
		}
		return "VALUE"
	}
}

// shownDefault is the default to print after a flag's usage: none where
// it is the zero value or the usage explains it.
func shownDefault(f *pflag.Flag) (string, bool) {
	if strings.Contains(f.Usage, "(default") {
		return "", false
	}
	switch f.DefValue {
	case "", "0", "0s", "false", "[]", "<nil>":
		return "", false
	}
	if f.Value.Type() == "string" {
		return fmt.Sprintf("%q", f.DefValue), true
	}
	return f.DefValue, true
}
