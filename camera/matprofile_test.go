//go:build !nogocv && matprofile

package camera

import (
	"context"
	"math"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// TestCaptureClosesEveryMat (built with -tags matprofile, as make test
// does): reading a looping video through Latest, dropping and releasing
// frames and closing it leaves no Mat open.
func TestCaptureClosesEveryMat(t *testing.T) {
	before := gocv.MatProfile.Count()
	path, frames := writeVideo(t)
	for _, m := range frames {
		m.Close()
	}
	c, err := OpenCapture(path, math.Inf(1), true)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLatest(context.Background(), c)
	for range 50 {
		f, err := l.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f.Release()
	}
	// A frame still held when the capture closes frees its Mats on release.
	held, err := l.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	held.Release()
	if after := gocv.MatProfile.Count(); after != before {
		var b strings.Builder
		gocv.MatProfile.WriteTo(&b, 1)
		t.Fatalf("%d Mats open before, %d after:\n%s", before, after, b.String())
	}
}
