package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// WatchOptions choose what Watch follows.
type WatchOptions struct {
	Broker   string // mqtt://host:port or mqtts://host:port
	Prefix   string // topic prefix of the agents (default coatnet)
	Device   string // one device, or "" for all
	MaxLabel int    // stop after this many label messages; 0: until ctx ends
}

// Watch subscribes to the labels, status and stats of one or every agent
// and prints them as lines to out until ctx ends or MaxLabel messages
// arrived. It says when a device's label sequence numbers skip (messages
// lost) or restart (the agent restarted).
func Watch(ctx context.Context, opt WatchOptions, out io.Writer) error {
	if opt.Prefix == "" {
		opt.Prefix = "coatnet"
	}
	device := opt.Device
	if device == "" {
		device = "+"
	}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(pahoURL(opt.Broker)).
		SetClientID(fmt.Sprintf("coatnet-watch-%d", time.Now().UnixNano())).
		SetOrderMatters(true).SetAutoReconnect(true).SetConnectRetry(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		if tok.Error() != nil {
			return fmt.Errorf("watch: connecting to %s: %w", opt.Broker, tok.Error())
		}
		return fmt.Errorf("watch: connecting to %s: no answer in 10s", opt.Broker)
	}
	defer c.Disconnect(250)
	w := &watcher{out: out, last: map[string]uint64{}, max: opt.MaxLabel, done: make(chan struct{})}
	filter := opt.Prefix + "/" + device + "/+"
	if tok := c.Subscribe(filter, 1, w.handle); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("watch: subscribing to %s: %v", filter, tok.Error())
	}
	fmt.Fprintf(out, "watching %s on %s\n", filter, opt.Broker)
	select {
	case <-ctx.Done():
	case <-w.done:
	}
	return nil
}

type watcher struct {
	mu     sync.Mutex
	out    io.Writer
	last   map[string]uint64 // device -> last label sequence number
	labels int
	max    int
	done   chan struct{}
}

func (w *watcher) handle(_ mqtt.Client, m mqtt.Message) {
	parts := strings.Split(m.Topic(), "/")
	if len(parts) < 3 {
		return
	}
	device, kind := parts[len(parts)-2], parts[len(parts)-1]
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.max > 0 && w.labels >= w.max {
		return
	}
	now := time.Now().Format("15:04:05")
	switch kind {
	case "labels":
		var l LabelsMessage
		if err := json.Unmarshal(m.Payload(), &l); err != nil {
			fmt.Fprintf(w.out, "%s %s labels: not a labels message: %v\n", now, device, err)
			return
		}
		prev, seen := w.last[device]
		switch {
		case seen && l.Seq == 1 && prev > 1:
			fmt.Fprintf(w.out, "%s %s restarted (sequence back to 1)\n", now, device)
		case seen && l.Seq > prev+1:
			fmt.Fprintf(w.out, "%s %s gap: %d label messages missing (#%d to #%d)\n", now, device, l.Seq-prev-1, prev+1, l.Seq-1)
		}
		if !seen || l.Seq == 1 || l.Seq > prev { // a QoS 1 duplicate changes nothing
			w.last[device] = l.Seq
		}
		var ls []string
		for _, x := range l.Labels {
			ls = append(ls, fmt.Sprintf("%s %.2f", x.Label, x.Score))
		}
		fmt.Fprintf(w.out, "%s %s #%d %s (%.1f ms)\n", now, device, l.Seq, strings.Join(ls, ", "), l.InferenceMs)
		w.labels++
		if w.max > 0 && w.labels == w.max {
			close(w.done)
		}
	case "status":
		fmt.Fprintf(w.out, "%s %s status %s\n", now, device, m.Payload())
	case "stats":
		var s AgentStats
		if err := json.Unmarshal(m.Payload(), &s); err != nil {
			fmt.Fprintf(w.out, "%s %s stats: %v\n", now, device, err)
			return
		}
		fmt.Fprintf(w.out, "%s %s stats classified %d, published %d, frames dropped %d, inference p50 %.1f ms p99 %.1f ms, reconnects %d\n",
			now, device, s.Classified, s.Published, s.FramesDropped, s.InferenceP50Ms, s.InferenceP99Ms, s.Reconnects)
	}
}
