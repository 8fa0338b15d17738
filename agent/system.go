package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/affinity"
	"github.com/coatnet-edge/coatnet-edge/internal/thermal"
)

// statusInterval: how often the supervisor's STATUS= line is refreshed.
const statusInterval = 5 * time.Second

// pinCPUs applies cpu_affinity to every thread of the process. It runs
// before the engine starts its workers, whose threads inherit the mask.
func pinCPUs(list string) error {
	if list == "" {
		return nil
	}
	cpus, err := affinity.Parse(list)
	if err == nil {
		err = affinity.Set(cpus)
	}
	if err != nil {
		return fmt.Errorf("cpu_affinity: %w", err)
	}
	return nil
}

// supervise keeps the supervisor informed until ctx ends: WATCHDOG=1 every
// quarter of the watchdog interval but only while frames flow (a frame read
// in the last half interval), so systemd restarts an agent whose camera
// stopped for good; and a STATUS= line with rates and latency.
//
// A camera that has given no frame since the start (not plugged in, a
// stream that is down) is different: a fresh process would wait for it
// just the same, so a restart only loops. The pings then go on while the
// agent is merely waiting for it, and stop if an open hangs (half an
// interval in one Open). A camera that worked and stopped gets one restart
// from the watchdog; the new process then waits for it quietly.
func (a *agent) supervise(ctx context.Context) {
	wd := a.opts.WatchdogInterval
	period := statusInterval
	if wd > 0 {
		period = min(period, wd/4)
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	lastReads, lastFrame := a.counters().FramesRead, time.Now()
	prev := a.snapshot(time.Now())
	var lastStatus time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if reads := a.counters().FramesRead; reads != lastReads {
				lastReads, lastFrame = reads, now
			}
			if wd > 0 && (now.Sub(lastFrame) < wd/2 || lastReads == 0 && a.cameraAwaited(wd/2)) {
				if err := a.notify.Watchdog(); err != nil {
					a.log.Warn("watchdog ping failed", "err", err)
				}
			}
			if now.Sub(lastStatus) >= statusInterval {
				s := a.snapshot(now)
				a.notify.Status(statusLine(prev, s))
				prev, lastStatus = s, now
			}
		}
	}
}

// cameraAwaited is true while no camera source is open and no Open has
// been running for limit or more: the agent waits out its back-off.
func (a *agent) cameraAwaited(limit time.Duration) bool {
	if a.places != nil {
		return a.places.awaited(limit)
	}
	a.mu.Lock()
	src := a.cam.src
	a.mu.Unlock()
	return !src.Available() && src.OpenElapsed() < limit
}

// statusLine is what `systemctl status` shows: the rates since prev.
func statusLine(prev, s AgentStats) string {
	fps, classified := rates(prev, s)
	line := fmt.Sprintf("camera %.1f fps, classifying %.1f/s, inference p50 %.1f ms, %d published",
		fps, classified, s.InferenceP50Ms, s.Published)
	switch {
	case !s.CameraAvailable:
		line += "; camera unavailable, retrying"
	case s.CameraStalled:
		line += "; camera stalled, reopening"
	case s.Paused:
		line += "; paused"
	}
	if s.Thermal != nil && s.Thermal.Limited {
		line += fmt.Sprintf("; CPU at %.0f °C, rate limited", s.Thermal.TempC)
	}
	return line
}

// rates are the frames read and classified per second from prev to s.
func rates(prev, s AgentStats) (frames, classified float64) {
	dt := s.Time.Sub(prev.Time).Seconds()
	if dt <= 0 {
		return 0, 0
	}
	return float64(s.FramesRead-prev.FramesRead) / dt, float64(s.Classified-prev.Classified) / dt
}

// ThermalStats is the board's temperature and throttling state in stats,
// where /sys exposes them.
type ThermalStats struct {
	TempC float64 `json:"cpu_temp_c,omitempty"`
	// The Raspberry Pi firmware's flags (get_throttled), now.
	UnderVoltage  *bool  `json:"under_voltage,omitempty"`
	Throttled     *bool  `json:"throttled,omitempty"`
	FreqCapped    *bool  `json:"freq_capped,omitempty"`
	SoftTempLimit *bool  `json:"soft_temp_limit,omitempty"`
	ThrottleWord  string `json:"get_throttled,omitempty"` // as vcgencmd prints it
	// Limited: the agent lowered its rate (thermal.limit_above).
	Limited bool `json:"rate_limited"`
}

// watchTemperature reads the sensors every thermal.interval for stats, and
// caps the rate from thermal.limit_above until thermal.resume_below.
func (a *agent) watchTemperature(ctx context.Context, r *thermal.Reader) {
	a.mu.Lock()
	interval := a.cfg.Thermal.Interval
	a.mu.Unlock()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var lastErr string
	for {
		st, err := r.Read()
		msg := ""
		if err != nil {
			if msg = err.Error(); msg != lastErr {
				a.log.Warn("reading the CPU temperature", "err", err)
			}
		}
		lastErr = msg
		a.applyTemperature(st)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// applyTemperature records st and limits or frees the rate.
func (a *agent) applyTemperature(st thermal.Status) {
	a.mu.Lock()
	cfg := a.cfg.Thermal
	ts := &ThermalStats{TempC: st.TempC}
	if !st.HasTemp {
		ts.TempC = 0
	}
	if st.HasThrottle {
		ts.Throttled, ts.FreqCapped, ts.SoftTempLimit = &st.Throttled, &st.FreqCapped, &st.SoftTempLimit
		ts.ThrottleWord = fmt.Sprintf("0x%x", st.Throttle)
	}
	if st.HasUnderVoltage {
		ts.UnderVoltage = &st.UnderVoltage
	}
	a.thermal = ts
	a.mu.Unlock()

	settings, _ := a.control.Get()
	limited := settings.ThermalLimit > 0
	switch {
	case !limited && cfg.LimitAbove > 0 && st.HasTemp && st.TempC >= cfg.LimitAbove:
		a.control.Update(func(s *Settings) { s.ThermalLimit = cfg.LimitedRate })
		a.log.Warn("CPU hot: limiting the classification rate", "cpu_temp_c", st.TempC,
			"limit_above", cfg.LimitAbove, "rate", cfg.LimitedRate)
		a.pub.PublishState()
	case limited && (cfg.LimitAbove == 0 || !st.HasTemp || st.TempC < cfg.ResumeBelow):
		a.control.Update(func(s *Settings) { s.ThermalLimit = 0 })
		a.log.Info("CPU cooled down: full rate again", "cpu_temp_c", st.TempC, "resume_below", cfg.ResumeBelow)
		a.pub.PublishState()
	}
	settings, _ = a.control.Get()
	a.mu.Lock()
	a.thermal.Limited = settings.ThermalLimit > 0
	a.mu.Unlock()
}
