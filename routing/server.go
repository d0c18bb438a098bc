package routing

import (
	"context"
	"errors"
	stdlog "log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Server is the node's router: a Watcher keeping a Router's table current
// and an HTTP server on Config.ListenAddr.
type Server struct {
	cfg     Config
	router  *Router
	watcher *Watcher
	log     zerolog.Logger

	mu   sync.Mutex
	addr net.Addr
}

// NewServer wires a Router and a Watcher over src. sink and rec may be nil.
func NewServer(cfg Config, src Source, sink LogSink, rec Recorder, log zerolog.Logger) (*Server, error) {
	r, err := NewRouter(cfg, sink, rec, log)
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg:     cfg,
		router:  r,
		watcher: NewWatcher(src, cfg.LocalAddress, cfg.SubscribeBuffer, r.SetTable, rec, log),
		log:     log.With().Str(logKeyComponent, "router").Logger(),
	}, nil
}

// Router returns the server's handler (its Table lists the routes).
func (s *Server) Router() *Router { return s.router }

// Addr returns the listening address once Run or Serve has started, else
// nil.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Run listens on Config.ListenAddr and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.ListenAddr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends (it closes ln). It starts accepting
// requests only once the first table is built. On shutdown in-flight
// requests get Config.ShutdownTimeout to finish; upgraded connections are
// closed then. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()

	wctx, stopWatcher := context.WithCancel(ctx)
	watchDone := make(chan error, 1)
	go func() { watchDone <- s.watcher.Run(wctx) }()
	defer func() {
		stopWatcher()
		<-watchDone
	}()
	select {
	case <-s.watcher.Ready():
	case <-ctx.Done():
		_ = ln.Close()
		return nil
	}

	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          stdlog.New(s.log.With().Str("source", "net/http").Logger(), "", 0),
	}
	if s.cfg.H2C {
		p := new(http.Protocols)
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		srv.Protocols = p
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.log.Info().Str(logKeyAddr, ln.Addr().String()).Msg("router listening")

	// Idle backend connections past IdleTimeout are closed even when no
	// traffic comes by to notice.
	sweep := time.NewTicker(s.cfg.IdleTimeout / 2)
	defer sweep.Stop()
wait:
	for {
		select {
		case err := <-serveErr:
			return err
		case <-sweep.C:
			s.router.client.sweep(nil)
		case <-ctx.Done():
			break wait
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	cancelBase() // ends upgraded connections and requests past the grace
	if errors.Is(err, context.DeadlineExceeded) {
		_ = srv.Close()
		err = nil
	}
	if e := <-serveErr; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	s.router.CloseIdleConnections()
	s.log.Info().Msg("router stopped")
	return err
}
