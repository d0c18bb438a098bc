package cell

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diegod/diegod/model"
)

func TestLineWriterSplits(t *testing.T) {
	long := strings.Repeat("x", model.MaxLogLineSize+10)
	tests := []struct {
		name   string
		writes []string
		flush  bool
		want   []string
	}{
		{"one line", []string{"hello\n"}, false, []string{"hello"}},
		{"two lines in one write", []string{"a\nb\n"}, false, []string{"a", "b"}},
		{"line across writes", []string{"hel", "lo\nwor", "ld\n"}, false, []string{"hello", "world"}},
		{"crlf", []string{"dos\r\n"}, false, []string{"dos"}},
		{"partial held until flush", []string{"no newline"}, true, []string{"no newline"}},
		{"partial not emitted without flush", []string{"no newline"}, false, nil},
		{"long line split", []string{long + "\n"}, false, []string{long[:model.MaxLogLineSize], long[model.MaxLogLineSize:]}},
		{"empty line kept", []string{"\n"}, false, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			w := newLineWriter(func(s string) { got = append(got, s) })
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("write: got %d, %v", n, err)
				}
			}
			if tt.flush {
				w.Flush()
			}
			if len(got) != len(tt.want) {
				t.Fatalf("lines: got %d, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("line %d: got %.40q (len %d), want %.40q (len %d)", i, got[i], len(got[i]), tt.want[i], len(tt.want[i]))
				}
			}
		})
	}
}

func TestLineWriterSplitsOnRuneBoundary(t *testing.T) {
	var got []string
	w := newLineWriter(func(s string) { got = append(got, s) })
	text := strings.Repeat("a", model.MaxLogLineSize-1) + "é" + "\n" // é is 2 bytes, straddling the limit
	w.Write([]byte(text))
	if len(got) != 2 || got[0] != strings.Repeat("a", model.MaxLogLineSize-1) || got[1] != "é" {
		t.Fatalf("got %d lines, want the rune kept whole on the second", len(got))
	}
}

func line(process, instance string, n int) model.LogLine {
	return model.LogLine{ProcessGUID: process, InstanceGUID: instance, Source: model.LogSourceApp, Stream: model.StreamOut,
		Text: fmt.Sprintf("line %d", n), Time: time.Unix(0, int64(n))}
}

func TestLogStoreRecentMergesInstancesInTimeOrder(t *testing.T) {
	s := NewLogStore(LogConfig{LinesPerInstance: 10})
	s.AppendLog(line("web", "i1", 3))
	s.AppendLog(line("web", "i0", 1))
	s.AppendLog(line("api", "a0", 2))
	s.AppendLog(line("web", "i0", 4))
	s.AppendLog(line("web", "i1", 2))
	var got []string
	for _, l := range s.Recent("web") {
		got = append(got, l.Text)
	}
	if want := "line 1,line 2,line 3,line 4"; strings.Join(got, ",") != want {
		t.Fatalf("recent: got %v, want %s", got, want)
	}
}

func TestLogStoreRingPerInstance(t *testing.T) {
	s := NewLogStore(LogConfig{LinesPerInstance: 3})
	for i := 1; i <= 5; i++ {
		s.AppendLog(line("web", "i0", i))
	}
	s.AppendLog(line("web", "i1", 6))
	var got []string
	for _, l := range s.Recent("web") {
		got = append(got, l.Text)
	}
	if want := "line 3,line 4,line 5,line 6"; strings.Join(got, ",") != want {
		t.Fatalf("recent: got %v, want %s", got, want)
	}
}

func TestLogStoreRingKeepsOrderAcrossCompaction(t *testing.T) {
	s := NewLogStore(LogConfig{LinesPerInstance: 10})
	for i := 1; i <= 1000; i++ {
		s.AppendLog(line("web", "i0", i))
	}
	got := s.Recent("web")
	if len(got) != 10 {
		t.Fatalf("kept: got %d, want 10", len(got))
	}
	for i, l := range got {
		if want := fmt.Sprintf("line %d", 991+i); l.Text != want {
			t.Fatalf("line %d: got %q, want %q", i, l.Text, want)
		}
	}
}

func TestLogStoreBoundsTotalBytes(t *testing.T) {
	limit := 4 * (1000 + lineOverhead)
	s := NewLogStore(LogConfig{LinesPerInstance: 100, BytesTotal: limit})
	big := strings.Repeat("y", 1000)
	for i := 0; i < 50; i++ {
		l := line("web", fmt.Sprintf("i%d", i%3), i)
		l.Text = big
		s.AppendLog(l)
		if s.Bytes() > limit {
			t.Fatalf("after %d lines: %d bytes kept, limit %d", i+1, s.Bytes(), limit)
		}
	}
	if got := len(s.Recent("web")); got != 4 {
		t.Fatalf("kept lines: got %d, want 4", got)
	}
}

func TestLogStoreBoundsInstances(t *testing.T) {
	s := NewLogStore(LogConfig{MaxInstances: 2})
	s.AppendLog(line("web", "i0", 1))
	s.AppendLog(line("web", "i1", 2))
	s.AppendLog(line("web", "i2", 3))
	got := s.Recent("web")
	if len(got) != 2 || got[0].InstanceGUID != "i1" || got[1].InstanceGUID != "i2" {
		t.Fatalf("recent: got %+v, want lines of i1 and i2", got)
	}
}

func TestLogStoreFollow(t *testing.T) {
	s := NewLogStore(LogConfig{FollowBuffer: 2})
	ctx, cancel := context.WithCancel(context.Background())
	ch := s.Follow(ctx, "web")
	s.AppendLog(line("api", "a0", 1)) // another process: not delivered
	s.AppendLog(line("web", "i0", 2))
	s.AppendLog(line("web", "i0", 3))
	s.AppendLog(line("web", "i0", 4)) // buffer full: dropped, writer not blocked
	if got := (<-ch).Text; got != "line 2" {
		t.Fatalf("first: got %q, want line 2", got)
	}
	if got := (<-ch).Text; got != "line 3" {
		t.Fatalf("second: got %q, want line 3", got)
	}
	if got := s.Dropped(); got != 1 {
		t.Fatalf("dropped: got %d, want 1", got)
	}
	cancel()
	for range ch { // closed once ctx ends
	}
}

func TestLogStoreConcurrentWritersAndFollowers(t *testing.T) {
	s := NewLogStore(LogConfig{LinesPerInstance: 50, FollowBuffer: 8})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for f := 0; f < 3; f++ {
		ch := s.Follow(ctx, "web")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ch {
			}
		}()
	}
	var writers sync.WaitGroup
	for w := 0; w < 4; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; i < 500; i++ {
				s.AppendLog(line("web", fmt.Sprintf("i%d", w), i))
			}
		}()
	}
	writers.Wait()
	if got := len(s.Recent("web")); got != 200 {
		t.Fatalf("recent: got %d, want 4 instances x 50", got)
	}
	cancel()
	wg.Wait()
}
