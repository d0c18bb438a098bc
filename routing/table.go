package routing

import (
	"cmp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/diegod/diegod/model"
)

// Endpoint is one routable instance: a RUNNING ActualLRP row of a DesiredLRP
// with routes, and the address the router dials to reach its first port.
type Endpoint struct {
	ProcessGUID  string         `json:"process_guid"`
	Index        int            `json:"index"`
	InstanceGUID string         `json:"instance_guid"`
	CellID       string         `json:"cell_id"`
	Presence     model.Presence `json:"presence"`
	// Address is host:port: the cell's address and the host port mapped to
	// the first container port, or the container's own address and port
	// when the instance runs on this node (Direct).
	Address         string                `json:"address"`
	Direct          bool                  `json:"direct,omitempty"`
	ModificationTag model.ModificationTag `json:"modification_tag"`

	// key identifies the endpoint's runtime state (active requests,
	// cool-off) across table rebuilds: instance_guid@address.
	key string
	// indexStr is Index formatted once for the X-CF-InstanceIndex header.
	indexStr string
}

// Pool is the set of endpoints behind one route (an exact hostname or a
// "*.suffix" wildcard). Its fields never change after Build; the only
// mutable part is the round-robin cursor.
type Pool struct {
	// Host is the route as listed in the DesiredLRP, lower-cased.
	Host string
	// Endpoints are sorted by process guid, index and instance guid. An
	// empty pool means the route exists but nothing is RUNNING (503).
	Endpoints []*Endpoint

	cursor atomic.Uint64 // round-robin position; 0 = not started yet
	mixed  bool          // Build: endpoints of several processes, to sort
}

// Table is an immutable route table: hostnames (exact or wildcard) to pools.
// A nil *Table is an empty table.
type Table struct {
	index     uint64
	exact     map[string]*Pool
	wildcard  map[string]*Pool // keyed by the suffix after "*."
	processes map[string]struct{}
	keys      map[string]struct{}
	addrs     map[string]struct{}
	endpoints int
}

// Build returns the route table for a snapshot. localAddress is this node's
// host address as cells report it in net info: an instance on this node
// whose container has its own address is dialled directly at that address
// and the container port. Build is pure: no clock, no randomness, no I/O.
func Build(s Snapshot, localAddress string) *Table {
	// Pools of every routed LRP, by process guid.
	routed := make(map[string]*routedLRP, len(s.Desired))
	nRoutes := 0
	for i := range s.Desired {
		if d := &s.Desired[i]; len(d.Routes) > 0 && len(d.Ports) > 0 {
			nRoutes += len(d.Routes)
		}
	}
	t := &Table{
		index:     s.Index,
		exact:     make(map[string]*Pool, nRoutes),
		wildcard:  map[string]*Pool{},
		processes: make(map[string]struct{}, len(s.Desired)),
	}
	poolSlab := make([]Pool, 0, nRoutes)
	for i := range s.Desired {
		d := &s.Desired[i]
		if len(d.Routes) == 0 || len(d.Ports) == 0 {
			continue
		}
		t.processes[d.ProcessGUID] = struct{}{}
		r := routed[d.ProcessGUID]
		if r == nil {
			r = &routedLRP{port: d.Ports[0]}
			routed[d.ProcessGUID] = r
		}
		for j, route := range d.Routes {
			host := normalizeRoute(route)
			if host == "" || seenBefore(d.Routes[:j], host) {
				continue
			}
			m, key := t.exact, host
			if strings.HasPrefix(host, "*.") {
				m, key = t.wildcard, host[2:]
			}
			p := m[key]
			if p == nil {
				poolSlab = poolSlab[:len(poolSlab)+1]
				p = &poolSlab[len(poolSlab)-1]
				p.Host = host
				m[key] = p
			}
			r.pools = append(r.pools, p)
		}
	}

	// One endpoint per routable RUNNING row, in one slab, sorted by
	// process, index and key (cheap: the store lists rows in that order).
	n := 0
	for i := range s.Actuals {
		if a := &s.Actuals[i]; a.State == model.StateRunning && routed[a.ProcessGUID] != nil {
			n++
		}
	}
	slab := make([]Endpoint, 0, n)
	for i := range s.Actuals {
		a := &s.Actuals[i]
		if a.State != model.StateRunning {
			continue
		}
		r := routed[a.ProcessGUID]
		if r == nil {
			continue
		}
		slab = slab[:len(slab)+1]
		if !fillEndpoint(&slab[len(slab)-1], a, r.port, localAddress) {
			slab = slab[:len(slab)-1]
		}
	}
	eps := make([]*Endpoint, len(slab))
	for i := range slab {
		eps[i] = &slab[i]
	}
	slices.SortFunc(eps, compareEndpoints)

	// Each process's run of endpoints goes to each of its pools: shared
	// (clipped) when the pool is the process's alone, appended otherwise.
	var mixed []*Pool
	for i := 0; i < len(eps); {
		j := i + 1
		for j < len(eps) && eps[j].ProcessGUID == eps[i].ProcessGUID {
			j++
		}
		run := eps[i:j:j]
		for _, p := range routed[eps[i].ProcessGUID].pools {
			if p.Endpoints == nil {
				p.Endpoints = run
				continue
			}
			if !p.mixed {
				p.mixed = true
				mixed = append(mixed, p)
			}
			p.Endpoints = append(p.Endpoints, run...)
		}
		i = j
	}
	for _, p := range mixed {
		slices.SortFunc(p.Endpoints, compareEndpoints)
	}
	t.keys = make(map[string]struct{}, len(eps))
	t.addrs = make(map[string]struct{}, len(eps))
	for _, ep := range eps {
		t.keys[ep.key] = struct{}{}
		t.addrs[ep.Address] = struct{}{}
	}
	for i := range poolSlab {
		t.endpoints += len(poolSlab[i].Endpoints)
	}
	return t
}

// routedLRP is what Build needs of a DesiredLRP with routes.
type routedLRP struct {
	port  uint16
	pools []*Pool
}

func compareEndpoints(a, b *Endpoint) int {
	if c := strings.Compare(a.ProcessGUID, b.ProcessGUID); c != 0 {
		return c
	}
	if a.Index != b.Index {
		return cmp.Compare(a.Index, b.Index)
	}
	return strings.Compare(a.key, b.key)
}

// fillEndpoint fills ep for a RUNNING row and reports whether the first
// port is reachable.
func fillEndpoint(ep *Endpoint, a *model.ActualLRP, port uint16, localAddress string) bool {
	host := a.Address
	switch {
	case localAddress != "" && a.Address == localAddress &&
		a.InstanceAddress != "" && a.InstanceAddress != a.Address:
		host = a.InstanceAddress
		ep.Direct = true
	case a.Address != "":
		port = a.HostPort(port)
		if port == 0 {
			return false
		}
	default:
		return false
	}
	ep.ProcessGUID = a.ProcessGUID
	ep.Index = a.Index
	ep.InstanceGUID = a.InstanceGUID
	ep.CellID = a.CellID
	ep.Presence = a.Presence
	ep.ModificationTag = a.ModificationTag
	ep.indexStr = strconv.Itoa(a.Index)
	// key = instance_guid@host:port, and Address is its tail: one string.
	var b strings.Builder
	b.Grow(len(a.InstanceGUID) + len(host) + 9)
	b.WriteString(a.InstanceGUID)
	b.WriteByte('@')
	if strings.IndexByte(host, ':') >= 0 {
		b.WriteByte('[')
		b.WriteString(host)
		b.WriteByte(']')
	} else {
		b.WriteString(host)
	}
	b.WriteByte(':')
	var num [5]byte
	b.Write(strconv.AppendUint(num[:0], uint64(port), 10))
	ep.key = b.String()
	ep.Address = ep.key[len(a.InstanceGUID)+1:]
	return true
}

func seenBefore(routes []string, host string) bool {
	for _, r := range routes {
		if normalizeRoute(r) == host {
			return true
		}
	}
	return false
}

// normalizeRoute lower-cases a route and drops a trailing dot.
func normalizeRoute(r string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(r)), ".")
}

// normalizeHost turns a request's Host into a table key: the port is
// dropped, letters are lower-cased, a trailing dot is removed.
func normalizeHost(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			host = host[1:i]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	return strings.ToLower(host)
}

// Lookup returns the pool serving host (a request's Host, with or without a
// port), or nil when no route matches. An exact route wins over wildcards;
// among wildcards the longest suffix wins ("*.a.b.c" before "*.b.c").
// "*.apps.home" matches "x.apps.home" and "y.x.apps.home", not "apps.home".
func (t *Table) Lookup(host string) *Pool {
	if t == nil {
		return nil
	}
	h := normalizeHost(host)
	if h == "" {
		return nil
	}
	if p := t.exact[h]; p != nil {
		return p
	}
	if len(t.wildcard) == 0 {
		return nil
	}
	for i := strings.IndexByte(h, '.'); i >= 0; {
		suffix := h[i+1:]
		if p := t.wildcard[suffix]; p != nil {
			return p
		}
		j := strings.IndexByte(suffix, '.')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return nil
}

// Index returns the snapshot index the table was built from.
func (t *Table) Index() uint64 {
	if t == nil {
		return 0
	}
	return t.index
}

// Len returns the number of routes (exact and wildcard hostnames).
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.exact) + len(t.wildcard)
}

// EndpointCount returns the number of (route, endpoint) pairs.
func (t *Table) EndpointCount() int {
	if t == nil {
		return 0
	}
	return t.endpoints
}

// routesProcess reports whether the process has routes in the table (even
// with no RUNNING instance).
func (t *Table) routesProcess(guid string) bool {
	if t == nil {
		return false
	}
	_, ok := t.processes[guid]
	return ok
}

// hasKey reports whether an endpoint with this runtime key is in the table.
func (t *Table) hasKey(key string) bool {
	if t == nil {
		return false
	}
	_, ok := t.keys[key]
	return ok
}

// Route is one line of the route listing (`diegod routes`).
type Route struct {
	Host      string     `json:"host"`
	Endpoints []Endpoint `json:"endpoints"`
}

// Routes lists the table sorted by host, for display. The endpoints are
// copies.
func (t *Table) Routes() []Route {
	if t == nil {
		return nil
	}
	out := make([]Route, 0, t.Len())
	add := func(p *Pool) {
		r := Route{Host: p.Host, Endpoints: make([]Endpoint, 0, len(p.Endpoints))}
		for _, ep := range p.Endpoints {
			r.Endpoints = append(r.Endpoints, *ep)
		}
		out = append(out, r)
	}
	for _, p := range t.exact {
		add(p)
	}
	for _, p := range t.wildcard {
		add(p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

// hasAddress reports whether some endpoint in the table has this address.
func (t *Table) hasAddress(addr string) bool {
	if t == nil {
		return false
	}
	_, ok := t.addrs[addr]
	return ok
}
