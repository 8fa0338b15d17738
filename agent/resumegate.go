package agent

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// resumeGate keeps paho from sending a QoS 1 or 2 message twice, or out of
// order, when a connection comes up. paho's Publish stores the message,
// then looks at the connection: up, it sends the message itself. On
// connecting, paho marks the connection up and then resends everything its
// store holds. A message stored just before the mark and looked at just
// after went out twice, and one published between the mark and the
// resend went out ahead of older ones.
//
// The gate closes, waiting for any publish under way, once the broker's
// CONNACK is read (before paho marks the connection up) and opens again
// when the resend has been written to the connection (or the connection
// failed): a publish waits only for that local hand-over, never for the
// network. Publishers hold it with enter and leave around Publish; the
// connection (gatedConn) and the store (boundedStore) tell it the rest.
type resumeGate struct {
	publishing sync.RWMutex // read-held by each publish; held by a connection while it resumes

	mu     sync.Mutex
	closed *gatedConn // the connection holding the gate, nil when open
	// listing: keys the resend still has to fetch from the store
	// (listed is false until it asked for them); expected and written
	// count the messages it fetched and those written since.
	listed            bool
	listing           map[string]bool
	expected, written int
}

func newResumeGate() *resumeGate { return &resumeGate{listing: map[string]bool{}} }

// enter and leave bracket a Publish.
func (g *resumeGate) enter() { g.publishing.RLock() }
func (g *resumeGate) leave() { g.publishing.RUnlock() }

// close is c's first read: the broker answered; any publish under way
// finishes (the connection is not yet marked up: it only stores) and
// later ones wait.
func (g *resumeGate) close(c *gatedConn) {
	g.open(g.stale()) // a connection paho dropped without closing it
	g.publishing.Lock()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = c
	g.listed, g.expected, g.written = false, 0, 0
	clear(g.listing)
}

// stale is the connection holding the gate, if any.
func (g *resumeGate) stale() *gatedConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// open releases the gate if c holds it.
func (g *resumeGate) open(c *gatedConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.openLocked(c)
}

func (g *resumeGate) openLocked(c *gatedConn) {
	if c == nil || g.closed != c {
		return
	}
	g.closed = nil
	g.publishing.Unlock()
}

// storeListed is the store's All while the gate is closed: the resend's list.
func (g *resumeGate) storeListed(keys []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed == nil {
		return // Connect reserving the stored ids, before any connection
	}
	g.listed = true
	for _, k := range keys {
		g.listing[k] = true
	}
	g.check()
}

// storeGot is the store's Get while the gate is closed: the resend fetched
// key; m, when an outbound PUBLISH or PUBREL, is written next.
func (g *resumeGate) storeGot(key string, m packets.ControlPacket) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed == nil || !g.listing[key] {
		return
	}
	delete(g.listing, key)
	switch m.(type) {
	case *packets.PublishPacket, *packets.PubrelPacket:
		if isOutbound(key) {
			g.expected++
		}
	}
	g.check()
}

// wrote is a packet c wrote: the resend's PUBLISH and PUBREL count.
func (g *resumeGate) wrote(c *gatedConn, b []byte) {
	if len(b) == 0 {
		return
	}
	switch b[0] >> 4 {
	case packets.Publish, packets.Pubrel:
	default:
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed != c {
		return
	}
	g.written++
	g.check()
}

// check opens the gate once the resend fetched every listed key and wrote
// every message it fetched.
func (g *resumeGate) check() {
	if g.listed && len(g.listing) == 0 && g.written >= g.expected {
		g.openLocked(g.closed)
	}
}

// dial is paho's connection opener for the schemes the agent allows
// (pahoURL's tcp:// and ssl://), returning connections that drive the gate.
func (g *resumeGate) dial(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	var c net.Conn
	var err error
	switch uri.Scheme {
	case "tcp":
		c, err = d.Dial("tcp", uri.Host)
	case "ssl":
		c, err = tls.DialWithDialer(d, "tcp", uri.Host, o.TLSConfig)
	default:
		return nil, fmt.Errorf("mqtt: unsupported broker scheme %q", uri.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return &gatedConn{Conn: c, gate: g}, nil
}

// gatedConn is a broker connection that closes the gate on its first read
// (the CONNACK) and reports its writes; closing it opens the gate.
type gatedConn struct {
	net.Conn
	gate     *resumeGate
	readOnce sync.Once
}

func (c *gatedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.readOnce.Do(func() { c.gate.close(c) })
	}
	return n, err
}

// Write: paho writes each packet in one call.
func (c *gatedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err == nil {
		c.gate.wrote(c, b)
	}
	return n, err
}

func (c *gatedConn) Close() error {
	err := c.Conn.Close()
	c.gate.open(c)
	return err
}
