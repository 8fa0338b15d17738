package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
)

// benchCSVHead are the columns every CSV row starts with: the board and
// the model, so rows of many boards can be pasted into one sheet.
var benchCSVHead = []string{"date", "board", "cpu", "cpu_part", "cpu_revision", "governor", "max_mhz", "kernel",
	"coatnet_version", "model", "kind", "arch", "img_size", "macs", "load_ms"}

// benchCSVRun are the columns of a row per thread count.
var benchCSVRun = []string{"threads", "iterations", "init_ms", "first_inference_ms", "min_ms", "median_ms", "p90_ms",
	"p99_ms", "max_ms", "mean_ms", "inferences_per_s", "gmac_per_s", "speedup", "temp_before_c", "temp_after_c",
	"throttling_after", "top1_accuracy", "top5_accuracy"}

// benchCSVRate are the columns of a row per --rate interval.
var benchCSVRate = []string{"threads", "rate_per_s", "seconds", "frames", "missed", "median_ms", "p90_ms", "p99_ms",
	"max_ms", "temp_c", "cur_mhz", "throttling"}

// writeCSV writes the report as CSV with a header: a row per thread
// count, or with --rate a row per interval. Unknown values are empty.
func writeCSV(w io.Writer, rep *benchReport) error {
	mc := &rep.Machine
	head := []string{mc.Date, mc.Board, mc.CPU, mc.CPUPart, mc.CPURevision, mc.Governor, intOrEmpty(mc.MaxMHz),
		mc.Kernel, mc.Version, rep.Model, rep.Kind, rep.Arch, strconv.Itoa(rep.ImgSize),
		strconv.FormatInt(rep.MACs, 10), num(rep.LoadMs)}
	cw := csv.NewWriter(w)
	if rep.Rate != nil {
		cw.Write(append(rowCopy(benchCSVHead), benchCSVRate...))
		threads := ""
		if len(rep.Runs) > 0 {
			threads = strconv.Itoa(rep.Runs[0].Threads)
		}
		for _, r := range rep.Rate.Intervals {
			cw.Write(append(rowCopy(head), threads, num(rep.Rate.Rate), num(r.Seconds), strconv.Itoa(r.Frames),
				strconv.Itoa(r.Missed), num(r.MedianMs), num(r.P90Ms), num(r.P99Ms), num(r.MaxMs),
				floatOrEmpty(r.TempC), intOrEmpty(r.CurMHz), r.Throttling))
		}
	} else {
		cw.Write(append(rowCopy(benchCSVHead), benchCSVRun...))
		top1, top5 := "", ""
		if a := rep.Accuracy; a != nil {
			top1, top5 = num(a.Top1Acc), num(a.Top5Acc)
		}
		for i, r := range rep.Runs {
			speedup := ""
			if i < len(rep.Sweep) && rep.Sweep[i].Speedup > 0 {
				speedup = num(rep.Sweep[i].Speedup)
			}
			cw.Write(append(rowCopy(head), strconv.Itoa(r.Threads), strconv.Itoa(r.Iterations), num(r.InitMs),
				num(r.FirstMs), num(r.MinMs), num(r.MedianMs), num(r.P90Ms), num(r.P99Ms), num(r.MaxMs), num(r.MeanMs),
				num(r.PerSecond), num(r.GMACs), speedup, floatOrEmpty(rep.Before.TempC), floatOrEmpty(rep.After.TempC),
				rep.After.Throttling, top1, top5))
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeCSVFile writes the CSV to path.
func writeCSVFile(path string, rep *benchReport) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeCSV(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// rowCopy copies a row so appending to it leaves the original alone.
func rowCopy(s []string) []string { return append([]string(nil), s...) }

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func floatOrEmpty(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}

func intOrEmpty(v *int) string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(*v)
}
