package routing

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

func TestWebSocketEchoThroughRouter(t *testing.T) {
	src := newFakeSource()
	ws := newBackend(t, 0, websocket.Handler(func(c *websocket.Conn) {
		for {
			var msg string
			if websocket.Message.Receive(c, &msg) != nil || websocket.Message.Send(c, msg) != nil {
				return
			}
		}
	}).ServeHTTP)
	routeWith(src, "ws", "ws.home", ws)
	rt := startRouter(t, testConfig(), src, nil, nil, nil)
	waitFor(t, 5*time.Second, "route", func() bool { return poolSize(rt.srv.Router(), "ws.home") == 1 })

	cfg, err := websocket.NewConfig("ws://ws.home/echo", "http://ws.home/")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(rt.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := websocket.NewClient(cfg, conn)
	if err != nil {
		t.Fatalf("websocket handshake through the router: %v", err)
	}
	for _, msg := range []string{"hello", "world", strings.Repeat("x", 70000)} {
		if err := websocket.Message.Send(c, msg); err != nil {
			t.Fatalf("send: %v", err)
		}
		var got string
		if err := websocket.Message.Receive(c, &got); err != nil {
			t.Fatalf("receive: %v", err)
		}
		if got != msg {
			t.Fatalf("echo: got %d bytes, want %d", len(got), len(msg))
		}
	}
}

func TestStreamingResponsesAreNotBuffered(t *testing.T) {
	for _, tt := range []struct {
		name        string
		contentType string
	}{
		{"server-sent events", "text/event-stream"},
		{"chunked body of unknown length", "text/plain"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := newFakeSource()
			second := make(chan struct{})
			b := newBackend(t, 0, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(http.StatusOK)
				fmt.Fprint(w, "data: one\n\n")
				http.NewResponseController(w).Flush()
				select {
				case <-second:
				case <-r.Context().Done():
					return
				}
				fmt.Fprint(w, "data: two\n\n")
			})
			routeWith(src, "sse", "sse.home", b)
			rt := startRouter(t, testConfig(), src, nil, nil, nil)
			waitFor(t, 5*time.Second, "route", func() bool { return poolSize(rt.srv.Router(), "sse.home") == 1 })

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req := rt.newRequest(t, http.MethodGet, "sse.home", "/events", nil).WithContext(ctx)
			resp, err := rt.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			// The second event is only sent once the first has arrived: a
			// buffering proxy would block here until the deadline.
			if line, err := br.ReadString('\n'); err != nil || line != "data: one\n" {
				t.Fatalf("first event: got %q, %v", line, err)
			}
			close(second)
			rest, err := io.ReadAll(br)
			if err != nil || string(rest) != "\ndata: two\n\n" {
				t.Fatalf("rest of stream: got %q, %v", rest, err)
			}
		})
	}
}

func TestH2CClients(t *testing.T) {
	src := newFakeSource()
	b := newBackend(t, 0, nil)
	routeWith(src, "h2", "h2.home", b)
	cfg := testConfig()
	cfg.H2C = true
	rt := startRouter(t, cfg, src, nil, nil, nil)
	waitFor(t, 5*time.Second, "route", func() bool { return poolSize(rt.srv.Router(), "h2.home") == 1 })

	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: p}
	defer tr.CloseIdleConnections()
	req := rt.newRequest(t, http.MethodGet, "h2.home", "/", nil)
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("h2c request: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != "index=0" {
		t.Fatalf("got %s %d %q, want HTTP/2 200 index=0", resp.Proto, resp.StatusCode, body)
	}
}
