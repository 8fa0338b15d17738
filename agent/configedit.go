package agent

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Editing the regions of cameras: in the configuration file, for the web
// page. The file is the user's: an edit changes the lines of the region it
// is about and no other, so comments, blank lines, key order and spacing
// elsewhere come out byte for byte. yaml.v3's node tree says where things
// are (lines, columns, comments); text is only re-encoded where a flow
// style ({...}) leaves no lines to edit.

// ErrNotEditable is the error of a file without cameras:: its one camera
// is camera:, classified whole, and has no regions to edit.
var ErrNotEditable = errors.New("config: the file has no cameras: (its one camera is camera:, classified whole), so " +
	"it has no regions to edit")

// SetRegion returns src with region of camera set to the rectangle whose
// corners are corners (x0, y0, x1, y1 as fractions of the frame), written
// as rect: [x, y, width, height] with at most 4 decimals. An existing
// region keeps its other keys; its rect_px goes (one rectangle per
// region), and model changes only when model is not "". A new region is
// appended to the camera's regions with rect and model (when given). The
// camera must exist: the editor does not make cameras.
func SetRegion(src []byte, camera, region string, corners [4]float64, model string) ([]byte, error) {
	rect, err := rectFromCorners(corners)
	if err != nil {
		return nil, err
	}
	if strings.ContainsFunc(model, unicode.IsControl) {
		return nil, fmt.Errorf("config: model %s has control characters", clipQuote(model))
	}
	e, err := openRegions(src, camera, region)
	if err != nil {
		return nil, err
	}
	if err := e.set(rect, model); err != nil {
		return nil, err
	}
	out, err := e.output()
	if err != nil {
		return nil, err
	}
	// The edit is checked as the agent reads it: a splice that broke the
	// file, or did not say what was asked, must never be written.
	cfg, _, perr := parseConfig(out)
	if perr != nil {
		return nil, fmt.Errorf("config: editing %s broke the file (%v); edit it by hand", e.key, perr)
	}
	got := cfg.Cameras[camera].Regions[region]
	if !slices.Equal(got.Rect, rect[:]) || got.RectPx != nil || (model != "" && (got.Model == nil || *got.Model != model)) {
		return nil, fmt.Errorf("config: %s reads back as rect %v, model %v after the edit; edit it by hand", e.key,
			got.Rect, got.Model)
	}
	return out, nil
}

// DeleteRegion returns src without region of camera, its comments
// included. Deleting a camera's last region leaves "regions:" empty, which
// the configuration's validation refuses (a camera needs a region).
func DeleteRegion(src []byte, camera, region string) ([]byte, error) {
	e, err := openRegions(src, camera, region)
	if err != nil {
		return nil, err
	}
	if e.regionKey < 0 {
		return nil, fmt.Errorf("config: %s: no such region", e.key)
	}
	if err := e.ownNode(e.regions.Content[e.regionKey+1], region); err != nil {
		return nil, err
	}
	e.delete()
	out, err := e.output()
	if err != nil {
		return nil, err
	}
	cfg, _, perr := parseConfig(out)
	if perr != nil {
		return nil, fmt.Errorf("config: deleting %s broke the file (%v); edit it by hand", e.key, perr)
	}
	if _, ok := cfg.Cameras[camera].Regions[region]; ok {
		return nil, fmt.Errorf("config: %s is still there after the edit; edit it by hand", e.key)
	}
	return out, nil
}

// rectFromCorners checks corners and turns them into the file's
// [x, y, width, height], rounded to 4 decimals (a tenth of a pixel of a
// 1000-pixel frame).
func rectFromCorners(c [4]float64) ([4]float64, error) {
	x0, y0, x1, y1 := c[0], c[1], c[2], c[3]
	if !(0 <= x0 && x0 < x1 && x1 <= 1 && 0 <= y0 && y0 < y1 && y1 <= 1) {
		return [4]float64{}, fmt.Errorf("config: corners %v: want x0, y0, x1, y1 with 0 <= x0 < x1 <= 1 and "+
			"0 <= y0 < y1 <= 1 (fractions of the frame)", c)
	}
	r4 := func(v float64) float64 { return math.Round(v*1e4) / 1e4 }
	x0, y0, x1, y1 = r4(x0), r4(y0), r4(x1), r4(y1)
	rect := [4]float64{x0, y0, r4(x1 - x0), r4(y1 - y0)}
	if rect[2] <= 0 || rect[3] <= 0 {
		return [4]float64{}, fmt.Errorf("config: corners %v: narrower than 0.0001 of the frame", c)
	}
	if err := checkFractions(rect[:]); err != nil {
		return [4]float64{}, fmt.Errorf("config: corners %v: %v", c, err)
	}
	return rect, nil
}

// regionEdit is one edit of cameras.<camera>.regions.<region>: the file
// as lines, the node tree, and the line changes made so far.
type regionEdit struct {
	lines []string // src split after each "\n"
	nl    string   // the file's line ending, for new lines
	doc   *yaml.Node
	key   string // cameras.<camera>.regions.<region>, for messages
	name  string // the region's name
	// path is the chain of mappings from the top down to the camera's,
	// each with the index of its key leading down (cameras, the camera,
	// regions).
	path    []step
	regions *yaml.Node
	// regionKey is the index of the region's key in regions.Content; -1
	// for a new region.
	regionKey int
	aliased   map[*yaml.Node]bool // nodes an alias (*name) refers to
	changes   []lineChange
	// redo is the entry to encode again from the edited tree where flow
	// style leaves no lines to change; whole: the document (a flow top).
	redo  *step
	whole bool
}

type step struct {
	mapping *yaml.Node
	key     int // index in mapping.Content of the key of the next step
}

// lineChange replaces lines[start:end] with text.
type lineChange struct {
	start, end int
	text       []string
}

// openRegions finds cameras.<camera>.regions in src, and region in it, as
// the file itself has them (not through an alias or a << merge, which
// other cameras or regions share).
func openRegions(src []byte, camera, region string) (*regionEdit, error) {
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	}
	checkPlaceName("camera", "camera", camera, bad)
	checkPlaceName("region", "region", region, bad)
	if len(problems) > 0 {
		return nil, fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	cfg, _, err := parseConfig(src)
	if err != nil {
		return nil, err
	}
	if len(cfg.Cameras) == 0 {
		return nil, ErrNotEditable
	}
	if _, ok := cfg.Cameras[camera]; !ok {
		return nil, fmt.Errorf("config: cameras.%s: no such camera (the file has %s; the editor does not add cameras)",
			camera, strings.Join(sortedKeys(cfg.Cameras), ", "))
	}
	e := &regionEdit{key: "cameras." + camera + ".regions." + region, name: region, nl: "\n", doc: &yaml.Node{},
		aliased: map[*yaml.Node]bool{}}
	if err := yaml.Unmarshal(src, e.doc); err != nil {
		return nil, fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if strings.Contains(string(src), "\r\n") {
		e.nl = "\r\n"
	}
	e.lines = strings.SplitAfter(string(src), "\n")
	if e.lines[len(e.lines)-1] == "" {
		e.lines = e.lines[:len(e.lines)-1]
	}
	e.markAliased(e.doc)
	m := e.doc.Content[0]
	for _, k := range []string{"cameras", camera, "regions"} {
		i := ownKey(m, k)
		if i < 0 && mergedKey(m, k, 0) {
			return nil, fmt.Errorf("config: %s comes from a << merge, shared with others; edit it in the file", e.pathKey(k))
		}
		if i < 0 { // only regions: the file names the camera and cameras
			return nil, fmt.Errorf("config: %s: the camera has no regions: key; add it in the file", e.pathKey(k))
		}
		v := m.Content[i+1]
		if err := e.ownNode(v, k); err != nil {
			return nil, err
		}
		e.path = append(e.path, step{m, i})
		if k == "regions" && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
			// "regions:" with nothing: a mapping for the new region.
			v.Kind, v.Tag, v.Value, v.Style = yaml.MappingNode, "!!map", "", 0
		}
		if v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("config: %s: want a mapping of keys", e.pathKey(k))
		}
		m = v
	}
	e.regions, e.regionKey = m, ownKey(m, region)
	if e.regionKey < 0 {
		if _, ok := cfg.Cameras[camera].Regions[region]; ok {
			return nil, fmt.Errorf("config: %s comes from a << merge, shared with others; edit it in the file", e.key)
		}
	}
	return e, nil
}

// pathKey is the dotted key of k, the next step of e.path.
func (e *regionEdit) pathKey(k string) string {
	parts := []string{}
	for _, s := range e.path {
		parts = append(parts, s.mapping.Content[s.key].Value)
	}
	return strings.Join(append(parts, k), ".")
}

// ownNode fails for a node the edit would change for others too: an alias,
// or an anchored node that an alias refers to.
func (e *regionEdit) ownNode(v *yaml.Node, key string) error {
	switch {
	case v.Kind == yaml.AliasNode:
		return fmt.Errorf("config: %s is an alias (*%s), shared with others; edit it in the file", e.pathKey(key), v.Value)
	case e.aliased[v]:
		return fmt.Errorf("config: %s is anchored (&%s) and aliased elsewhere, so an edit would change those too; "+
			"edit it in the file", e.pathKey(key), v.Anchor)
	}
	return nil
}

func (e *regionEdit) markAliased(n *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		e.aliased[n.Alias] = true
		return
	}
	for _, c := range n.Content {
		e.markAliased(c)
	}
}

// ownKey is the index in m.Content of key name, not counting merged keys;
// -1 without it.
func ownKey(m *yaml.Node, name string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" && k.Value == name {
			return i
		}
	}
	return -1
}

// mergedKey reports whether one of m's << merges supplies key name.
func mergedKey(m *yaml.Node, name string, depth int) bool {
	if depth > 16 {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind != yaml.ScalarNode || k.ShortTag() != "!!merge" {
			continue
		}
		v := m.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		maps := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			maps = v.Content
		}
		for _, mm := range maps {
			if mm.Kind == yaml.AliasNode {
				mm = mm.Alias
			}
			if mm.Kind == yaml.MappingNode && (ownKey(mm, name) >= 0 || mergedKey(mm, name, depth+1)) {
				return true
			}
		}
	}
	return false
}

// blockEntries reports whether the entries of m are lines of their own
// (block style), which an edit can change line by line.
func blockEntries(m *yaml.Node) bool {
	return m.Kind == yaml.MappingNode && m.Style&yaml.FlowStyle == 0
}

// set makes the region's rect rect and, when model is not "", its model.
func (e *regionEdit) set(rect [4]float64, model string) error {
	rectNode := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, v := range rect {
		text, tag := strconv.FormatFloat(v, 'f', -1, 64), "!!float"
		if !strings.Contains(text, ".") {
			tag = "!!int" // 0 and 1, which a !!float tag would have written as "!!float 0"
		}
		rectNode.Content = append(rectNode.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: text})
	}
	var modelNode *yaml.Node
	if model != "" {
		modelNode = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: model}
	}
	if e.regionKey < 0 {
		k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.name}
		v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		setKey(v, "rect", rectNode, -1)
		if modelNode != nil {
			setKey(v, "model", modelNode, -1)
		}
		if blockEntries(e.regions) && len(e.regions.Content) > 0 {
			last := e.regions.Content[len(e.regions.Content)-2]
			_, end := e.extent(last)
			text, err := e.encodeEntry(k, v, last.Column-1)
			if err != nil {
				return err
			}
			e.change(end, end, text)
		} else {
			e.reencode()
		}
		e.regions.Content = append(e.regions.Content, k, v)
		return nil
	}
	if err := e.ownNode(e.regions.Content[e.regionKey+1], e.name); err != nil {
		return err
	}
	k, v := e.regions.Content[e.regionKey], e.regions.Content[e.regionKey+1]
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		// "name:" alone: the whole frame, now a rectangle.
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", LineComment: v.LineComment}
		setKey(m, "rect", rectNode, -1)
		if modelNode != nil {
			setKey(m, "model", modelNode, -1)
		}
		e.regions.Content[e.regionKey+1] = m
		e.reencode()
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return fmt.Errorf("config: %s: want a mapping of keys", e.key)
	}
	if mergedKey(v, "rect_px", 0) {
		return fmt.Errorf("config: %s: its rect_px comes from a << merge, which the editor cannot take away; edit it "+
			"in the file", e.key)
	}
	for _, name := range []string{"rect", "rect_px", "model"} {
		if i := ownKey(v, name); i >= 0 {
			if err := e.ownNode(v.Content[i+1], name); err != nil {
				return err
			}
		}
	}
	if !blockEntries(v) || !blockEntries(e.regions) {
		setKey(v, "rect", rectNode, max(0, ownKey(v, "rect_px"))) // where rect_px was, else first
		if i := ownKey(v, "rect_px"); i >= 0 {
			v.Content = slices.Delete(v.Content, i, i+2)
		}
		if modelNode != nil {
			setKey(v, "model", modelNode, -1)
		}
		e.reencode()
		return nil
	}
	// Line by line: rect in place of rect (or of rect_px, or first), rect_px
	// gone, model in place or after rect.
	indent := v.Content[0].Column - 1
	rectAt, px := ownKey(v, "rect"), ownKey(v, "rect_px")
	var rectLines []string
	var at, end int
	switch {
	case rectAt >= 0:
		at, end = e.span(v.Content[rectAt])
		rectLines = []string{e.entryLine(v.Content[rectAt], v.Content[rectAt+1], indent, flowText(rectNode))}
		if px >= 0 {
			s, t := e.extent(v.Content[px])
			e.change(s, t, nil)
		}
	case px >= 0:
		at, end = e.extent(v.Content[px])
		rectLines = []string{strings.Repeat(" ", indent) + "rect: " + flowText(rectNode) + e.nl}
	default:
		at, end = k.Line, k.Line // after the region's own line
		rectLines = []string{strings.Repeat(" ", indent) + "rect: " + flowText(rectNode) + e.nl}
	}
	if modelNode != nil {
		text, err := scalarText(model)
		if err != nil {
			return err
		}
		if i := ownKey(v, "model"); i >= 0 {
			s, t := e.span(v.Content[i])
			e.change(s, t, []string{e.entryLine(v.Content[i], v.Content[i+1], indent, text)})
		} else {
			rectLines = append(rectLines, strings.Repeat(" ", indent)+"model: "+text+e.nl)
		}
	}
	e.change(at, end, rectLines)
	return nil
}

// setKey sets key name of mapping m to v, keeping the old value's
// comments; a new key goes where index at is (-1: at the end).
func setKey(m *yaml.Node, name string, v *yaml.Node, at int) {
	if i := ownKey(m, name); i >= 0 {
		old := m.Content[i+1]
		v.HeadComment, v.LineComment, v.FootComment = old.HeadComment, old.LineComment, old.FootComment
		m.Content[i+1] = v
		return
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}
	if at < 0 {
		m.Content = append(m.Content, k, v)
		return
	}
	m.Content = slices.Insert(m.Content, at, k, v)
}

// delete takes the region away with its comments.
func (e *regionEdit) delete() {
	k := e.regions.Content[e.regionKey]
	if blockEntries(e.regions) {
		start, end := e.extent(k)
		// The blank lines that set the region apart go with it: one stays
		// between its neighbours, none under the regions: line.
		for start > 0 && end < len(e.lines) && blank(e.lines[end]) &&
			(blank(e.lines[start-1]) || indentOf(e.lines[start-1]) < k.Column-1) {
			end++
		}
		e.change(start, end, nil)
	} else {
		e.reencode()
	}
	e.regions.Content = slices.Delete(e.regions.Content, e.regionKey, e.regionKey+2)
}

// reencode marks the deepest entry of the path in a block mapping for
// encoding again once the tree has the edit.
func (e *regionEdit) reencode() {
	if e.regionKey >= 0 && blockEntries(e.regions) {
		e.redo = &step{e.regions, e.regionKey}
		return
	}
	for i := len(e.path) - 1; i >= 0; i-- {
		if blockEntries(e.path[i].mapping) {
			e.redo = &e.path[i]
			return
		}
	}
	e.whole = true
}

// output is the edited file.
func (e *regionEdit) output() ([]byte, error) {
	if e.whole {
		text, err := e.encode(e.doc.Content[0], 0)
		return []byte(strings.Join(text, "")), err
	}
	if e.redo != nil {
		k := e.redo.mapping.Content[e.redo.key]
		start, end := e.span(k)
		text, err := e.encodeEntry(k, e.redo.mapping.Content[e.redo.key+1], k.Column-1)
		if err != nil {
			return nil, err
		}
		e.change(start, end, text)
	}
	slices.SortStableFunc(e.changes, func(a, b lineChange) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return a.end - b.end
	})
	lines := slices.Clone(e.lines)
	for _, c := range slices.Backward(e.changes) {
		lines = slices.Replace(lines, c.start, c.end, c.text...)
	}
	return []byte(strings.Join(lines, "")), nil
}

func (e *regionEdit) change(start, end int, text []string) {
	if end > start && end == len(e.lines) && len(text) > 0 && !strings.HasSuffix(e.lines[end-1], "\n") {
		// The file's last line had no line ending: neither has the new one.
		text[len(text)-1] = strings.TrimRight(text[len(text)-1], "\r\n")
	}
	if start == len(e.lines) && start > 0 && !strings.HasSuffix(e.lines[start-1], "\n") {
		e.lines[start-1] += e.nl
	}
	e.changes = append(e.changes, lineChange{start, end, text})
}

// span is the lines of the entry of key k: its own line to the last one
// indented deeper than it (0-based, end exclusive), without its head
// comment above nor trailing blank lines.
func (e *regionEdit) span(k *yaml.Node) (start, end int) {
	start, col := k.Line-1, k.Column-1
	end = start + 1
	for i := end; i < len(e.lines); i++ {
		if blank(e.lines[i]) {
			continue
		}
		if indentOf(e.lines[i]) <= col {
			break
		}
		end = i + 1
	}
	return start, end
}

// extent is span with the comments yaml.v3 gives the key: the head
// comment above it and the foot comment below, where the lines say the
// same.
func (e *regionEdit) extent(k *yaml.Node) (start, end int) {
	start, end = e.span(k)
	if c := commentLines(k.HeadComment); len(c) > 0 {
		i := start
		for j := len(c) - 1; j >= 0 && i > 0; i-- {
			if blank(e.lines[i-1]) {
				continue
			}
			if strings.TrimSpace(e.lines[i-1]) != c[j] {
				break
			}
			if j--; j < 0 {
				start = i - 1
			}
		}
	}
	if c := commentLines(k.FootComment); len(c) > 0 {
		j := 0
		for i := end; i < len(e.lines) && j < len(c); i++ {
			if blank(e.lines[i]) {
				continue
			}
			if strings.TrimSpace(e.lines[i]) != c[j] {
				break
			}
			if j++; j == len(c) {
				end = i + 1
			}
		}
	}
	return start, end
}

func commentLines(c string) []string {
	var out []string
	for l := range strings.SplitSeq(c, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func blank(line string) bool { return strings.TrimSpace(line) == "" }

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

// entryLine is the line "key: text" at indent, with the old entry's line
// comment where it was.
func (e *regionEdit) entryLine(k, v *yaml.Node, indent int, text string) string {
	line := strings.Repeat(" ", indent) + k.Value + ": " + text
	if c := cmp.Or(v.LineComment, k.LineComment); c != "" {
		old := strings.TrimRight(e.lines[k.Line-1], " \t\r\n")
		col := len(old) - len(c)
		if !strings.HasSuffix(old, c) || col <= len(line) {
			col = len(line) + 1
		}
		line += strings.Repeat(" ", col-len(line)) + c
	}
	return line + e.nl
}

// encodeEntry is the entry of key k and value v as lines at column col;
// the comments above and below k stay where they are in the file.
func (e *regionEdit) encodeEntry(k, v *yaml.Node, col int) ([]string, error) {
	kc := *k
	kc.HeadComment, kc.FootComment = "", ""
	return e.encode(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{&kc, v}}, col)
}

// encode is n as YAML lines at column col, indented as the file is.
func (e *regionEdit) encode(n *yaml.Node, col int) ([]string, error) {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(e.indentStep())
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("config: %s: %v", e.key, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: %s: %v", e.key, err)
	}
	var out []string
	for l := range strings.SplitSeq(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if l != "" {
			l = strings.Repeat(" ", col) + l
		}
		out = append(out, l+e.nl)
	}
	return out, nil
}

// indentStep is how far the file indents a mapping in a mapping: that of
// the regions where they have one, else the first nesting found, else 2.
func (e *regionEdit) indentStep() int {
	if n := len(e.regions.Content); n > 0 && blockEntries(e.regions) {
		if k, v := e.regions.Content[n-2], e.regions.Content[n-1]; blockEntries(v) && len(v.Content) > 0 && v.Content[0].Line > k.Line {
			if d := v.Content[0].Column - k.Column; d > 0 {
				return d
			}
		}
	}
	var find func(m *yaml.Node) int
	find = func(m *yaml.Node) int {
		if !blockEntries(m) {
			return 0
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if blockEntries(v) && len(v.Content) > 0 && v.Content[0].Line > k.Line {
				if d := v.Content[0].Column - k.Column; d > 0 {
					return d
				}
			}
			if d := find(v); d > 0 {
				return d
			}
		}
		return 0
	}
	if d := find(e.doc.Content[0]); d > 0 {
		return d
	}
	return 2
}

// flowText is a sequence of numbers as [a, b, c, d].
func flowText(seq *yaml.Node) string {
	vals := make([]string, len(seq.Content))
	for i, c := range seq.Content {
		vals[i] = c.Value
	}
	return "[" + strings.Join(vals, ", ") + "]"
}

// scalarText is s as a YAML scalar on one line, quoted where YAML needs
// it ("yes", "a #b").
func scalarText(s string) (string, error) {
	b, err := yaml.Marshal(s)
	text := strings.TrimSuffix(string(b), "\n")
	if err != nil || strings.Contains(text, "\n") {
		return "", fmt.Errorf("config: model %s does not fit on one line of YAML", clipQuote(s))
	}
	return text, nil
}

// WriteConfigFile replaces the file at path (or, for a symbolic link, the
// file it points to) with data atomically: a reader, or a crash, sees the
// old file or the new one, never a part. The new file keeps the old one's
// mode, and its owner when running as root (where the agent's user cannot
// chown). On a failure before the rename the old file is untouched and no
// temporary file is left; after it (syncing the folder) the new file is in
// place and the error says so.
func WriteConfigFile(path string, data []byte) error {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	info, err := os.Stat(target)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("config: %s is not a regular file", target)
	}
	dir, name := filepath.Split(target)
	dirErr, err := replaceFile(filepath.Join(dir, "."+name+".tmp"), target, data, func(f *os.File) error {
		if st, ok := info.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			f.Chown(int(st.Uid), int(st.Gid)) // best effort: a file system without owners keeps root's
		}
		return f.Chmod(info.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky))
	})
	if err != nil {
		return fmt.Errorf("config: writing %s: %w", target, err)
	}
	if dirErr != nil {
		return fmt.Errorf("config: %s is written, but syncing its folder failed (a crash may bring the old one back): %w",
			target, dirErr)
	}
	return nil
}
