package agent

import (
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/coatnet-edge/coatnet-edge/camera"
)

// Resolve is the region in pixels of a width x height frame: the whole
// frame without a rectangle; fractions (rect) rounded to the nearest
// pixel edge; pixels (rect_px) as they are. The error names the region's
// key: a rect_px beyond this frame, a rect under a pixel wide, an empty
// frame. A camera's frame size can change when it is reopened, so the
// pipeline resolves again on every new size.
func (r *RegionPlan) Resolve(width, height int) (image.Rectangle, error) {
	if width <= 0 || height <= 0 {
		return image.Rectangle{}, fmt.Errorf("%s: the frame is %dx%d", r.Key, width, height)
	}
	frame := image.Rect(0, 0, width, height)
	switch {
	case len(r.Rect) == 4:
		f := r.Rect
		edge := func(v float64, side int) int { return min(side, max(0, int(math.Round(v*float64(side))))) }
		rect := image.Rect(edge(f[0], width), edge(f[1], height), edge(f[0]+f[2], width), edge(f[1]+f[3], height))
		if rect.Empty() {
			return image.Rectangle{}, fmt.Errorf("%s.rect: %v is under a pixel of the %dx%d frame", r.Key, f, width, height)
		}
		return rect, nil
	case len(r.RectPx) == 4:
		p := r.RectPx
		rect := image.Rect(p[0], p[1], p[0]+p[2], p[1]+p[3])
		if p[2] < 1 || p[3] < 1 || !rect.In(frame) {
			return image.Rectangle{}, fmt.Errorf("%s.rect_px: %v (x, y, width, height) is not inside the %dx%d frame",
				r.Key, p, width, height)
		}
		return rect, nil
	case r.Rect == nil && r.RectPx == nil:
		return frame, nil
	}
	return image.Rectangle{}, fmt.Errorf("%s: not a valid rectangle (Validate first)", r.Key)
}

// Resolve is every region of the camera in pixels of a width x height
// frame, in the order of Regions; the error lists every region that does
// not fit.
func (c *CameraPlan) Resolve(width, height int) ([]image.Rectangle, error) {
	rects := make([]image.Rectangle, len(c.Regions))
	var errs []error
	for i := range c.Regions {
		r, err := c.Regions[i].Resolve(width, height)
		rects[i] = r
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return rects, nil
}

// FrameSize is the size of f in pixels, which the regions resolve against:
// a picture's bounds, or a BGR frame's width and height.
func FrameSize(f camera.Frame) (width, height int) {
	if f.Image != nil {
		b := f.Image.Bounds()
		return b.Dx(), b.Dy()
	}
	return f.Width, f.Height
}

// errCrop is a rectangle outside the frame, or a frame without pixels.
var errCrop = errors.New("region outside the frame")

// CropFrame is the part r of f, sharing f's pixels: for a BGR frame a
// sub-slice of f.BGR with f's stride, which the classifier's LogitsBGR
// takes as it is, without a copy or an allocation; for a picture (a folder
// source) its SubImage. The crop keeps f's time, index and loop but not
// its release: it is valid until f is released, and only f is.
func CropFrame(f camera.Frame, r image.Rectangle) (camera.Frame, error) {
	if f.Image != nil {
		b := f.Image.Bounds()
		// Region rectangles count from the frame's corner; a picture's
		// bounds need not start at 0, 0.
		r = r.Add(b.Min)
		sub, ok := f.Image.(interface {
			SubImage(image.Rectangle) image.Image
		})
		if r.Empty() || !r.In(b) || !ok {
			return camera.Frame{}, fmt.Errorf("agent: crop %v of a %v picture: %w", r, b, errCrop)
		}
		return camera.Frame{Image: sub.SubImage(r), Width: r.Dx(), Height: r.Dy(), Time: f.Time, Index: f.Index,
			Loop: f.Loop}, nil
	}
	if r.Empty() || !r.In(image.Rect(0, 0, f.Width, f.Height)) || f.Stride < 3*f.Width ||
		len(f.BGR) < (f.Height-1)*f.Stride+3*f.Width {
		return camera.Frame{}, fmt.Errorf("agent: crop %v of a %dx%d frame (stride %d, %d bytes): %w", r, f.Width,
			f.Height, f.Stride, len(f.BGR), errCrop)
	}
	start := r.Min.Y*f.Stride + 3*r.Min.X
	end := start + (r.Dy()-1)*f.Stride + 3*r.Dx()
	return camera.Frame{BGR: f.BGR[start:end:end], Width: r.Dx(), Height: r.Dy(), Stride: f.Stride, Time: f.Time,
		Index: f.Index, Loop: f.Loop}, nil
}
