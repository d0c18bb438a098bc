package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"syscall"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/routing"
	"github.com/rs/zerolog"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: routerbench backend|router [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "backend":
		err = runBackend(ctx, os.Args[2:])
	case "router":
		err = runRouter(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "routerbench:", err)
		os.Exit(1)
	}
}

var body = []byte("hello from the backend\n")

func runBackend(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18081", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	})}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// staticSource is a Source with one routed LRP and one RUNNING instance.
type staticSource struct{ snap routing.Snapshot }

func (s *staticSource) Snapshot() routing.Snapshot { return s.snap }

func (s *staticSource) Subscribe(ctx context.Context, _ int) <-chan []model.Event {
	ch := make(chan []model.Event)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}

// discardSink takes the access lines (they are still formatted).
type discardSink struct{}

func (discardSink) AppendLog(model.LogLine) {}

func runRouter(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18080", "listen address")
	backend := fs.String("backend", "127.0.0.1:18081", "backend address")
	host := fs.String("host", "bench.home", "route hostname")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	bhost, bport, err := net.SplitHostPort(*backend)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(bport)
	if err != nil {
		return err
	}
	src := &staticSource{snap: routing.Snapshot{
		Index: 1,
		Desired: []model.DesiredLRP{{
			ProcessGUID: "bench", Instances: 1, Ports: []uint16{8080}, Routes: []string{*host},
		}},
		Actuals: []model.ActualLRP{{
			ActualLRPKey:         model.ActualLRPKey{ProcessGUID: "bench"},
			ActualLRPInstanceKey: model.ActualLRPInstanceKey{InstanceGUID: "bench-0", CellID: "bench-cell"},
			ActualLRPNetInfo: model.ActualLRPNetInfo{
				Address: bhost, Ports: []model.PortMapping{{ContainerPort: 8080, HostPort: uint16(port)}},
			},
			State: model.StateRunning, Presence: model.PresenceOrdinary,
		}},
	}}
	cfg := routing.DefaultConfig()
	cfg.ListenAddr = *addr
	rec, err := routing.NewMetrics(nil)
	if err != nil {
		return err
	}
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
	srv, err := routing.NewServer(cfg, src, discardSink{}, rec, log)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
