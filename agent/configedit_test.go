package agent

import (
	"bytes"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// placesYAML has the shape of the README's cameras: example, with comments
// above, beside and below regions and blank lines between them.
const placesYAML = `# The porch and the drive.
model: {path: /usr/share/coatnet/gate-int8.coatnet}   # the default model of every region
pipeline: {threshold: 0.6}                          # and threshold

cameras:
  # The drive camera.
  drive:
    source: rtsp://192.168.1.20/stream
    motion: {threshold: 30, min_area: 0.002}        # the defaults
    regions:
      # The gate, open or closed.
      gate:
        rect: [0.55, 0.30, 0.25, 0.40]              # x, y, width, height: fractions of the frame
        on_motion: true                             # when motion touches it
        confirm: 3
        # below gate's keys

      # The bins.
      bins:   # beside bins
        rect: [0.05, 0.5, 0.2, 0.3]
        every: 1m
      # below the bins, at their level

  porch:
    source: /dev/video0
    regions:
      step:
        # pixels, from the old camera
        rect_px: [200, 300, 240, 160]               # x, y, width, height in pixels
        model: /usr/share/coatnet/parcel-int8.coatnet
        every: 30s                                  # on a timer only
        labels: change
      mat:
        every: 10s
      floor:    # the whole frame
# the end
`

// reindent doubles the indentation of every line: placesYAML with 4 spaces.
func reindent(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		n := indentOf(l)
		lines[i] = strings.Repeat(" ", 2*n) + l[n:]
	}
	return strings.Join(lines, "")
}

// regionLines is where region's block is in src, found independently of
// the editor: its key line (with the comment lines right above at its
// indent) to the last line indented deeper.
func regionLines(t *testing.T, src, camera, region string) (start, end int) {
	t.Helper()
	lines := strings.Split(src, "\n")
	cam := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == camera+":" })
	if cam < 0 {
		t.Fatalf("no camera %s", camera)
	}
	i := cam + slices.IndexFunc(lines[cam:], func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), region+":") })
	col := indentOf(lines[i])
	start = i
	for start > 0 && indentOf(lines[start-1]) == col && strings.HasPrefix(strings.TrimSpace(lines[start-1]), "#") {
		start--
	}
	end = i + 1
	for j := end; j < len(lines); j++ {
		if strings.TrimSpace(lines[j]) == "" {
			continue
		}
		if indentOf(lines[j]) <= col {
			break
		}
		end = j + 1
	}
	return start, end
}

// changedLines is the lines of before that after does not keep around
// the change: before[p:q] became after[p:r].
func changedLines(before, after string) (p, q, r int) {
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	for p < len(b) && p < len(a) && b[p] == a[p] {
		p++
	}
	s := 0
	for s < len(b)-p && s < len(a)-p && b[len(b)-1-s] == a[len(a)-1-s] {
		s++
	}
	return p, len(b) - s, len(a) - s
}

// mustParse parses an edited file as the agent does.
func mustParse(t *testing.T, src []byte) Config {
	t.Helper()
	cfg, err := ParseConfig(src)
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return cfg
}

// editedConfig is cfg (parsed from before an edit) as the edit of region
// of camera should leave it.
func editedConfig(cfg Config, camera, region string, rect []float64, model string) Config {
	cam := cfg.Cameras[camera]
	cam.Regions = maps.Clone(cam.Regions)
	r, ok := cam.Regions[region]
	if !ok {
		r.setDefaults()
	}
	r.Rect, r.RectPx = rect, nil
	if model != "" {
		r.Model = &model
	}
	cam.Regions[region] = r
	cfg.Cameras = maps.Clone(cfg.Cameras)
	cfg.Cameras[camera] = cam
	return cfg
}

func TestSetRegion(t *testing.T) {
	cases := []struct {
		name, camera, region string
		corners              [4]float64
		model                string
		old, new             string // the lines of placesYAML that change
	}{{
		name: "rect replaced, its comment where it was", camera: "drive", region: "gate",
		corners: [4]float64{0.1, 0.2, 0.5, 0.6},
		old:     "        rect: [0.55, 0.30, 0.25, 0.40]              # x, y, width, height: fractions of the frame\n",
		new:     "        rect: [0.1, 0.2, 0.4, 0.4]                  # x, y, width, height: fractions of the frame\n",
	}, {
		name: "4 decimals, rect as x, y, width, height", camera: "drive", region: "bins",
		corners: [4]float64{1.0 / 3, 0.123456, 0.98765432, 1},
		old:     "        rect: [0.05, 0.5, 0.2, 0.3]\n",
		new:     "        rect: [0.3333, 0.1235, 0.6544, 0.8765]\n",
	}, {
		name: "model added after rect", camera: "drive", region: "gate",
		corners: [4]float64{0, 0, 1, 1}, model: "/var/lib/coatnet/models/gate 2.coatnet",
		old: "        rect: [0.55, 0.30, 0.25, 0.40]              # x, y, width, height: fractions of the frame\n",
		new: "        rect: [0, 0, 1, 1]                          # x, y, width, height: fractions of the frame\n" +
			"        model: /var/lib/coatnet/models/gate 2.coatnet\n",
	}, {
		name: "rect_px and its comments give way to rect, model kept", camera: "porch", region: "step",
		corners: [4]float64{0.25, 0.5, 0.75, 1},
		old: "        # pixels, from the old camera\n" +
			"        rect_px: [200, 300, 240, 160]               # x, y, width, height in pixels\n",
		new: "        rect: [0.25, 0.5, 0.5, 0.5]\n",
	}, {
		name: "model replaced, quoted where YAML needs it", camera: "porch", region: "step",
		corners: [4]float64{0.25, 0.5, 0.75, 1}, model: "yes",
		old: "        # pixels, from the old camera\n" +
			"        rect_px: [200, 300, 240, 160]               # x, y, width, height in pixels\n" +
			"        model: /usr/share/coatnet/parcel-int8.coatnet\n",
		new: "        rect: [0.25, 0.5, 0.5, 0.5]\n" +
			"        model: \"yes\"\n",
	}, {
		name: "rect first in a whole-frame region", camera: "porch", region: "mat",
		corners: [4]float64{0.5, 0.5, 0.6, 0.6},
		old:     "      mat:\n",
		new:     "      mat:\n        rect: [0.5, 0.5, 0.1, 0.1]\n",
	}, {
		name: "a region without keys gets them", camera: "porch", region: "floor",
		corners: [4]float64{0.5, 0.5, 0.6, 0.6}, model: "demo",
		old: "      floor:    # the whole frame\n",
		new: "      floor: # the whole frame\n        rect: [0.5, 0.5, 0.1, 0.1]\n        model: demo\n",
	}, {
		name: "new region at the end of the camera's", camera: "drive", region: "door",
		corners: [4]float64{0.1, 0.1, 0.3, 0.9}, model: "/m/door.coatnet",
		old: "      # below the bins, at their level\n",
		new: "      # below the bins, at their level\n      door:\n        rect: [0.1, 0.1, 0.2, 0.8]\n" +
			"        model: /m/door.coatnet\n",
	}, {
		name: "new region after the last", camera: "porch", region: "door",
		corners: [4]float64{0.1, 0.1, 0.3, 0.9},
		old:     "      floor:    # the whole frame\n",
		new:     "      floor:    # the whole frame\n      door:\n        rect: [0.1, 0.1, 0.2, 0.8]\n",
	}}
	for _, indent := range []int{2, 4} {
		src, fix := placesYAML, func(s string) string { return s }
		if indent == 4 {
			src, fix = reindent(placesYAML), reindent
		}
		before := mustParse(t, []byte(src))
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/indent %d", c.name, indent), func(t *testing.T) {
				if strings.Count(src, fix(c.old)) != 1 {
					t.Fatalf("the case's old lines are not once in the file: %q", fix(c.old))
				}
				out, err := SetRegion([]byte(src), c.camera, c.region, c.corners, c.model)
				if err != nil {
					t.Fatal(err)
				}
				if want := strings.Replace(src, fix(c.old), fix(c.new), 1); string(out) != want {
					t.Errorf("got\n%s\nwant\n%s", out, want)
				}
				rect, _ := rectFromCorners(c.corners)
				want := editedConfig(before, c.camera, c.region, rect[:], c.model)
				if got := mustParse(t, out); !reflect.DeepEqual(got, want) {
					t.Errorf("parsed back:\n%+v\nwant\n%+v", got.Cameras, want.Cameras)
				}
			})
		}
	}
}

func TestDeleteRegion(t *testing.T) {
	cases := []struct {
		name, camera, region string
		old, new             string // the lines of placesYAML that change
	}{{
		name: "the first, with its comments and the blank line under it", camera: "drive", region: "gate",
		old: "    regions:\n      # The gate, open or closed.\n      gate:\n" +
			"        rect: [0.55, 0.30, 0.25, 0.40]              # x, y, width, height: fractions of the frame\n" +
			"        on_motion: true                             # when motion touches it\n" +
			"        confirm: 3\n        # below gate's keys\n\n      # The bins.\n",
		new: "    regions:\n      # The bins.\n",
	}, {
		name: "the last of a camera, comments above, beside and below", camera: "drive", region: "bins",
		old: "        # below gate's keys\n\n      # The bins.\n      bins:   # beside bins\n" +
			"        rect: [0.05, 0.5, 0.2, 0.3]\n        every: 1m\n      # below the bins, at their level\n\n  porch:\n",
		new: "        # below gate's keys\n\n  porch:\n",
	}, {
		name: "one without keys", camera: "porch", region: "floor",
		old: "      floor:    # the whole frame\n",
		new: "",
	}}
	for _, indent := range []int{2, 4} {
		src, fix := placesYAML, func(s string) string { return s }
		if indent == 4 {
			src, fix = reindent(placesYAML), reindent
		}
		before := mustParse(t, []byte(src))
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/indent %d", c.name, indent), func(t *testing.T) {
				if strings.Count(src, fix(c.old)) != 1 {
					t.Fatalf("the case's old lines are not once in the file: %q", fix(c.old))
				}
				out, err := DeleteRegion([]byte(src), c.camera, c.region)
				if err != nil {
					t.Fatal(err)
				}
				if want := strings.Replace(src, fix(c.old), fix(c.new), 1); string(out) != want {
					t.Errorf("got\n%s\nwant\n%s", out, want)
				}
				want := before
				want.Cameras = maps.Clone(before.Cameras)
				cam := want.Cameras[c.camera]
				cam.Regions = maps.Clone(cam.Regions)
				delete(cam.Regions, c.region)
				want.Cameras[c.camera] = cam
				if got := mustParse(t, out); !reflect.DeepEqual(got, want) {
					t.Errorf("parsed back:\n%+v\nwant\n%+v", got.Cameras, want.Cameras)
				}
			})
		}
	}
	if _, err := DeleteRegion([]byte(placesYAML), "drive", "door"); err == nil ||
		!strings.Contains(err.Error(), "cameras.drive.regions.door: no such region") {
		t.Errorf("deleting a region the file does not have: %v", err)
	}
}

// flowYAML has cameras and regions in flow style, on lines of their own or
// not.
const flowYAML = `cameras:
  drive: {source: demo, regions: {gate: {rect: [0.1, 0.1, 0.2, 0.2], every: 1m}, bins: {rect_px: [1, 2, 3, 4]}}}  # one line
  porch:
    source: demo   # the demo scene
    regions:
      step: {rect_px: [1, 2, 3, 4], every: 30s}   # a flow region
      mat:
        every: 10s
`

func TestSetRegionFlowStyle(t *testing.T) {
	before := mustParse(t, []byte(flowYAML))
	corners := [4]float64{0.5, 0.5, 1, 1}
	rect := []float64{0.5, 0.5, 0.5, 0.5}
	for _, c := range []struct {
		camera, region, model string
		line                  string // the one line that changes
		want                  string // and what it becomes
	}{
		{"drive", "gate", "", "  drive:", "  drive: {source: demo, regions: {gate: {rect: [0.5, 0.5, 0.5, 0.5], every: 1m}, " +
			"bins: {rect_px: [1, 2, 3, 4]}}} # one line"},
		{"drive", "door", "/m/x", "  drive:", "  drive: {source: demo, regions: {gate: {rect: [0.1, 0.1, 0.2, 0.2], every: 1m}, " +
			"bins: {rect_px: [1, 2, 3, 4]}, door: {rect: [0.5, 0.5, 0.5, 0.5], model: /m/x}}} # one line"},
		{"porch", "step", "/m/x", "      step:", "      step: {rect: [0.5, 0.5, 0.5, 0.5], every: 30s, model: /m/x} # a flow region"},
	} {
		out, err := SetRegion([]byte(flowYAML), c.camera, c.region, corners, c.model)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(flowYAML, "\n")
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, c.line) })
		lines[i] = c.want
		if want := strings.Join(lines, "\n"); string(out) != want {
			t.Errorf("%s.%s: got\n%s\nwant\n%s", c.camera, c.region, out, want)
		}
		if got, want := mustParse(t, out), editedConfig(before, c.camera, c.region, rect, c.model); !reflect.DeepEqual(got, want) {
			t.Errorf("%s.%s: parsed back:\n%+v\nwant\n%+v", c.camera, c.region, got.Cameras, want.Cameras)
		}
	}
	out, err := DeleteRegion([]byte(flowYAML), "drive", "bins")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(flowYAML, ", bins: {rect_px: [1, 2, 3, 4]}}}  # one line", "}} # one line", 1)
	if string(out) != want {
		t.Errorf("deleting drive.bins: got\n%s\nwant\n%s", out, want)
	}
	// The whole file in flow style: encoded again, still the same config.
	whole := `{cameras: {drive: {source: demo, regions: {gate: {every: 1m}}}}}`
	out, err = SetRegion([]byte(whole), "drive", "gate", [4]float64{0, 0.5, 1, 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "{cameras: {drive: {source: demo, regions: {gate: {rect: [0, 0.5, 1, 0.5], every: 1m}}}}}\n"; string(out) != want {
		t.Errorf("a flow file: got\n%s\nwant\n%s", out, want)
	}
	rect = []float64{0, 0.5, 1, 0.5}
	if got, want := mustParse(t, out), editedConfig(mustParse(t, []byte(whole)), "drive", "gate", rect, ""); !reflect.DeepEqual(got, want) {
		t.Errorf("a flow file: parsed back:\n%s\n%+v\nwant\n%+v", out, got.Cameras, want.Cameras)
	}
}

// anchorsYAML shares settings through anchors and << merges, which
// configdecode.go applies.
const anchorsYAML = `cameras:
  drive: &camera
    source: demo
    regions:
      gate: &watched
        on_motion: true
        every: 5m
        rect: [0.1, 0.1, 0.2, 0.2]
      bins:
        <<: *watched
        rect: [0.5, 0.5, 0.2, 0.2]   # own rect over the merged one
      pixels:
        <<: {rect_px: [1, 2, 3, 4], every: 1m}
  porch:
    <<: *camera
    source: /dev/video0
`

func TestSetRegionAnchors(t *testing.T) {
	// Regions of their own, sharing settings through an anchor.
	own := strings.Replace(anchorsYAML, "    <<: *camera\n", "    regions: {x: {}}\n", 1)
	out, err := SetRegion([]byte(own), "drive", "bins", [4]float64{0, 0, 0.5, 0.5}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(own, "rect: [0.5, 0.5, 0.2, 0.2]   #", "rect: [0, 0, 0.5, 0.5]       #", 1)
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	got, wantCfg := mustParse(t, out), editedConfig(mustParse(t, []byte(own)), "drive", "bins", []float64{0, 0, 0.5, 0.5}, "")
	if !reflect.DeepEqual(got, wantCfg) {
		t.Errorf("parsed back:\n%+v\nwant\n%+v", got.Cameras, wantCfg.Cameras)
	}
	// What others share would change for them too.
	for _, c := range []struct{ src, camera, region, err string }{
		{anchorsYAML, "drive", "bins", "cameras.drive is anchored (&camera) and aliased elsewhere"},
		{anchorsYAML, "porch", "gate", "cameras.porch.regions comes from a << merge"},
		{anchorsYAML, "porch", "door", "cameras.porch.regions comes from a << merge"},
		{own, "drive", "gate", "cameras.drive.regions.gate is anchored (&watched) and aliased elsewhere"},
		{own, "drive", "pixels", "cameras.drive.regions.pixels: its rect_px comes from a << merge"},
	} {
		if _, err := SetRegion([]byte(c.src), c.camera, c.region, [4]float64{0, 0, 1, 1}, ""); err == nil ||
			!strings.Contains(err.Error(), c.err) {
			t.Errorf("%s.%s: got %v, want an error with %q", c.camera, c.region, err, c.err)
		}
	}
	if _, err := DeleteRegion([]byte(own), "drive", "gate"); err == nil || !strings.Contains(err.Error(), "&watched") {
		t.Errorf("deleting a region others merge: %v", err)
	}
}

func TestSetRegionRefuses(t *testing.T) {
	ok := [4]float64{0.1, 0.1, 0.2, 0.2}
	legacy, err := os.ReadFile("../systemd/agent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, src, camera, region string
		corners                   [4]float64
		model, err                string
	}{
		{"no cameras:", string(legacy), "camera", "frame", ok, "", ErrNotEditable.Error()},
		{"an empty file", "", "camera", "frame", ok, "", ErrNotEditable.Error()},
		{"unknown camera", placesYAML, "garden", "gate", ok, "", "cameras.garden: no such camera (the file has drive, porch"},
		{"x0 == x1", placesYAML, "drive", "gate", [4]float64{0.2, 0.1, 0.2, 0.3}, "", "0 <= x0 < x1 <= 1"},
		{"y0 > y1", placesYAML, "drive", "gate", [4]float64{0.1, 0.3, 0.2, 0.1}, "", "0 <= y0 < y1 <= 1"},
		{"beyond the frame", placesYAML, "drive", "gate", [4]float64{0.5, 0.5, 1.01, 1}, "", "0 <= x0 < x1 <= 1"},
		{"negative", placesYAML, "drive", "gate", [4]float64{0, -0.1, 1, 1}, "", "0 <= y0 < y1 <= 1"},
		{"NaN", placesYAML, "drive", "gate", [4]float64{0, 0, math.NaN(), 1}, "", "0 <= x0 < x1 <= 1"},
		{"thinner than 4 decimals", placesYAML, "drive", "gate", [4]float64{0.10001, 0, 0.10002, 1}, "", "narrower than 0.0001"},
		{"upper-case region", placesYAML, "drive", "Gate", ok, "", "region: region name \"Gate\" must be 1 to 32 lower-case"},
		{"reserved region", placesYAML, "drive", "state", ok, "", "region name \"state\" is taken by a topic"},
		{"bad camera name", placesYAML, "dri/ve", "gate", ok, "", "camera: camera name \"dri/ve\""},
		{"model on two lines", placesYAML, "drive", "gate", ok, "a\nb", "has control characters"},
		{"not YAML", "cameras: [", "drive", "gate", ok, "", "config: "},
		{"a region that is a list", "cameras:\n  drive:\n    regions:\n      gate: []\n", "drive", "gate", ok, "",
			"cameras.drive.regions.gate: want a mapping of keys"},
	} {
		_, err := SetRegion([]byte(c.src), c.camera, c.region, c.corners, c.model)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.err)
		}
		if (c.err == ErrNotEditable.Error()) != errors.Is(err, ErrNotEditable) {
			t.Errorf("%s: errors.Is(%v, ErrNotEditable) is %v", c.name, err, errors.Is(err, ErrNotEditable))
		}
	}
	if _, err := DeleteRegion(legacy, "camera", "frame"); !errors.Is(err, ErrNotEditable) {
		t.Errorf("DeleteRegion without cameras: %v, want ErrNotEditable", err)
	}
}

// TestConfigEditRandomRects sets random rectangles on existing and new
// regions of the commented file, at both indentations: each edit parses
// back to its rectangle, changes only lines of its region, and adding a
// region then deleting it gives the file back byte for byte.
func TestConfigEditRandomRects(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2026))
	corner := func() (float64, float64) {
		a, b := rng.Float64(), rng.Float64()
		if rng.IntN(8) == 0 {
			a = 0 // the edges too
		}
		if rng.IntN(8) == 0 {
			b = 1
		}
		return min(a, b), max(a, b)
	}
	for _, src := range []string{placesYAML, reindent(placesYAML)} {
		cfg := mustParse(t, []byte(src))
		for i := range 300 {
			x0, x1 := corner()
			y0, y1 := corner()
			corners := [4]float64{x0, y0, x1, y1}
			rect, err := rectFromCorners(corners)
			if err != nil {
				continue // thinner than 0.0001: refused, as TestSetRegionRefuses has it
			}
			camera, region := []string{"drive", "porch"}[i%2], []string{"gate", "bins", "step", "mat", "floor", "door"}[i%6]
			if _, ok := cfg.Cameras[camera].Regions[region]; !ok && region != "door" {
				camera = map[string]string{"drive": "porch", "porch": "drive"}[camera]
			}
			out, err := SetRegion([]byte(src), camera, region, corners, "")
			if err != nil {
				t.Fatalf("%s.%s %v: %v", camera, region, corners, err)
			}
			got := mustParse(t, out).Cameras[camera].Regions[region].Rect
			if !slices.Equal(got, rect[:]) {
				t.Fatalf("%s.%s %v: rect %v, want %v", camera, region, corners, got, rect)
			}
			for _, v := range got {
				if math.Round(v*1e4)/1e4 != v {
					t.Fatalf("%s.%s: %v has more than 4 decimals", camera, region, got)
				}
			}
			p, q, _ := changedLines(src, string(out))
			if region == "door" {
				if q != p {
					t.Fatalf("a new region changed lines %d to %d:\n%s", p, q, out)
				}
				back, err := DeleteRegion(out, camera, region)
				if err != nil {
					t.Fatal(err)
				}
				if string(back) != src {
					t.Fatalf("adding %s.door and deleting it: got\n%s", camera, back)
				}
				continue
			}
			if start, end := regionLines(t, src, camera, region); p < start || q > end {
				t.Fatalf("%s.%s: lines %d to %d changed, outside the region's %d to %d:\n%s", camera, region, p, q,
					start, end, out)
			}
		}
	}
}

// TestConfigEditRandomRectsFlow sets random rectangles on the regions of
// the flow-style file, which are encoded again: each parses back to its
// rectangle, with the rest of the configuration as it was.
func TestConfigEditRandomRectsFlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2027))
	before := mustParse(t, []byte(flowYAML))
	places := [][2]string{{"drive", "gate"}, {"drive", "bins"}, {"drive", "door"}, {"porch", "step"}, {"porch", "mat"}, {"porch", "door"}}
	for i := range 200 {
		x0, x1 := rng.Float64()/2, 0.5+rng.Float64()/2
		y0, y1 := rng.Float64()/2, 0.5+rng.Float64()/2
		corners := [4]float64{x0, y0, x1, y1}
		rect, err := rectFromCorners(corners)
		if err != nil {
			t.Fatal(err)
		}
		p := places[i%len(places)]
		out, err := SetRegion([]byte(flowYAML), p[0], p[1], corners, "")
		if err != nil {
			t.Fatalf("%s.%s %v: %v", p[0], p[1], corners, err)
		}
		if got, want := mustParse(t, out), editedConfig(before, p[0], p[1], rect[:], ""); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s.%s %v: parsed back:\n%s\n%+v\nwant\n%+v", p[0], p[1], corners, out, got.Cameras, want.Cameras)
		}
	}
}

// TestConfigEditSystemdFile edits the installed configuration
// (systemd/agent.yaml, comments all through it) once it has cameras:, and
// loads the written file as the agent does.
func TestConfigEditSystemdFile(t *testing.T) {
	legacy, err := os.ReadFile("../systemd/agent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.NewReplacer("\ncamera:\n", "\n#camera:\n", "\n  source: /dev/video0\n", "\n  #source: /dev/video0\n").
		Replace(string(legacy)) + `
cameras:
  # The drive.
  drive:
    source: /dev/video0
    regions:
      gate:
        rect: [0.55, 0.30, 0.25, 0.40]   # the gate
        every: 30s
`
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte(src), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err != nil {
		t.Fatal(err)
	}
	out, err := SetRegion([]byte(src), "drive", "gate", [4]float64{0.25, 0.25, 0.75, 0.75}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(src, "rect: [0.55, 0.30, 0.25, 0.40]   #", "rect: [0.25, 0.25, 0.5, 0.5]     #", 1); string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	out, err = SetRegion(out, "drive", "door", [4]float64{0, 0, 0.5, 1}, "/var/lib/coatnet/models/door.coatnet")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteConfigFile(path, out); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	regions := cfg.Cameras["drive"].Regions
	if r := regions["gate"]; !slices.Equal(r.Rect, []float64{0.25, 0.25, 0.5, 0.5}) || r.Every != 30*time.Second {
		t.Errorf("gate: %+v", r)
	}
	if r := regions["door"]; !slices.Equal(r.Rect, []float64{0, 0, 0.5, 1}) || r.Model == nil ||
		*r.Model != "/var/lib/coatnet/models/door.coatnet" {
		t.Errorf("door: %+v", r)
	}
}

// leftovers lists what is in dir besides the names given.
func leftovers(t *testing.T, dir string, names ...string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !slices.Contains(names, e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestWriteConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte("device: old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		// Root writes for the agent's user: the file stays theirs.
		uid, gid = 1234, 5678
		if err := os.Chown(path, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteConfigFile(path, []byte("device: new\n")); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "device: new\n" {
		t.Fatalf("%q, %v", got, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != 0o640 {
		t.Errorf("mode %v, want -rw-r-----", info.Mode())
	}
	if st := info.Sys().(*syscall.Stat_t); int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("owner %d:%d, want %d:%d", st.Uid, st.Gid, uid, gid)
	}
	if l := leftovers(t, dir, "agent.yaml"); l != nil {
		t.Errorf("left behind: %v", l)
	}

	for _, c := range []struct{ name, path, err string }{
		{"missing", filepath.Join(dir, "none.yaml"), "no such file"},
		{"a folder", dir, "is not a regular file"},
	} {
		if err := WriteConfigFile(c.path, []byte("x")); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.err)
		}
	}
}

// TestWriteConfigFileSymlink writes through a link, as
// /etc/coatnet/agent.yaml -> a file kept elsewhere: the file changes, the
// link stays.
func TestWriteConfigFileSymlink(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"etc", "kept"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(dir, "kept", "agent.yaml")
	link := filepath.Join(dir, "etc", "agent.yaml")
	if err := os.WriteFile(target, []byte("device: old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../kept/agent.yaml", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteConfigFile(link, []byte("device: new\n")); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link is gone: %v, %v", info, err)
	}
	if to, err := os.Readlink(link); err != nil || to != "../kept/agent.yaml" {
		t.Errorf("the link points to %q, %v", to, err)
	}
	if got, err := os.ReadFile(target); err != nil || string(got) != "device: new\n" {
		t.Errorf("the target holds %q, %v", got, err)
	}
	if info, err := os.Stat(target); err != nil || info.Mode() != 0o600 {
		t.Errorf("the target's mode: %v, %v", info, err)
	}
	if l := append(leftovers(t, filepath.Join(dir, "etc"), "agent.yaml"), leftovers(t, filepath.Join(dir, "kept"), "agent.yaml")...); l != nil {
		t.Errorf("left behind: %v", l)
	}
}

// smallDisk mounts a tmpfs of size on a new folder (root, or
// CAP_SYS_ADMIN), with a file agent.yaml holding old.
func smallDisk(t *testing.T, size string, old []byte) (dir, path string, ok bool) {
	dir, err := smallTmpfs(t, size)
	if err != nil {
		t.Logf("cannot mount a tmpfs: %v", err)
		return dir, "", false
	}
	path = filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path, true
}

// TestWriteConfigFileFailures: a folder the agent cannot write in and a
// full disk fail the write, leaving the old file as it was and no
// temporary file.
func TestWriteConfigFileFailures(t *testing.T) {
	old := []byte("device: old\n")
	t.Run("read-only folder", func(t *testing.T) {
		dir, path, ok := smallDisk(t, "1m", old)
		switch {
		case ok:
			if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				t.Fatal(err)
			}
		case os.Geteuid() != 0:
			path = filepath.Join(dir, "agent.yaml")
			if err := os.WriteFile(path, old, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700) })
		default:
			t.Skip("root without CAP_SYS_ADMIN writes in any folder, and cannot mount a read-only one")
		}
		err := WriteConfigFile(path, []byte("device: new\n"))
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("got %v, want an error naming %s", err, path)
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != string(old) {
			t.Errorf("the old file holds %q, %v", got, err)
		}
		if l := leftovers(t, dir, "agent.yaml"); l != nil {
			t.Errorf("left behind: %v", l)
		}
	})
	t.Run("full disk", func(t *testing.T) {
		dir, path, ok := smallDisk(t, "64k", old)
		if !ok {
			t.Skip("a full disk needs a small tmpfs, and mounting one root or CAP_SYS_ADMIN")
		}
		err := WriteConfigFile(path, bytes.Repeat([]byte("# a long comment\n"), 16<<10))
		if !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("got %v, want no space left", err)
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != string(old) {
			t.Errorf("the old file holds %q, %v", got, err)
		}
		if l := leftovers(t, dir, "agent.yaml"); l != nil {
			t.Errorf("left behind: %v", l)
		}
	})
}

// TestSetRegionOddShapes: Windows line endings, a file without a last line
// ending, a rect written as a block list, an empty regions: key.
func TestSetRegionOddShapes(t *testing.T) {
	corners := [4]float64{0.5, 0.5, 1, 1}
	for _, c := range []struct{ name, src, camera, region, want string }{{
		name: "CRLF, a comment pushed right", camera: "drive", region: "gate",
		src:  "cameras:\r\n  drive:\r\n    regions:\r\n      gate:\r\n        rect: [0, 0, 1, 1]  # all\r\n        every: 1m\r\n",
		want: "cameras:\r\n  drive:\r\n    regions:\r\n      gate:\r\n        rect: [0.5, 0.5, 0.5, 0.5] # all\r\n        every: 1m\r\n",
	}, {
		name: "CRLF, a new region", camera: "drive", region: "door",
		src:  "cameras:\r\n  drive:\r\n    regions:\r\n      gate:\r\n        every: 1m\r\n",
		want: "cameras:\r\n  drive:\r\n    regions:\r\n      gate:\r\n        every: 1m\r\n      door:\r\n        rect: [0.5, 0.5, 0.5, 0.5]\r\n",
	}, {
		name: "no last line ending", camera: "drive", region: "gate",
		src:  "cameras:\n  drive:\n    regions:\n      gate:\n        rect: [0, 0, 1, 1]",
		want: "cameras:\n  drive:\n    regions:\n      gate:\n        rect: [0.5, 0.5, 0.5, 0.5]",
	}, {
		name: "no last line ending, a new region", camera: "drive", region: "door",
		src:  "cameras:\n  drive:\n    regions:\n      gate:\n        rect: [0, 0, 1, 1]",
		want: "cameras:\n  drive:\n    regions:\n      gate:\n        rect: [0, 0, 1, 1]\n      door:\n        rect: [0.5, 0.5, 0.5, 0.5]\n",
	}, {
		name: "rect as a block list", camera: "drive", region: "gate",
		src:  "cameras:\n  drive:\n    regions:\n      gate:\n        rect:   # all\n          - 0\n          - 0\n          - 1\n          - 1\n        every: 1m\n",
		want: "cameras:\n  drive:\n    regions:\n      gate:\n        rect: [0.5, 0.5, 0.5, 0.5] # all\n        every: 1m\n",
	}, {
		name: "empty regions:", camera: "drive", region: "door",
		src:  "cameras:\n  drive:\n    source: demo\n    regions:   # none yet\n  porch:\n    regions: {a: {}}\n",
		want: "cameras:\n  drive:\n    source: demo\n    regions: # none yet\n      door:\n        rect: [0.5, 0.5, 0.5, 0.5]\n  porch:\n    regions: {a: {}}\n",
	}} {
		out, err := SetRegion([]byte(c.src), c.camera, c.region, corners, "")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if string(out) != c.want {
			t.Errorf("%s: got\n%q\nwant\n%q", c.name, out, c.want)
		}
	}
	noRegions := "cameras:\n  drive:\n    source: demo\n"
	if _, err := SetRegion([]byte(noRegions), "drive", "door", corners, ""); err == nil ||
		!strings.Contains(err.Error(), "cameras.drive.regions: the camera has no regions: key") {
		t.Errorf("a camera without regions: %v", err)
	}
}
