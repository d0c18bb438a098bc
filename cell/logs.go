package cell

import (
	"bytes"
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/diegod/diegod/model"
)

// lineOverhead is the bytes a kept line costs beyond its text (an estimate
// of the struct and its strings), so many empty lines still count.
const lineOverhead = 256

// DefaultLogMaxInstances bounds the instances whose lines are kept.
const DefaultLogMaxInstances = 4096

// LogConfig sizes a LogStore.
type LogConfig struct {
	// LinesPerInstance is the lines kept per instance (a ring).
	LinesPerInstance int
	// BytesTotal bounds all kept lines; the oldest lines go first.
	BytesTotal int
	// FollowBuffer is the lines a follower may lag before it loses lines.
	FollowBuffer int
	// MaxInstances bounds the instances with kept lines; the least
	// recently written goes first.
	MaxInstances int
}

// DefaultLogConfig returns the defaults.
func DefaultLogConfig() LogConfig {
	return LogConfig{
		LinesPerInstance: DefaultLogLinesPerInstance,
		BytesTotal:       DefaultLogBytesTotal,
		FollowBuffer:     DefaultLogFollowBuffer,
		MaxInstances:     DefaultLogMaxInstances,
	}
}

type bufKey struct{ process, instance string }

type logEntry struct {
	line model.LogLine
	seq  uint64
	size int
}

// ring keeps the last lines of one instance: a queue that grows with use
// (an instance with three lines costs three entries) up to max entries.
type ring struct {
	entries []logEntry // live entries are entries[start:]
	start   int
	max     int
	bytes   int
	lastSeq uint64
}

func (r *ring) len() int { return len(r.entries) - r.start }

func (r *ring) push(e logEntry) (evicted int) {
	if r.len() >= r.max {
		evicted = r.popOldest()
	}
	r.entries = append(r.entries, e)
	r.bytes += e.size
	r.lastSeq = e.seq
	return evicted
}

func (r *ring) oldest() logEntry { return r.entries[r.start] }

func (r *ring) popOldest() int {
	size := r.entries[r.start].size
	r.entries[r.start] = logEntry{}
	r.start++
	r.bytes -= size
	if r.start > 64 && r.start*2 > len(r.entries) {
		n := copy(r.entries, r.entries[r.start:])
		clear(r.entries[n:])
		r.entries = r.entries[:n]
		r.start = 0
	}
	return size
}

type follower struct {
	ch chan model.LogLine
}

// LogStore keeps the recent log lines of every instance of the cell (app
// output, CELL and HEALTH lines, router lines) and fans new lines out to
// followers. Memory is bounded: LinesPerInstance per instance, BytesTotal
// overall, MaxInstances instances. AppendLog never blocks: a follower that
// lags by more than FollowBuffer lines loses lines, which Dropped counts.
// Safe for concurrent use.
type LogStore struct {
	cfg LogConfig

	mu         sync.Mutex
	seq        uint64
	bufs       map[bufKey]*ring
	totalBytes int
	followers  map[string]map[*follower]struct{}

	dropped atomic.Uint64
}

// NewLogStore returns an empty store; zero fields of cfg take defaults.
func NewLogStore(cfg LogConfig) *LogStore {
	def := DefaultLogConfig()
	if cfg.LinesPerInstance <= 0 {
		cfg.LinesPerInstance = def.LinesPerInstance
	}
	if cfg.BytesTotal <= 0 {
		cfg.BytesTotal = def.BytesTotal
	}
	if cfg.FollowBuffer <= 0 {
		cfg.FollowBuffer = def.FollowBuffer
	}
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = def.MaxInstances
	}
	return &LogStore{
		cfg:       cfg,
		bufs:      map[bufKey]*ring{},
		followers: map[string]map[*follower]struct{}{},
	}
}

// AppendLog keeps line and sends it to the process's followers. A text
// longer than model.MaxLogLineSize is cut.
func (s *LogStore) AppendLog(line model.LogLine) {
	if len(line.Text) > model.MaxLogLineSize {
		line.Text = line.Text[:model.MaxLogLineSize]
	}
	if line.Time.IsZero() {
		line.Time = time.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	e := logEntry{line: line, seq: s.seq, size: len(line.Text) + lineOverhead}
	k := bufKey{line.ProcessGUID, line.InstanceGUID}
	r, ok := s.bufs[k]
	if !ok {
		r = &ring{max: s.cfg.LinesPerInstance}
		s.bufs[k] = r
		s.evictInstances()
	}
	s.totalBytes += e.size - r.push(e)
	s.evictBytes()
	for f := range s.followers[line.ProcessGUID] {
		select {
		case f.ch <- line:
		default:
			s.dropped.Add(1)
		}
	}
}

// evictInstances drops the least recently written buffer while there are
// too many.
func (s *LogStore) evictInstances() {
	for len(s.bufs) > s.cfg.MaxInstances {
		var victim bufKey
		var min uint64
		first := true
		for k, r := range s.bufs {
			if r.len() > 0 && (first || r.lastSeq < min) {
				victim, min, first = k, r.lastSeq, false
			}
		}
		if first {
			return
		}
		s.totalBytes -= s.bufs[victim].bytes
		delete(s.bufs, victim)
	}
}

// evictBytes drops the oldest lines overall while over BytesTotal.
func (s *LogStore) evictBytes() {
	for s.totalBytes > s.cfg.BytesTotal {
		var victim *ring
		var vk bufKey
		for k, r := range s.bufs {
			if r.len() > 0 && (victim == nil || r.oldest().seq < victim.oldest().seq) {
				victim, vk = r, k
			}
		}
		if victim == nil {
			return
		}
		s.totalBytes -= victim.popOldest()
		if victim.len() == 0 {
			delete(s.bufs, vk)
		}
	}
}

// Recent returns the kept lines of every instance of processGUID, oldest
// first (by time, then by arrival).
func (s *LogStore) Recent(processGUID string) []model.LogLine {
	s.mu.Lock()
	var entries []logEntry
	for k, r := range s.bufs {
		if k.process != processGUID {
			continue
		}
		entries = append(entries, r.entries[r.start:]...)
	}
	s.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if !a.line.Time.Equal(b.line.Time) {
			return a.line.Time.Before(b.line.Time)
		}
		return a.seq < b.seq
	})
	out := make([]model.LogLine, len(entries))
	for i, e := range entries {
		out[i] = e.line
	}
	return out
}

// Follow returns a channel of the lines of processGUID appended from now
// on. It is closed when ctx ends. Lines are lost (and counted by Dropped)
// when the reader lags by more than FollowBuffer lines.
func (s *LogStore) Follow(ctx context.Context, processGUID string) <-chan model.LogLine {
	f := &follower{ch: make(chan model.LogLine, s.cfg.FollowBuffer)}
	s.mu.Lock()
	set := s.followers[processGUID]
	if set == nil {
		set = map[*follower]struct{}{}
		s.followers[processGUID] = set
	}
	set[f] = struct{}{}
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		delete(s.followers[processGUID], f)
		if len(s.followers[processGUID]) == 0 {
			delete(s.followers, processGUID)
		}
		close(f.ch)
		s.mu.Unlock()
	}()
	return f.ch
}

// Dropped returns how many lines followers have lost so far.
func (s *LogStore) Dropped() uint64 { return s.dropped.Load() }

// Bytes returns the bytes the kept lines are accounted for.
func (s *LogStore) Bytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totalBytes
}

// lineWriter turns a process's output into log lines: one per '\n', a line
// longer than model.MaxLogLineSize split (on a UTF-8 boundary). Write never
// blocks beyond a mutex and never fails. Flush emits a trailing partial
// line.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(text string)
}

func newLineWriter(emit func(string)) *lineWriter { return &lineWriter{emit: emit} }

// Write splits p into lines.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 || i > model.MaxLogLineSize {
			if len(w.buf) < model.MaxLogLineSize {
				break
			}
			cut := model.MaxLogLineSize
			for cut > 0 && !utf8.RuneStart(w.buf[cut]) {
				cut--
			}
			if cut == 0 {
				cut = model.MaxLogLineSize
			}
			w.emitLine(w.buf[:cut])
			w.buf = w.buf[cut:]
			continue
		}
		w.emitLine(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) == 0 {
		w.buf = nil // do not keep a large backing array alive
	}
	return len(p), nil
}

// Flush emits what is left as a last line.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emitLine(w.buf)
		w.buf = nil
	}
}

func (w *lineWriter) emitLine(b []byte) {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	w.emit(string(b))
}
