package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/progress"
	"github.com/coatnet-edge/coatnet-edge/model"
)

// rateReport is a run at a camera's pace: latency and the board's state
// per interval, so that throttling after minutes shows.
type rateReport struct {
	Rate      float64 `json:"rate_per_s"`
	DurationS float64 `json:"duration_s"` // asked for
	ElapsedS  float64 `json:"elapsed_s"`  // run (less when interrupted)
	IntervalS float64 `json:"interval_s"`
	Frames    int     `json:"frames"`
	// Missed counts the frames a camera would have dropped: their time
	// came while an earlier inference still ran.
	Missed      int            `json:"missed"`
	Interrupted bool           `json:"interrupted"`
	Intervals   []rateInterval `json:"intervals"`
}

// rateInterval is one row of a rate run.
type rateInterval struct {
	boardState         // at the interval's end
	Frames     int     `json:"frames"`
	Missed     int     `json:"missed"`
	MedianMs   float64 `json:"median_ms"`
	P90Ms      float64 `json:"p90_ms"`
	P99Ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
}

// clock is the time a rate run keeps: the real one, or a fake in tests.
type clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done.
	Sleep(ctx context.Context, d time.Duration)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// atRate runs infer at rate per second for duration as a camera delivers
// frames: on schedule, dropping those whose time passed during a late
// inference. Every interval it closes a row with the board's state from
// state. It stops early, with what it has, when ctx is done; frame is
// called after each inference. It returns the report and every latency.
func atRate(ctx context.Context, clk clock, rate float64, duration, interval time.Duration,
	infer func(), state func(now time.Time) boardState, frame func()) (*rateReport, []time.Duration) {
	period := time.Duration(float64(time.Second) / rate)
	rep := &rateReport{Rate: rate, DurationS: duration.Seconds(), IntervalS: interval.Seconds(), Intervals: []rateInterval{}}
	start := clk.Now()
	end, next, rowEnd := start.Add(duration), start, start.Add(interval)
	var all, row []time.Duration
	missed := 0
	closeRow := func(at time.Time) {
		r := rateInterval{boardState: state(at), Frames: len(row), Missed: missed}
		if len(row) > 0 {
			s := slices.Clone(row)
			slices.Sort(s)
			r.MedianMs, r.P90Ms, r.P99Ms, r.MaxMs = percentile(s, 0.5), percentile(s, 0.9), percentile(s, 0.99), msOf(s[len(s)-1])
		}
		rep.Intervals = append(rep.Intervals, r)
		rep.Frames += len(row)
		rep.Missed += missed
		row, missed = row[:0], 0
	}
	for {
		now := clk.Now()
		for !now.Before(rowEnd) && rowEnd.Before(end) {
			closeRow(rowEnd)
			rowEnd = rowEnd.Add(interval)
		}
		if ctx.Err() != nil {
			rep.Interrupted = true
			break
		}
		if !now.Before(end) {
			break
		}
		if now.Before(next) {
			wake := next
			if end.Before(wake) {
				wake = end
			}
			clk.Sleep(ctx, wake.Sub(now))
			continue
		}
		if late := now.Sub(next); late >= period {
			k := int(late / period)
			missed += k
			next = next.Add(time.Duration(k) * period)
		}
		t := clk.Now()
		infer()
		d := clk.Now().Sub(t)
		all, row = append(all, d), append(row, d)
		next = next.Add(period)
		if frame != nil {
			frame()
		}
	}
	stop := clk.Now()
	if stop.After(end) {
		stop = end
	}
	// Frames due before the end that a last late inference overran.
	if !rep.Interrupted && next.Before(end) {
		missed += int((end.Sub(next) + period - 1) / period)
	}
	rep.ElapsedS = stop.Sub(start).Seconds()
	if len(row) > 0 || missed > 0 || len(rep.Intervals) == 0 || stop.After(rowEnd.Add(-interval)) {
		closeRow(stop)
	}
	return rep, all
}

// benchAtRate builds an engine and runs it at --rate for --duration.
func benchAtRate(ctx context.Context, m model.Any, o *benchOptions, start time.Time, progressW io.Writer) (benchRun, *rateReport, error) {
	var r benchRun
	e, err := newBenchEngine(m, o.threads, &r)
	if err != nil {
		return r, nil, err
	}
	defer e.Close()
	for range o.warmup {
		e.Run()
	}
	e.EnableTiming()
	frames := int(math.Min(o.rate*o.duration.Seconds(), math.MaxInt32))
	bar := progress.New(progressW, fmt.Sprintf("%g inferences/s for %s", o.rate, o.duration), frames)
	rr, lat := atRate(ctx, realClock{}, o.rate, o.duration, o.interval, func() { e.Run() },
		func(now time.Time) boardState { return readBoardState(start, now) }, func() { bar.Add(1) })
	bar.Finish()
	r.latencies(lat)
	if rr.ElapsedS > 0 {
		r.PerSecond = float64(len(lat)) / rr.ElapsedS
	}
	r.GMACs = float64(m.Describe().Config.TotalCost().MACs) * r.PerSecond / 1e9
	r.layers(e.LayerTimes())
	return r, rr, nil
}

// printRate prints the rate run's rows.
func printRate(w io.Writer, rr *rateReport) {
	fmt.Fprintf(w, "\nat %g inferences/s for %.0f s of %.0f s: %d inferences, %d frames missed", rr.Rate, rr.ElapsedS, rr.DurationS, rr.Frames, rr.Missed)
	if rr.Interrupted {
		fmt.Fprint(w, " (interrupted)")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "s\tframes\tmissed\tmedian ms\tp90 ms\tp99 ms\tmax ms\ttemp\tclock\tthrottling\t")
	for _, r := range rr.Intervals {
		fmt.Fprintf(tw, "%.0f\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t\n", r.Seconds, r.Frames, r.Missed,
			r.MedianMs, r.P90Ms, r.P99Ms, r.MaxMs, tempText(r.TempC), mhzText(r.CurMHz), r.Throttling)
	}
	tw.Flush()
}
