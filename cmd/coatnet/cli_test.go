package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// commandPaths lists every command's arguments, the root's ([]) first.
func commandPaths() [][]string {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" && !sub.Hidden {
				walk(sub, append(append([]string(nil), path...), sub.Name()))
			}
		}
	}
	walk(newRootCmd(nil, nil), nil)
	return paths
}

// goTypeName is a value placeholder that is pflag's Go type name
// ("--mean float32Slice") rather than what the value is.
var goTypeName = regexp.MustCompile(`^\s+(-\w, )?--[\w-]+ (string|bool|u?int(8|16|32|64)?|float(32|64)?|duration|strings|ints|uints|bools|\w+Slice|\w+Array)\s`)

// TestHelpNamesValues renders every command's help: no flag's value is
// named by its Go type, and no flag states its default twice.
func TestHelpNamesValues(t *testing.T) {
	for _, path := range commandPaths() {
		stdout, _, err := run(t, append(path, "--help")...)
		if err != nil {
			t.Fatalf("%v --help: %v", path, err)
		}
		if !strings.Contains(stdout, "Flags:") {
			t.Errorf("coatnet %s --help lists no flags:\n%s", strings.Join(path, " "), stdout)
		}
		for _, line := range strings.Split(stdout, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "-") {
				continue
			}
			if m := goTypeName.FindStringSubmatch(line); m != nil {
				t.Errorf("coatnet %s --help names a value by its Go type %q:\n%s", strings.Join(path, " "), m[2], line)
			}
			if strings.Count(line, "(default") > 1 {
				t.Errorf("coatnet %s --help states a default twice:\n%s", strings.Join(path, " "), line)
			}
			if strings.Contains(line, "(default [])") || strings.Contains(line, "(default -1)") {
				t.Errorf("coatnet %s --help shows a sentinel as the default:\n%s", strings.Join(path, " "), line)
			}
		}
	}
}

// TestVersionOneString: `coatnet version` and `coatnet --version` print
// the one version string the build was stamped with, nothing around it.
func TestVersionOneString(t *testing.T) {
	defer func(v string) { buildVersion = v }(buildVersion)
	buildVersion = "0~git93.712b4cb"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		stdout, _, err := run(t, args...)
		if err != nil || stdout != buildVersion+"\n" {
			t.Errorf("coatnet %s: %q, %v; want %q", args[0], stdout, err, buildVersion+"\n")
		}
	}
	stdout, _, err := run(t, "version", "--json")
	var v struct{ Version, Go, OS, Arch string }
	if err != nil || json.Unmarshal([]byte(stdout), &v) != nil || v.Version != buildVersion || v.Go == "" || v.Arch == "" {
		t.Errorf("version --json: %q, %v", stdout, err)
	}
}

// TestRootHelpSaysWhatItIs: the root help names the agent and MQTT, not
// only the converter, and shows examples.
func TestRootHelpSaysWhatItIs(t *testing.T) {
	stdout, _, err := run(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MQTT", "Home Assistant", "coatnet run", "Examples:", "coatnet quantize"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("coatnet --help lacks %q:\n%s", want, stdout)
		}
	}
}

// convertedAt is the conversion time info prints.
var convertedAt = regexp.MustCompile(`converted [0-9TZ:.+-]+`)

// TestColorSpellings: --color and gray are --colour and grey.
func TestColorSpellings(t *testing.T) {
	cfg, err := arch.Arch("coatnet_nano_rw")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ImgSize, cfg.InChans, cfg.NumClasses = 32, 1, 4
	cfg.EmbedDim, cfg.Depths, cfg.StemWidth = [4]int{16, 32, 32, 64}, [4]int{1, 1, 1, 1}, [2]int{8, 16}
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "grey.safetensors")
	writeSafetensors(t, ckpt, arch.SyntheticWeights(&cfg, 4))
	var infos []string
	for i, spelling := range [][]string{{"--colour", "grey"}, {"--color", "gray"}, {"--colour", "gray"}} {
		out := filepath.Join(dir, fmt.Sprintf("m%d.coatnet", i))
		args := []string{"convert", ckpt, "-o", out, "--name", "m", "--arch", "coatnet_nano_rw", "--img-size", "32",
			"--embed-dim", "16,32,32,64", "--depths", "1,1,1,1", "--stem-width", "8,16"}
		if _, stderr, err := run(t, append(args, spelling...)...); err != nil {
			t.Fatalf("convert %v: %v\n%s", spelling, err, stderr)
		}
		info, _, err := run(t, "info", out)
		if err != nil || !strings.Contains(info, "grey") {
			t.Fatalf("info after %v: %v\n%s", spelling, err, info)
		}
		// The conversion time is the clock's, not the spelling's: the three
		// conversions may fall in different seconds (they did under qemu).
		info = convertedAt.ReplaceAllString(strings.ReplaceAll(info, out, "MODEL"), "converted TIME")
		infos = append(infos, info)
	}
	if infos[0] != infos[1] || infos[0] != infos[2] {
		t.Errorf("the spellings give different models:\n%s\n%s\n%s", infos[0], infos[1], infos[2])
	}
}

// TestCLIMessagesArePlain: what convert tells the user is a sentence, not
// a slog record (time=... level=...), and --log-level still quiets it.
func TestCLIMessagesArePlain(t *testing.T) {
	ckpt := tinyCheckpoints(t)
	out := filepath.Join(t.TempDir(), "m.coatnet")
	args := append([]string{"convert", filepath.Join(ckpt, "model.safetensors"), "-o", out}, tinyArch...)
	_, stderr, err := run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr, "level=") || strings.Contains(stderr, "time=") {
		t.Errorf("convert printed slog records:\n%s", stderr)
	}
	if !strings.Contains(stderr, "warning: no --labels given") || !strings.Contains(stderr, "reading checkpoint ") {
		t.Errorf("convert did not say what it read and that labels are numbers:\n%s", stderr)
	}
	_, stderr, err = run(t, append(args, "--log-level", "error")...)
	if err != nil || stderr != "" {
		t.Errorf("--log-level error: %v, stderr %q", err, stderr)
	}
}

// TestCompletions: the shell completions complete --arch with the
// architecture names and a model argument with *.coatnet files.
func TestCompletions(t *testing.T) {
	stdout, _, err := run(t, "__complete", "convert", "--arch", "coatnet_n")
	if err != nil || !strings.Contains(stdout, "coatnet_nano_rw_224\n") || !strings.Contains(stdout, "\n:4\n") {
		t.Errorf("--arch completion: %v\n%s", err, stdout)
	}
	for _, c := range []string{"info", "classify", "eval", "quantize", "bench"} {
		stdout, _, err := run(t, "__complete", c, "")
		if err != nil || !strings.HasSuffix(stdout, "\ncoatnet\n:8\n") && stdout != "coatnet\n:8\n" {
			t.Errorf("%s MODEL completion (want the coatnet extension, FilterFileExt): %v\n%s", c, err, stdout)
		}
	}
	if stdout, _, _ := run(t, "__complete", "quantize", "-"); strings.Contains(stdout, "`") {
		t.Errorf("flag descriptions keep the backquotes of their NAME:\n%s", stdout)
	}
	stdout, _, err = run(t, "__complete", "classify", "m.coatnet", "")
	if err != nil || !strings.Contains(stdout, "webp\n") || !strings.Contains(stdout, ":8\n") {
		t.Errorf("classify PICTURE completion: %v\n%s", err, stdout)
	}
}

// TestGlobalPool: convert --global-pool max gives a model whose head pools
// by the maximum (info says so, the config stores global_pool max),
// --global-pool avg stores no key (the file of any release before it),
// and a value that is neither avg nor max is refused by name.
func TestGlobalPool(t *testing.T) {
	cfg, err := arch.Arch("coatnet_nano_rw")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ImgSize, cfg.NumClasses = 32, 4
	cfg.EmbedDim, cfg.Depths, cfg.StemWidth = [4]int{16, 32, 32, 64}, [4]int{1, 1, 1, 1}, [2]int{8, 16}
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "m.safetensors")
	writeSafetensors(t, ckpt, arch.SyntheticWeights(&cfg, 4))
	out := filepath.Join(dir, "max.coatnet")
	args := []string{"convert", ckpt, "-o", out, "--name", "m", "--arch", "coatnet_nano_rw", "--img-size", "32",
		"--embed-dim", "16,32,32,64", "--depths", "1,1,1,1", "--stem-width", "8,16"}
	if _, stderr, err := run(t, append(args, "--global-pool", "max")...); err != nil {
		t.Fatalf("convert: %v\n%s", err, stderr)
	}
	info, _, err := run(t, "info", out)
	if err != nil || !strings.Contains(info, "norm -> max pool -> fc") {
		t.Fatalf("info: %v\n%s", err, info)
	}
	js, _, err := run(t, "info", "--json", out)
	if err != nil || !strings.Contains(js, `"global_pool": "max"`) && !strings.Contains(js, `"global_pool":"max"`) {
		t.Fatalf("info --json: %v\n%s", err, js)
	}
	avg := filepath.Join(dir, "avg.coatnet")
	if _, stderr, err := run(t, append(args, "-o", avg, "--global-pool", "avg")...); err != nil {
		t.Fatalf("convert --global-pool avg: %v\n%s", err, stderr)
	}
	if js, _, err := run(t, "info", "--json", avg); err != nil || strings.Contains(js, "global_pool") {
		t.Fatalf("--global-pool avg stores a key older releases refuse: %v\n%s", err, js)
	}
	_, stderr, err := run(t, append(args, "-o", filepath.Join(dir, "bad.coatnet"), "--global-pool", "mean")...)
	if err == nil || !strings.Contains(stderr+err.Error(), `global_pool "mean": want one of avg, max`) {
		t.Fatalf("--global-pool mean: %v\n%s", err, stderr)
	}
}
