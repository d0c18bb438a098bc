package model

import (
	"errors"
	"strings"
	"testing"
)

func validLRP() DesiredLRP {
	return DesiredLRP{
		ProcessGUID: "hello", Instances: 3, MemoryMB: 64, DiskMB: 128,
		Action: &Action{Run: &RunAction{Path: "/usr/bin/python3", Args: []string{"-m", "http.server", "8080"}}},
		Ports:  []uint16{8080}, Routes: []string{"hello.home.arpa"},
		HealthCheck: &HealthCheck{Type: HealthCheckHTTP, Port: 8080, Path: "/"},
	}
}

func TestDesiredLRPValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*DesiredLRP)
		want   string // substring of the error, "" = valid
	}{
		{"valid", func(*DesiredLRP) {}, ""},
		{"missing guid", func(d *DesiredLRP) { d.ProcessGUID = "" }, "process_guid: required"},
		{"bad guid", func(d *DesiredLRP) { d.ProcessGUID = "hello world" }, "process_guid"},
		{"negative instances", func(d *DesiredLRP) { d.Instances = -1 }, "instances: -1 is negative"},
		{"absurd instances", func(d *DesiredLRP) { d.Instances = MaxInstances + 1 }, "instances"},
		{"negative memory", func(d *DesiredLRP) { d.MemoryMB = -5 }, "memory_mb"},
		{"absurd memory", func(d *DesiredLRP) { d.MemoryMB = MaxMemoryMB + 1 }, "memory_mb"},
		{"absurd disk", func(d *DesiredLRP) { d.DiskMB = MaxDiskMB + 1 }, "disk_mb"},
		{"no action", func(d *DesiredLRP) { d.Action = nil }, "action: required"},
		{"empty action", func(d *DesiredLRP) { d.Action = &Action{} }, "must have one of"},
		{"two kinds", func(d *DesiredLRP) { d.Action.Try = &TryAction{Action: Action{Run: &RunAction{Path: "x"}}} }, "exactly one"},
		{"run without path", func(d *DesiredLRP) { d.Action = &Action{Run: &RunAction{}} }, "run.path: required"},
		{"nested serial", func(d *DesiredLRP) {
			d.Action = &Action{Serial: []Action{{Run: &RunAction{Path: "a"}}, {Run: &RunAction{}}}}
		}, "action.serial[1].run.path"},
		{"timeout zero", func(d *DesiredLRP) {
			d.Action = &Action{Timeout: &TimeoutAction{Action: Action{Run: &RunAction{Path: "a"}}}}
		}, "timeout_ms"},
		{"bad rootfs", func(d *DesiredLRP) { d.RootFS = "ftp://x" }, "rootfs"},
		{"docker rootfs ok", func(d *DesiredLRP) { d.RootFS = "docker:///library/nginx" }, ""},
		{"port zero", func(d *DesiredLRP) { d.Ports = []uint16{0} }, "0 is not a port"},
		{"dup port", func(d *DesiredLRP) { d.Ports = []uint16{8080, 8080} }, "listed twice"},
		{"route without port", func(d *DesiredLRP) { d.Ports = nil; d.HealthCheck = nil }, "need at least one port"},
		{"bad route", func(d *DesiredLRP) { d.Routes = []string{"bad_host!"} }, "not a hostname"},
		{"wildcard route", func(d *DesiredLRP) { d.Routes = []string{"*.apps.home"} }, ""},
		{"bad check type", func(d *DesiredLRP) { d.HealthCheck.Type = "ping" }, "health_check.type"},
		{"exec without command", func(d *DesiredLRP) { d.HealthCheck = &HealthCheck{Type: HealthCheckExec} }, "health_check.command"},
		{"negative start timeout", func(d *DesiredLRP) { d.StartTimeoutMS = -1 }, "start_timeout_ms"},
		{"big annotation", func(d *DesiredLRP) { d.Annotation = strings.Repeat("x", MaxAnnotationSize+1) }, "annotation"},
		{"bad env", func(d *DesiredLRP) { d.Env = map[string]string{"A=B": "x"} }, "env"},
	}
	for _, tt := range tests {
		d := validLRP()
		tt.mutate(&d)
		err := d.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got %v, want valid", tt.name, err)
		case tt.want != "" && err == nil:
			t.Errorf("%s: got valid, want error containing %q", tt.name, tt.want)
		case tt.want != "" && !strings.Contains(err.Error(), tt.want):
			t.Errorf("%s: got %q, want it to contain %q", tt.name, err, tt.want)
		case err != nil && !errors.Is(err, ErrInvalidRequest):
			t.Errorf("%s: got code %s, want invalid_request", tt.name, CodeOf(err))
		}
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	d := DesiredLRP{ProcessGUID: "bad guid", Instances: -1, MemoryMB: -1}
	err := d.Validate()
	for _, want := range []string{"process_guid", "instances", "memory_mb", "action"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to mention %s", err, want)
		}
	}
}

func TestEffectiveHealthCheck(t *testing.T) {
	d := validLRP()
	d.HealthCheck = nil
	if hc := d.EffectiveHealthCheck(); hc.Type != HealthCheckPort || hc.Port != 8080 || hc.TimeoutMS != 1000 {
		t.Errorf("default with ports: got %+v, want port check on 8080 with 1 s timeout", hc)
	}
	d.Ports = nil
	d.Routes = nil
	if hc := d.EffectiveHealthCheck(); hc.Type != HealthCheckNone {
		t.Errorf("no ports: got %+v, want none", hc)
	}
	d = validLRP()
	d.HealthCheck = &HealthCheck{Type: HealthCheckHTTP}
	if hc := d.EffectiveHealthCheck(); hc.Port != 8080 || hc.Path != "/" || hc.IntervalMS != 30000 {
		t.Errorf("http defaults: got %+v", hc)
	}
}

func TestDesiredLRPUpdate(t *testing.T) {
	d := validLRP()
	n := 7
	routes := []string{"a.home"}
	u := DesiredLRPUpdate{Instances: &n, Routes: &routes}
	if err := u.Validate(len(d.Ports)); err != nil {
		t.Fatal(err)
	}
	got := u.Apply(d)
	if got.Instances != 7 || len(got.Routes) != 1 || got.Routes[0] != "a.home" || got.MemoryMB != 64 {
		t.Errorf("Apply: got %+v", got)
	}
	neg := -2
	if err := (&DesiredLRPUpdate{Instances: &neg}).Validate(1); err == nil {
		t.Error("negative instances: got valid")
	}
}

func TestPlacementTags(t *testing.T) {
	tests := []struct {
		required, optional, desired []string
		want                        bool
	}{
		{nil, nil, nil, true},
		{nil, nil, []string{"a"}, false},
		{[]string{"a"}, nil, nil, false},
		{[]string{"a"}, nil, []string{"a"}, true},
		{[]string{"a"}, []string{"b"}, []string{"a", "b"}, true},
		{[]string{"a"}, []string{"b"}, []string{"a", "c"}, false},
		{nil, []string{"b"}, nil, true},
		{nil, []string{"b"}, []string{"b"}, true},
	}
	for _, tt := range tests {
		c := Cell{PlacementTags: tt.required, OptionalPlacementTags: tt.optional}
		if got := c.MatchesPlacementTags(tt.desired); got != tt.want {
			t.Errorf("R=%v O=%v D=%v: got %v, want %v", tt.required, tt.optional, tt.desired, got, tt.want)
		}
	}
}

func TestResources(t *testing.T) {
	avail := Resources{MemoryMB: 100, DiskMB: 100, Containers: 1}
	if !avail.Fits(Resources{100, 100, 1}) {
		t.Error("exact fit refused")
	}
	got := avail.Shortfall(Resources{MemoryMB: 200, DiskMB: 50, Containers: 2})
	if len(got) != 2 || got[0] != "containers" || got[1] != "memory" {
		t.Errorf("Shortfall: got %v, want [containers memory]", got)
	}
}
