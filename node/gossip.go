package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
)

// GossipConfig tunes memberlist for a LAN. The defaults detect a dead
// member in about a second in a small cluster: a member is probed every
// ProbeInterval by someone, a probe fails after ProbeTimeout (plus indirect
// probes until the end of the interval), and a suspect is declared dead
// after SuspicionMult × ProbeInterval (× log10 of the cluster size, at
// least 1), at most SuspicionMaxTimeoutMult times that while too few
// members confirm. docs/operations.md gives the arithmetic.
type GossipConfig struct {
	// ProbeInterval is how often a member probes a random other member
	// (memberlist's LAN default: 1 s).
	ProbeInterval time.Duration
	// ProbeTimeout is how long a direct probe waits for an ack (< ProbeInterval).
	ProbeTimeout time.Duration
	// SuspicionMult scales the time a suspect has to refute before it is
	// declared dead.
	SuspicionMult int
	// SuspicionMaxTimeoutMult bounds the suspicion time while confirmations
	// are missing.
	SuspicionMaxTimeoutMult int
	// GossipInterval is how often state changes are gossiped.
	GossipInterval time.Duration
	// PushPullInterval is how often a full state exchange runs.
	PushPullInterval time.Duration
	// ReconnectInterval is how often the node tries to join the known
	// members it sees as dead or left (so a healed partition merges).
	ReconnectInterval time.Duration
}

// DefaultGossipConfig returns the LAN tuning (see GossipConfig).
func DefaultGossipConfig() GossipConfig {
	return GossipConfig{
		ProbeInterval:           200 * time.Millisecond,
		ProbeTimeout:            100 * time.Millisecond,
		SuspicionMult:           2,
		SuspicionMaxTimeoutMult: 3,
		GossipInterval:          100 * time.Millisecond,
		PushPullInterval:        15 * time.Second,
		ReconnectInterval:       time.Second,
	}
}

// Validate checks the config without changing it.
func (c GossipConfig) Validate() error {
	switch {
	case c.ProbeInterval <= 0 || c.ProbeTimeout <= 0 || c.ProbeTimeout >= c.ProbeInterval:
		return errors.New("probe timeout: must be > 0 and below the probe interval")
	case c.SuspicionMult < 1 || c.SuspicionMaxTimeoutMult < 1:
		return errors.New("suspicion multipliers: must be >= 1")
	case c.GossipInterval <= 0 || c.PushPullInterval <= 0 || c.ReconnectInterval <= 0:
		return errors.New("gossip, push-pull and reconnect intervals: must be > 0")
	}
	return nil
}

// Gossip states of a member (the user contract of `diegod members`).
const (
	gossipAlive   = "alive"
	gossipSuspect = "suspect"
	gossipDead    = "dead"
	gossipLeft    = "left"
	gossipUnknown = "none"
)

// nodeMeta is what a member advertises in gossip.
type nodeMeta struct {
	Raft string `json:"raft"`
	API  string `json:"api"`
	// Leaving is set just before a graceful leave, so the others record
	// the member as left rather than dead (memberlist's own leave state
	// does not reach the event delegate).
	Leaving bool `json:"leaving,omitempty"`
}

// gossipMember is what a node knows of one member.
type gossipMember struct {
	Name   string
	Gossip string // gossip address host:port
	Meta   nodeMeta
	State  string // alive, dead or left (suspect is derived in snapshot)
	Since  time.Time
	// LastAck is when this node last got an ack to a probe of the member.
	LastAck time.Time
	RTT     time.Duration
}

// gossip runs memberlist and keeps the membership view the leader and the
// API read. Its delegate methods are called from memberlist's goroutines
// and never block.
type gossip struct {
	ml   *memberlist.Memberlist
	self string
	meta atomic.Pointer[nodeMeta]
	cfg  GossipConfig
	log  zerolog.Logger
	book *peerBook

	mu      sync.Mutex
	members map[string]*gossipMember
	wake    chan struct{} // capacity 1, poked on every membership change
}

var (
	_ memberlist.Delegate      = (*gossip)(nil)
	_ memberlist.EventDelegate = (*gossip)(nil)
	_ memberlist.PingDelegate  = (*gossip)(nil)
)

// newGossip creates the memberlist on transport (already listening on
// advertise:port), encrypted with key.
func newGossip(name string, advertise net.IP, port int, transport memberlist.NodeAwareTransport, key []byte,
	meta nodeMeta, cfg GossipConfig, book *peerBook, zl zerolog.Logger) (*gossip, error) {
	g := &gossip{self: name, cfg: cfg, book: book, log: zl.With().Str("component", "gossip").Logger(),
		members: map[string]*gossipMember{}, wake: make(chan struct{}, 1)}
	g.meta.Store(&meta)
	var err error
	mc := memberlist.DefaultLANConfig()
	mc.Name = name
	mc.Transport = transport
	mc.BindAddr = advertise.String()
	mc.BindPort = port
	mc.AdvertiseAddr = advertise.String()
	mc.AdvertisePort = port
	mc.SecretKey = key
	mc.ProbeInterval = cfg.ProbeInterval
	mc.ProbeTimeout = cfg.ProbeTimeout
	mc.SuspicionMult = cfg.SuspicionMult
	mc.SuspicionMaxTimeoutMult = cfg.SuspicionMaxTimeoutMult
	mc.GossipInterval = cfg.GossipInterval
	mc.PushPullInterval = cfg.PushPullInterval
	// A restarted member may come back on another port: let it reclaim its
	// name once it has been dead for a moment.
	mc.DeadNodeReclaimTime = time.Second
	mc.Delegate = g
	mc.Events = g
	mc.Ping = g
	mc.Logger = log.New(&lineLogWriter{log: g.log}, "", 0)
	if g.ml, err = memberlist.Create(mc); err != nil {
		return nil, fmt.Errorf("start gossip: %w", err)
	}
	return g, nil
}

// Join contacts the given gossip addresses; it returns how many answered.
func (g *gossip) Join(addrs []string) (int, error) {
	if len(addrs) == 0 {
		return 0, nil
	}
	return g.ml.Join(addrs)
}

// Leave announces that this node leaves (first in its metadata, then with
// memberlist's leave message), then stops gossip.
func (g *gossip) Leave(timeout time.Duration) error {
	m := *g.meta.Load()
	m.Leaving = true
	g.meta.Store(&m)
	err := g.ml.UpdateNode(timeout)
	err = errors.Join(err, g.ml.Leave(timeout))
	return errors.Join(err, g.ml.Shutdown())
}

// Shutdown stops gossip without a goodbye (the others detect the failure).
func (g *gossip) Shutdown() error { return g.ml.Shutdown() }

// LocalAddr returns this node's gossip address.
func (g *gossip) LocalAddr() string { return g.ml.LocalNode().Address() }

// Wake returns a channel poked on every membership change.
func (g *gossip) Wake() <-chan struct{} { return g.wake }

func (g *gossip) poke() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// NodeMeta implements memberlist.Delegate.
func (g *gossip) NodeMeta(limit int) []byte {
	b, err := json.Marshal(g.meta.Load())
	if err != nil || len(b) > limit {
		return nil
	}
	return b
}

// NotifyMsg, GetBroadcasts, LocalState and MergeRemoteState implement
// memberlist.Delegate; diegod sends no user messages over gossip.
func (g *gossip) NotifyMsg([]byte)                           {}
func (g *gossip) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (g *gossip) LocalState(join bool) []byte                { return nil }
func (g *gossip) MergeRemoteState(buf []byte, join bool)     {}

// NotifyJoin implements memberlist.EventDelegate (also called when a dead
// member comes back).
func (g *gossip) NotifyJoin(n *memberlist.Node) { g.update(n, gossipAlive, true) }

// NotifyUpdate implements memberlist.EventDelegate (metadata changed).
func (g *gossip) NotifyUpdate(n *memberlist.Node) { g.update(n, gossipAlive, false) }

// NotifyLeave implements memberlist.EventDelegate: dead, or left if the
// member announced its leave in its metadata.
func (g *gossip) NotifyLeave(n *memberlist.Node) { g.update(n, gossipDead, true) }

func (g *gossip) update(n *memberlist.Node, state string, logIt bool) {
	var meta nodeMeta
	if len(n.Meta) > 0 {
		if err := json.Unmarshal(n.Meta, &meta); err != nil {
			g.log.Warn().Err(err).Str(logKeyMember, n.Name).Msg("bad member metadata")
		}
	}
	addr := n.Address()
	g.mu.Lock()
	m, ok := g.members[n.Name]
	if !ok {
		m = &gossipMember{Name: n.Name}
		g.members[n.Name] = m
	}
	if state == gossipDead && (meta.Leaving || (meta.API == "" && m.Meta.Leaving)) {
		state = gossipLeft
	}
	changed := m.State != state
	if changed {
		m.Since = time.Now()
	}
	m.State, m.Gossip = state, addr
	if meta.Raft != "" || meta.API != "" {
		m.Meta = meta
	}
	g.mu.Unlock()
	if state == gossipAlive && n.Name != g.self && meta.API != "" {
		g.book.put(n.Name, peer{Gossip: addr, Raft: meta.Raft, API: meta.API})
	}
	if logIt && changed && n.Name != g.self {
		g.log.Info().Str(logKeyMember, n.Name).Str(logKeyState, state).Str(logKeyAddress, addr).Msg("member changed")
	}
	g.poke()
}

// AckPayload implements memberlist.PingDelegate.
func (g *gossip) AckPayload() []byte { return nil }

// NotifyPingComplete implements memberlist.PingDelegate: a probe of other
// was acked (last contact).
func (g *gossip) NotifyPingComplete(other *memberlist.Node, rtt time.Duration, _ []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m, ok := g.members[other.Name]; ok {
		m.LastAck, m.RTT = time.Now(), rtt
	}
}

// Snapshot returns a copy of the membership view. A member alive in
// gossip that has not acked this node's probes for suspectAfter is
// reported as suspect (memberlist does not publish its suspicion state).
func (g *gossip) Snapshot(now time.Time) map[string]gossipMember {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := len(g.members)
	suspectAfter := time.Duration(2*max(n, 2)) * g.cfg.ProbeInterval
	out := make(map[string]gossipMember, n)
	for name, m := range g.members {
		c := *m
		if c.State == gossipAlive && name != g.self {
			last := c.LastAck
			if last.Before(c.Since) {
				last = c.Since
			}
			if now.Sub(last) > suspectAfter {
				c.State = gossipSuspect
			}
		}
		out[name] = c
	}
	return out
}

// Member returns what this node knows of name.
func (g *gossip) Member(name string) (gossipMember, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.members[name]
	if !ok {
		return gossipMember{}, false
	}
	return *m, true
}

// reconnectTargets returns the gossip addresses of known peers that are not
// alive in this node's view.
func (g *gossip) reconnectTargets() []string {
	peers := g.book.all()
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for name, p := range peers {
		if name == g.self || p.Gossip == "" {
			continue
		}
		if m, ok := g.members[name]; ok && m.State == gossipAlive {
			continue
		}
		out = append(out, p.Gossip)
	}
	return out
}

// lineLogWriter bridges the line-oriented loggers of memberlist, raft's
// network transport and net/http into zerolog: a "[LEVEL]" tag sets the
// level, the rest is the detail. With debugOnly every line is logged at
// debug (net/http's per-connection TLS handshake errors).
type lineLogWriter struct {
	log       zerolog.Logger
	debugOnly bool
}

func (w *lineLogWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		s := string(line)
		lvl := zerolog.InfoLevel
		if i := strings.IndexByte(s, '['); i >= 0 {
			if end := strings.IndexByte(s[i:], ']'); end > 0 {
				tag := s[i+1 : i+end]
				known := true
				switch tag {
				case "DEBUG", "TRACE":
					lvl = zerolog.DebugLevel
				case "INFO":
				case "WARN":
					lvl = zerolog.WarnLevel
				case "ERR", "ERROR":
					lvl = zerolog.ErrorLevel
				default:
					known = false
				}
				if known {
					s = strings.TrimSpace(s[i+end+1:])
				}
			}
		}
		s = strings.TrimPrefix(s, "memberlist: ")
		// Failed probes and dials of a member that is down are expected
		// while it is down: warnings, not errors.
		if lvl == zerolog.ErrorLevel && (strings.Contains(s, "Failed") || strings.Contains(s, "failed")) {
			lvl = zerolog.WarnLevel
		}
		if w.debugOnly {
			lvl = zerolog.DebugLevel
		}
		w.log.WithLevel(lvl).Str(logKeyDetail, s).Msg("library log")
	}
	return len(p), nil
}

// advertiseIP returns the address other nodes reach this node at: the bind
// address, or for a wildcard bind the first private address of the
// machine (127.0.0.1 if it has none).
func advertiseIP(bind string) net.IP {
	ip := net.ParseIP(bind)
	if ip != nil && !ip.IsUnspecified() {
		return ip
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP
			}
		}
	}
	return net.IPv4(127, 0, 0, 1)
}

func hostPort(ip net.IP, port int) string { return net.JoinHostPort(ip.String(), strconv.Itoa(port)) }
