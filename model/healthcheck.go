package model

// Health check types.
const (
	HealthCheckPort = "port"
	HealthCheckHTTP = "http"
	HealthCheckExec = "exec"
	HealthCheckNone = "none"
)

// Health check defaults (Diego's, spec §6.4).
const (
	DefaultHealthCheckTimeoutMS  = 1000  // per attempt
	DefaultHealthCheckIntervalMS = 30000 // liveness interval once healthy
	DefaultStartupIntervalMS     = 2000  // startup probing interval
	DefaultHealthCheckPath       = "/"
)

// HealthCheck says how a cell decides an instance is healthy. Type "port"
// connects over TCP, "http" needs exactly 200 on Path, "exec" runs Command in
// the container and needs exit status 0, "none" treats a started process as
// healthy.
type HealthCheck struct {
	Type       string   `json:"type"`
	Port       uint16   `json:"port,omitempty"`
	Path       string   `json:"path,omitempty"`
	Command    []string `json:"command,omitempty"`
	TimeoutMS  int64    `json:"timeout_ms,omitempty"`
	IntervalMS int64    `json:"interval_ms,omitempty"`
}

// EffectiveHealthCheck returns the check an LRP runs: its own, or a port
// check on the first port when it has ports, or none.
func (d *DesiredLRP) EffectiveHealthCheck() HealthCheck {
	hc := HealthCheck{Type: HealthCheckNone}
	if d.HealthCheck != nil {
		hc = *d.HealthCheck
	} else if len(d.Ports) > 0 {
		hc = HealthCheck{Type: HealthCheckPort}
	}
	if (hc.Type == HealthCheckPort || hc.Type == HealthCheckHTTP) && hc.Port == 0 && len(d.Ports) > 0 {
		hc.Port = d.Ports[0]
	}
	if hc.Type == HealthCheckHTTP && hc.Path == "" {
		hc.Path = DefaultHealthCheckPath
	}
	if hc.TimeoutMS == 0 {
		hc.TimeoutMS = DefaultHealthCheckTimeoutMS
	}
	if hc.IntervalMS == 0 {
		hc.IntervalMS = DefaultHealthCheckIntervalMS
	}
	return hc
}

func (h *HealthCheck) validate(ports []uint16, v *ValidationError) {
	switch h.Type {
	case HealthCheckPort, HealthCheckHTTP:
		if h.Port == 0 && len(ports) == 0 {
			v.add("health_check.port: required when the LRP has no ports")
		}
	case HealthCheckExec:
		if len(h.Command) == 0 {
			v.add("health_check.command: required for type exec")
		}
	case HealthCheckNone:
	default:
		v.add("health_check.type: %q is not port, http, exec or none", h.Type)
	}
	if h.TimeoutMS < 0 {
		v.add("health_check.timeout_ms: must be >= 0")
	}
	if h.IntervalMS < 0 {
		v.add("health_check.interval_ms: must be >= 0")
	}
}
