package main

import (
	"encoding/csv"
	"encoding/json"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// fashionFolder writes a folder dataset of the Fashion-MNIST items of
// testdata/fashion: a subfolder per class named as the file names have it
// ("ankle-boot", in varied case), coats as JPEG, the bags left out (an
// empty "BAG" folder), a picture that does not decode and a folder that
// names no class. It returns the dataset and each picture's class.
func fashionFolder(t *testing.T) (string, map[string]int) {
	t.Helper()
	dir := t.TempDir()
	src, err := filepath.Glob("../../testdata/fashion/*.png")
	if err != nil || len(src) < 20 {
		t.Fatalf("testdata/fashion: %v %d", err, len(src))
	}
	pics := map[string]int{}
	for i, p := range src {
		name := strings.TrimSuffix(filepath.Base(p), ".png")[len("00000-"):]
		class := slices.IndexFunc(dataset.FashionMNISTLabels, func(l string) bool { return dataset.ClassKey(l) == dataset.ClassKey(name) })
		if class < 0 {
			t.Fatalf("%s: no class", p)
		}
		if name == "bag" {
			continue
		}
		if i%2 == 1 {
			name = strings.ToUpper(name)
		}
		img, err := preprocess.LoadImage(p)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, name), 0o755)
		out := filepath.Join(dir, name, filepath.Base(p))
		b, _ := os.ReadFile(p)
		if name == "coat" || name == "COAT" {
			out = strings.TrimSuffix(out, ".png") + ".jpg"
			f, _ := os.Create(out)
			if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 95}); err != nil {
				t.Fatal(err)
			}
			f.Close()
		} else if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
		pics[out] = class
	}
	os.MkdirAll(filepath.Join(dir, "BAG"), 0o755)
	os.MkdirAll(filepath.Join(dir, "unicorns"), 0o755)
	writePNG(t, filepath.Join(dir, "unicorns", "u.png"), 28, 28, 1)
	os.MkdirAll(filepath.Join(dir, "dress"), 0o755)
	os.WriteFile(filepath.Join(dir, "dress", "broken.png"), []byte("\x89PNG but not really"), 0o644)
	return dir, pics
}

// direct is what a model says of each picture, through model.Classifier.
type direct struct {
	top1, top5 int
	perClass   map[int][2]int // class: pictures, top-1
	confusion  map[[2]int]int // (true, predicted): pictures
	misses     map[string][]dataset.Scored
}

func classifyDirect(t *testing.T, path string, pics map[string]int) direct {
	t.Helper()
	m, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	labels := m.Describe().Labels
	c, err := model.NewClassifier(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := direct{perClass: map[int][2]int{}, confusion: map[[2]int]int{}, misses: map[string][]dataset.Scored{}}
	for p, class := range pics {
		img, err := preprocess.LoadImage(p)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := c.Logits(img)
		if err != nil {
			t.Fatal(err)
		}
		idx := make([]int, len(logits))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			return -cmpFloat(logits[a], logits[b])
		})
		rank := slices.Index(idx, class)
		pc := d.perClass[class]
		pc[0]++
		if rank == 0 {
			d.top1++
			pc[1]++
		} else {
			var sum float64
			for _, v := range logits {
				sum += math.Exp(float64(v - logits[idx[0]]))
			}
			var top []dataset.Scored
			for _, j := range idx[:5] {
				top = append(top, dataset.Scored{Class: j, Label: labels[j], Score: math.Exp(float64(logits[j]-logits[idx[0]])) / sum})
			}
			d.misses[p] = top
		}
		if rank < 5 {
			d.top5++
		}
		d.perClass[class] = pc
		d.confusion[[2]int{class, idx[0]}]++
	}
	return d
}

func cmpFloat(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestEvalFolderTwoModels scores the shipped int8 and float models on a
// folder dataset in one run and checks every figure against the models'
// own classifiers picture by picture, the --errors file, the text table
// and that progress is plain lines off a terminal.
func TestEvalFolderTwoModels(t *testing.T) {
	dir, pics := fashionFolder(t)
	errsFile := filepath.Join(t.TempDir(), "wrong.csv")
	models := []string{shippedInt8, shippedFloat}
	stdout, stderr, err := run(t, "eval", models[0], models[1], "--dataset", dir, "--json", "--threads", "2", "--errors", errsFile)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep folderEvalReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(rep.Models) != 2 || rep.Dataset != dir {
		t.Fatalf("report %+v", rep)
	}
	wantMisses := map[string]map[string][]dataset.Scored{}
	for i, m := range rep.Models {
		d := classifyDirect(t, models[i], pics)
		wantMisses[models[i]] = d.misses
		r := m.Report
		if m.Model != models[i] || r.Images != len(pics) || r.Skipped != 1 || r.Top1 != d.top1 || r.Top5 != d.top5 ||
			len(r.Bad) != 1 || !strings.Contains(r.Bad[0], "broken.png") || !reflect.DeepEqual(r.Unknown, []string{"unicorns"}) ||
			!reflect.DeepEqual(r.Missing, []string{"Bag"}) || math.Abs(r.Top1Acc-float64(d.top1)/float64(len(pics))) > 1e-12 {
			t.Errorf("%s: %+v, want top-1 %d top-5 %d of %d", models[i], r, d.top1, d.top5, len(pics))
		}
		if len(r.PerClass) != 9 {
			t.Errorf("%s: %d classes scored, want 9: %+v", models[i], len(r.PerClass), r.PerClass)
		}
		for _, pc := range r.PerClass {
			class := slices.Index(dataset.FashionMNISTLabels, pc.Label)
			if want := d.perClass[class]; pc.Images != want[0] || pc.Top1 != want[1] {
				t.Errorf("%s: class %s %+v, want %d pictures %d right", models[i], pc.Label, pc, want[0], want[1])
			}
		}
		got := map[[2]int]int{}
		total := 0
		for a, row := range r.Confusion.Counts {
			for b, n := range row {
				if n > 0 {
					got[[2]int{r.Confusion.Classes[a], r.Confusion.Classes[b]}] = n
					total += n
				}
			}
		}
		if !reflect.DeepEqual(got, d.confusion) || total != len(pics) {
			t.Errorf("%s: confusion %v, want %v", models[i], got, d.confusion)
		}
	}
	// The --errors file: a header, then one row per misclassified
	// picture and model, with the model's five best labels and scores.
	f, err := os.Open(errsFile)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], errorsHeader) {
		t.Fatalf("errors file header %q", rows)
	}
	n := 0
	for _, m := range wantMisses {
		n += len(m)
	}
	if len(rows)-1 != n || n == 0 {
		t.Errorf("errors file: %d rows, want %d misclassified", len(rows)-1, n)
	}
	for _, row := range rows[1:] {
		want, ok := wantMisses[row[0]][row[1]]
		if !ok || len(row) != 13 || row[2] != dataset.FashionMNISTLabels[pics[row[1]]] {
			t.Errorf("errors row %q: not a miss of that model, or wrong true label", row)
			continue
		}
		for k, s := range want {
			score, _ := strconv.ParseFloat(row[4+2*k], 64)
			if row[3+2*k] != s.Label || math.Abs(score-s.Score) > 5e-5 {
				t.Errorf("errors row %q: rank %d want %s %.4f", row, k+1, s.Label, s.Score)
			}
		}
	}
	// Off a terminal, progress is a few plain lines.
	if strings.Contains(stderr, "\r") || !strings.Contains(stderr, "eval fmnist-pre-int8.coatnet: ") || !strings.Contains(stderr, "eval fmnist-pre.coatnet: ") {
		t.Errorf("progress off a terminal:\n%q", stderr)
	}

	stdout, _, err = run(t, "eval", models[0], models[1], "--dataset", dir, "--no-progress")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fmnist-pre-int8.coatnet  ", "fmnist-pre.coatnet", "top-5", "top-1 by class", "Ankle boot",
		"broken.png", `"unicorns"`, `classes without pictures: "Bag"`, "confusion matrix of " + models[1] + " (rows: true class", "true \\ predicted"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, stdout)
		}
	}
	if lines := strings.Split(stdout, "\n"); !strings.Contains(lines[2], "fmnist-pre-int8.coatnet") || !strings.Contains(lines[2], "fmnist-pre.coatnet") {
		t.Errorf("the models are not side by side:\n%s", stdout)
	}
}

// TestEvalFolderDifferentLabels: each model is matched to the folders by
// its own labels; one that shares none stops the run with a message that
// names it, its labels and the folders.
func TestEvalFolderDifferentLabels(t *testing.T) {
	dir, pics := fashionFolder(t)
	m, err := model.Load(shippedFloat)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	keep := slices.Clone(m.Labels)
	// Half the classes renamed: only the pictures of the other half count.
	for i := range 5 {
		m.Labels[i] = "gate" + strconv.Itoa(i)
	}
	half := filepath.Join(t.TempDir(), "half.coatnet")
	if err := m.Save(half); err != nil {
		t.Fatal(err)
	}
	for i := range m.Labels {
		m.Labels[i] = "gate" + strconv.Itoa(i)
	}
	none := filepath.Join(t.TempDir(), "none.coatnet")
	if err := m.Save(none); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := run(t, "eval", shippedInt8, half, "--dataset", dir, "--json", "--no-progress")
	if err != nil {
		t.Fatal(err)
	}
	var rep folderEvalReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	wantHalf := 0
	for _, class := range pics {
		if class >= 5 {
			wantHalf++
		}
	}
	r := rep.Models[1].Report
	if rep.Models[0].Report.Images != len(pics) || r.Images != wantHalf || len(r.PerClass) != 4 || r.PerClass[0].Label != keep[5] ||
		!slices.Contains(r.Unknown, "unicorns") || !slices.Contains(r.Unknown, "dress") || !slices.Contains(r.Missing, "gate0") {
		t.Errorf("half the labels: %d pictures (want %d), %+v", r.Images, wantHalf, r)
	}
	_, _, err = run(t, "eval", shippedInt8, none, "--dataset", dir, "--no-progress")
	if err == nil || !strings.Contains(err.Error(), none+" shares no class with "+dir) || !strings.Contains(err.Error(), `"gate0"`) ||
		!strings.Contains(err.Error(), `"ANKLE-BOOT"`) {
		t.Errorf("a model with no label of the folders: %v", err)
	}
	for _, bad := range [][]string{
		{"eval", shippedInt8, "--dataset", dir, "--limit", "3"},
		{"eval", shippedInt8, "--dataset", dir, "--split", "train"},
		{"eval", shippedInt8, "--dataset", "fashion-mnist:" + dir, "--errors", filepath.Join(dir, "x.csv")},
	} {
		if _, _, err := run(t, bad...); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestEvalCompletions: eval completes every argument with model files,
// --dataset and quantize's --calib with folders.
func TestEvalCompletions(t *testing.T) {
	for _, args := range [][]string{{"eval", "a.coatnet", ""}, {"eval", "a.coatnet", "b.coatnet", ""}} {
		stdout, _, err := run(t, append([]string{"__complete"}, args...)...)
		if err != nil || !strings.HasSuffix(stdout, "coatnet\n:8\n") {
			t.Errorf("%q: %v\n%s", args, err, stdout)
		}
	}
	for _, args := range [][]string{{"eval", "a.coatnet", "--dataset", ""}, {"quantize", "a.coatnet", "--calib", ""}} {
		stdout, _, err := run(t, append([]string{"__complete"}, args...)...)
		if err != nil || !strings.HasSuffix(stdout, ":16\n") {
			t.Errorf("%q (want FilterDirs): %v\n%s", args, err, stdout)
		}
	}
}
