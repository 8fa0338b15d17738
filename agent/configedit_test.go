package agent

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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

var _ = []any{errors.Is, math.NaN, rand.N[int], os.Stat, filepath.Join, runtime.GOOS, unix.Mount}
