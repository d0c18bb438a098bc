package model

import (
	"regexp"
	"strings"
)

// Limits on specs. Diego has no upper bounds on resources; diegod refuses
// absurd values so a typo cannot stall the auction.
const (
	MaxInstances      = 100000
	MaxMemoryMB       = 1 << 20 // 1 TiB
	MaxDiskMB         = 1 << 24 // 16 TiB
	MaxPids           = 1 << 22
	MaxCPUWeight      = 10000
	MaxAnnotationSize = 10 * 1024  // Diego: 10 KiB
	MaxRoutesSize     = 128 * 1024 // Diego: 128 KiB
	MaxReasonSize     = 1024       // crash/placement/failure reasons
	MaxPorts          = 16
	MaxGUIDLength     = 255
)

// DefaultRootFS is the rootfs an LRP gets when it names none.
const DefaultRootFS = "host"

var guidPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// ValidGUID reports whether s is a valid process or task guid.
func ValidGUID(s string) bool { return len(s) <= MaxGUIDLength && guidPattern.MatchString(s) }

// DesiredLRP is the consumer's intent for a long-running process.
type DesiredLRP struct {
	ProcessGUID    string            `json:"process_guid"`
	Domain         string            `json:"domain,omitempty"`
	LogGUID        string            `json:"log_guid,omitempty"`
	Instances      int               `json:"instances"`
	MemoryMB       int               `json:"memory_mb"`
	DiskMB         int               `json:"disk_mb"`
	CPUWeight      int               `json:"cpu_weight,omitempty"`
	MaxPids        int               `json:"max_pids,omitempty"`
	RootFS         string            `json:"rootfs,omitempty"`
	Env            map[string]string `json:"env,omitempty"`
	Setup          *Action           `json:"setup,omitempty"`
	Action         *Action           `json:"action"`
	Ports          []uint16          `json:"ports,omitempty"`
	Routes         []string          `json:"routes,omitempty"`
	HealthCheck    *HealthCheck      `json:"health_check,omitempty"`
	StartTimeoutMS int64             `json:"start_timeout_ms,omitempty"`
	PlacementTags  []string          `json:"placement_tags,omitempty"`
	Annotation     string            `json:"annotation,omitempty"`
	LogSource      string            `json:"log_source,omitempty"`
	// ModificationTag is set by the store; a submitted value is ignored.
	ModificationTag ModificationTag `json:"modification_tag"`
}

// Normalize fills in defaults that do not depend on the node: rootfs, domain,
// log guid. It is applied before validation and storage.
func (d *DesiredLRP) Normalize() {
	normalizeCommon(&d.RootFS, &d.Domain, &d.LogGUID, d.ProcessGUID)
}

// normalizeCommon fills the defaults LRPs and tasks share.
func normalizeCommon(rootfs, domain, logGUID *string, guid string) {
	if *rootfs == "" {
		*rootfs = DefaultRootFS
	}
	if *domain == "" {
		*domain = "default"
	}
	if *logGUID == "" {
		*logGUID = guid
	}
}

// validateIdentity checks a guid field and the domain.
func validateIdentity(v *ValidationError, field, guid, domain string) {
	if guid == "" {
		v.add("%s: required", field)
	} else if !ValidGUID(guid) {
		v.add("%s: %q must match ^[a-zA-Z0-9_-]+$ (at most %d characters)", field, guid, MaxGUIDLength)
	}
	if domain != "" && !ValidGUID(domain) {
		v.add("domain: %q must match ^[a-zA-Z0-9_-]+$", domain)
	}
}

// Resources is what one instance reserves on a cell.
func (d *DesiredLRP) Resources() Resources {
	return Resources{MemoryMB: d.MemoryMB, DiskMB: d.DiskMB, Containers: 1}
}

// Validate checks the spec and returns an *Error with CodeInvalidRequest
// listing every problem, or nil.
func (d *DesiredLRP) Validate() error {
	v := &ValidationError{}
	validateIdentity(v, "process_guid", d.ProcessGUID, d.Domain)
	validateCount(v, "instances", d.Instances, MaxInstances)
	validateRun(v, runFields{d.MemoryMB, d.DiskMB, d.CPUWeight, d.MaxPids, d.RootFS, d.Action,
		d.Annotation, d.PlacementTags, d.Env})
	if d.Setup != nil {
		d.Setup.validate("setup", 0, v)
	}
	if len(d.Ports) > MaxPorts {
		v.add("ports: at most %d", MaxPorts)
	}
	seen := map[uint16]bool{}
	for _, p := range d.Ports {
		if p == 0 {
			v.add("ports: 0 is not a port")
		}
		if seen[p] {
			v.add("ports: %d listed twice", p)
		}
		seen[p] = true
	}
	validateRoutes(v, d.Routes, len(d.Ports))
	if d.HealthCheck != nil {
		d.HealthCheck.validate(d.Ports, v)
	}
	if d.StartTimeoutMS < 0 {
		v.add("start_timeout_ms: must be >= 0 (0 means no limit)")
	}
	return v.orNil()
}

// runFields are the fields LRPs and tasks share and validate alike.
type runFields struct {
	memoryMB, diskMB, cpuWeight, maxPids int
	rootfs                               string
	action                               *Action
	annotation                           string
	placementTags                        []string
	env                                  map[string]string
}

// validateRun checks the run fields of an LRP or a task.
func validateRun(v *ValidationError, r runFields) {
	validateCount(v, "memory_mb", r.memoryMB, MaxMemoryMB)
	validateCount(v, "disk_mb", r.diskMB, MaxDiskMB)
	validateCount(v, "cpu_weight", r.cpuWeight, MaxCPUWeight)
	validateCount(v, "max_pids", r.maxPids, MaxPids)
	validateRootFS(v, r.rootfs)
	if r.action == nil {
		v.add("action: required")
	} else {
		r.action.validate("action", 0, v)
	}
	if len(r.annotation) > MaxAnnotationSize {
		v.add("annotation: %d bytes, at most %d", len(r.annotation), MaxAnnotationSize)
	}
	for _, t := range r.placementTags {
		if t == "" {
			v.add("placement_tags: empty tag")
		}
	}
	for k := range r.env {
		if k == "" || strings.Contains(k, "=") {
			v.add("env: %q is not a variable name", k)
		}
	}
}

func validateCount(v *ValidationError, field string, n, max int) {
	if n < 0 {
		v.add("%s: %d is negative", field, n)
	} else if n > max {
		v.add("%s: %d is more than the limit of %d", field, n, max)
	}
}

func validateRootFS(v *ValidationError, rootfs string) {
	switch {
	case rootfs == "", rootfs == DefaultRootFS:
	case strings.HasPrefix(rootfs, "docker://"), strings.HasPrefix(rootfs, "preloaded:"),
		strings.HasPrefix(rootfs, "droplet:"):
	default:
		v.add("rootfs: %q is not host, docker://IMAGE, preloaded:NAME or droplet:NAME", rootfs)
	}
}

func validateRoutes(v *ValidationError, routes []string, ports int) {
	size := 0
	for _, r := range routes {
		size += len(r)
		if !ValidHostname(r) {
			v.add("routes: %q is not a hostname (wildcards only as a leading *.)", r)
		}
	}
	if size > MaxRoutesSize {
		v.add("routes: %d bytes, at most %d", size, MaxRoutesSize)
	}
	if len(routes) > 0 && ports == 0 {
		v.add("routes: need at least one port to route to")
	}
}

// ValidHostname reports whether h is a hostname a route may name: labels of
// letters, digits and hyphens, optionally starting with a "*." wildcard.
func ValidHostname(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// DesiredLRPUpdate changes the mutable part of a DesiredLRP: instances,
// routes and annotation. Nil fields stay as they are.
type DesiredLRPUpdate struct {
	Instances  *int      `json:"instances,omitempty"`
	Routes     *[]string `json:"routes,omitempty"`
	Annotation *string   `json:"annotation,omitempty"`
}

// Validate checks the update against the LRP it applies to.
func (u *DesiredLRPUpdate) Validate(ports int) error {
	v := &ValidationError{}
	if u.Instances != nil {
		validateCount(v, "instances", *u.Instances, MaxInstances)
	}
	if u.Routes != nil {
		validateRoutes(v, *u.Routes, ports)
	}
	if u.Annotation != nil && len(*u.Annotation) > MaxAnnotationSize {
		v.add("annotation: %d bytes, at most %d", len(*u.Annotation), MaxAnnotationSize)
	}
	return v.orNil()
}

// Apply returns a copy of d with the update applied.
func (u *DesiredLRPUpdate) Apply(d DesiredLRP) DesiredLRP {
	if u.Instances != nil {
		d.Instances = *u.Instances
	}
	if u.Routes != nil {
		d.Routes = append([]string(nil), (*u.Routes)...)
	}
	if u.Annotation != nil {
		d.Annotation = *u.Annotation
	}
	return d
}
