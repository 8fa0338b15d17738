package agent

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Bounds on what a flood of commands or Home Assistant "online" messages
// can cost. A person at a dashboard sends a few commands a second, and
// each is logged and echoed; beyond the bursts, echoes and discovery
// messages are coalesced (the last one always goes out) and log lines
// are left out, counted on the next line logged.
const (
	commandQueueLen = 256                    // commands waiting to be applied
	stateEchoBurst  = 10                     // state echoes at once,
	stateEchoEvery  = 100 * time.Millisecond // then one per this
	commandLogBurst = 10                     // command log lines at once,
	commandLogEvery = 5 * time.Second        // then one per this
	discoveryBurst  = 1                      // discovery re-sends at once,
	discoveryEvery  = 5 * time.Second        // then one per this
)

// bucket allows burst events at once and then one per every: a token
// bucket, for one goroutine.
type bucket struct {
	burst  int
	every  time.Duration
	tokens float64
	last   time.Time
}

// take spends a token if there is one; otherwise it says how long until
// the next.
func (b *bucket) take(now time.Time) (ok bool, wait time.Duration) {
	if b.last.IsZero() {
		b.tokens = float64(b.burst)
	} else {
		b.tokens = min(float64(b.burst), b.tokens+float64(now.Sub(b.last))/float64(b.every))
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, max(time.Millisecond, time.Duration((1-b.tokens)*float64(b.every)))
}

// logLimiter logs at most a bucket's worth of lines, saying on each how
// many it left out before it.
type logLimiter struct {
	mu      sync.Mutex
	b       bucket
	skipped int
	// what names the lines left out ("" for commands).
	what string
}

func (l *logLimiter) log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok, _ := l.b.take(time.Now()); !ok {
		l.skipped++
		return
	}
	if l.skipped > 0 {
		what := l.what
		if what == "" {
			what = "command"
		}
		args = append(args, what+"_lines_not_logged", l.skipped)
		l.skipped = 0
	}
	log.Log(context.Background(), level, msg, args...)
}

// coalescer runs an action (an echo, a re-send) when asked, within a
// bucket: asked too often, it runs once more when the bucket allows,
// however often it was asked meanwhile, so the last request is served.
type coalescer struct {
	b     bucket
	timer *time.Timer // running while a run is owed
	due   <-chan time.Time
}

// ask runs f now, or arranges for due to fire when it may run.
func (c *coalescer) ask(f func()) {
	if c.due != nil {
		return // owed already
	}
	ok, wait := c.b.take(time.Now())
	if ok {
		f()
		return
	}
	c.timer = time.NewTimer(wait)
	c.due = c.timer.C
}

// fired runs f for the owed request when due has fired.
func (c *coalescer) fired(f func()) {
	c.due, c.timer = nil, nil
	c.b.take(time.Now())
	f()
}

func (c *coalescer) stop() {
	if c.timer != nil {
		c.timer.Stop()
	}
}

// command is one message of a command or Home Assistant status topic,
// parsed by route: edit applies it, or err says why it does not.
type command struct {
	topic     string
	payload   string // clipped, for the log
	edit      func(*Settings)
	model     *ModelRequest // set/model: handed to the agent
	err       error
	discovery bool // Home Assistant came online
}

func (p *Publisher) initCommands() {
	p.cmds = make(chan command, commandQueueLen)
	p.models = make(chan ModelRequest, 1)
	p.cmdLog = &logLimiter{b: bucket{burst: commandLogBurst, every: commandLogEvery}}
}

// route takes the messages of the subscribed topics on paho's goroutine,
// in arrival order (SetOrderMatters(true)): it parses and queues them and
// never blocks, since paho stops reading while it runs. A full queue
// drops the command, counted as rejected.
func (p *Publisher) route(_ mqtt.Client, msg mqtt.Message) {
	topic := msg.Topic()
	var c command
	switch {
	case topic == p.haStatusTopic():
		if string(msg.Payload()) != "online" {
			return
		}
		c = command{topic: topic, discovery: true}
	case topic == p.topics.Set || strings.HasPrefix(topic, p.topics.Set+"/"):
		sub := strings.TrimPrefix(strings.TrimPrefix(topic, p.topics.Set), "/")
		c = command{topic: topic, payload: clip(msg.Payload(), 64)}
		if sub == "model" {
			var req ModelRequest
			if req, c.err = ParseModelCommand(msg.Payload()); c.err == nil {
				c.model = &req
			}
		} else {
			c.edit, c.err = ParseCommand(sub, msg.Payload())
		}
	default:
		return
	}
	select {
	case p.cmds <- c:
	default:
		if c.edit != nil || c.model != nil || c.err != nil {
			p.rejected.Add(1)
		}
		p.cmdLog.log(p.log, slog.LevelWarn, "command queue full; command dropped", "topic", topic,
			"queue", commandQueueLen)
	}
}

// applyCommands applies the queued commands one at a time in arrival
// order until Close, logging each and echoing the state in force after
// it (both within their limits), and answers Home Assistant's "online"
// with the discovery message.
func (p *Publisher) applyCommands() {
	echo := coalescer{b: bucket{burst: stateEchoBurst, every: stateEchoEvery}}
	resend := coalescer{b: bucket{burst: discoveryBurst, every: discoveryEvery}}
	defer echo.stop()
	defer resend.stop()
	for {
		select {
		case <-p.closing:
			return
		case <-echo.due:
			echo.fired(p.PublishState)
		case <-resend.due:
			resend.fired(p.publishDiscovery)
		case c := <-p.cmds:
			if c.discovery {
				resend.ask(p.publishDiscovery)
				continue
			}
			if c.err == nil && c.model != nil {
				select {
				case p.models <- *c.model:
					// The agent loads it and publishes the outcome.
					p.cmdLog.log(p.log, slog.LevelInfo, "model command queued", "path", c.model.Path)
					continue
				default:
					c.err = errors.New("a model is being loaded already; send it again after it is done")
				}
			}
			if c.err != nil {
				p.rejected.Add(1)
				p.cmdLog.log(p.log, slog.LevelWarn, "command ignored", "topic", c.topic, "payload", c.payload, "err", c.err)
			} else {
				s := p.control.Update(c.edit)
				p.cmdLog.log(p.log, slog.LevelInfo, "command applied", "topic", c.topic, "paused", s.Paused,
					"threshold", s.Threshold, "max_rate", s.MaxRate)
			}
			// Either way the state topic shows what is in force.
			echo.ask(p.PublishState)
		}
	}
}
