package routing

import (
	"reflect"
	"testing"

	"github.com/diegod/diegod/model"
)

func row(guid string, index int, state model.ActualLRPState, presence model.Presence, addr string, hostPort uint16, instAddr string) model.ActualLRP {
	a := model.ActualLRP{
		ActualLRPKey: model.ActualLRPKey{ProcessGUID: guid, Index: index},
		State:        state,
		Presence:     presence,
	}
	if state == model.StateClaimed || state == model.StateRunning {
		a.InstanceGUID = guid + "-" + string(presence) + "-" + string(rune('0'+index))
		a.CellID = "cell-" + addr
	}
	if state == model.StateRunning {
		a.Address = addr
		a.InstanceAddress = instAddr
		if hostPort != 0 {
			a.Ports = []model.PortMapping{{ContainerPort: 8080, HostPort: hostPort}, {ContainerPort: 9090, HostPort: hostPort + 1}}
		}
	}
	return a
}

// addresses returns the endpoint addresses behind host, or nil when the host
// has no route.
func addresses(t *Table, host string) []string {
	p := t.Lookup(host)
	if p == nil {
		return nil
	}
	out := []string{}
	for _, ep := range p.Endpoints {
		out = append(out, ep.Address)
	}
	return out
}

func TestBuild(t *testing.T) {
	const local = "10.0.0.1"
	web := desiredLRP("web", 3, "web.home")
	tests := []struct {
		name    string
		desired []model.DesiredLRP
		actuals []model.ActualLRP
		host    string
		want    []string // nil: no route
	}{
		{
			name:    "running ordinary row on another node uses host address and mapped port",
			desired: []model.DesiredLRP{web},
			actuals: []model.ActualLRP{row("web", 0, model.StateRunning, model.PresenceOrdinary, "10.0.0.2", 61000, "172.16.0.5")},
			host:    "web.home",
			want:    []string{"10.0.0.2:61000"},
		},
		{
			name:    "every presence of a running row is routed",
			desired: []model.DesiredLRP{web},
			actuals: []model.ActualLRP{
				row("web", 0, model.StateRunning, model.PresenceOrdinary, "10.0.0.2", 61000, ""),
				row("web", 0, model.StateRunning, model.PresenceEvacuating, "10.0.0.3", 61000, ""),
				row("web", 1, model.StateRunning, model.PresenceSuspect, "10.0.0.4", 61002, ""),
			},
			host: "web.home",
			// Sorted by process, index, then instance guid.
			want: []string{"10.0.0.3:61000", "10.0.0.2:61000", "10.0.0.4:61002"},
		},
		{
			name:    "rows that are not running are not routed; the route stays with an empty pool",
			desired: []model.DesiredLRP{web},
			actuals: []model.ActualLRP{
				row("web", 0, model.StateUnclaimed, model.PresenceOrdinary, "", 0, ""),
				row("web", 1, model.StateClaimed, model.PresenceOrdinary, "10.0.0.2", 0, ""),
				row("web", 2, model.StateCrashed, model.PresenceOrdinary, "", 0, ""),
			},
			host: "web.home",
			want: []string{},
		},
		{
			name:    "a claimed row with stale net info is not routed",
			desired: []model.DesiredLRP{web},
			actuals: []model.ActualLRP{func() model.ActualLRP {
				a := row("web", 0, model.StateRunning, model.PresenceOrdinary, "10.0.0.2", 61000, "")
				a.State = model.StateClaimed
				return a
			}()},
			host: "web.home",
			want: []string{},
		},
		{
			name:    "same node with its own container address is dialled directly on the container port",
			desired: []model.DesiredLRP{web},
			actuals: []model.ActualLRP{row("web", 0, model.StateRunning, model.PresenceOrdinary, local, 61000, "172.16.0.5")},
			host:    "web.home",
			want:    []string{"172.16.0.5:8080"},
		},
		{
			name:    "same node whose instance address is the host address uses the mapped port",
			desired: []model.DesiredLRP{web},
			actuals: []model.ActualLRP{row("web", 0, model.StateRunning, model.PresenceOrdinary, local, 61000, local)},
			host:    "web.home",
			want:    []string{local + ":61000"},
		},
		{
			name:    "same node without instance address uses the mapped port",
			desired: []model.DesiredLRP{web},
			actuals: []model.ActualLRP{row("web", 0, model.StateRunning, model.PresenceOrdinary, local, 61000, "")},
			host:    "web.home",
			want:    []string{local + ":61000"},
		},
		{
			name:    "a row whose first port has no host port is skipped",
			desired: []model.DesiredLRP{web},
			actuals: []model.ActualLRP{row("web", 0, model.StateRunning, model.PresenceOrdinary, "10.0.0.2", 0, "")},
			host:    "web.home",
			want:    []string{},
		},
		{
			name:    "the first port of the LRP is routed",
			desired: []model.DesiredLRP{{ProcessGUID: "web", Ports: []uint16{9090, 8080}, Routes: []string{"web.home"}}},
			actuals: []model.ActualLRP{row("web", 0, model.StateRunning, model.PresenceOrdinary, "10.0.0.2", 61000, "")},
			host:    "web.home",
			want:    []string{"10.0.0.2:61001"},
		},
		{
			name:    "an LRP without routes is not routed",
			desired: []model.DesiredLRP{desiredLRP("web", 1)},
			actuals: []model.ActualLRP{row("web", 0, model.StateRunning, model.PresenceOrdinary, "10.0.0.2", 61000, "")},
			host:    "web.home",
			want:    nil,
		},
		{
			name:    "rows without a desired LRP are not routed",
			actuals: []model.ActualLRP{row("web", 0, model.StateRunning, model.PresenceOrdinary, "10.0.0.2", 61000, "")},
			host:    "web.home",
			want:    nil,
		},
		{
			name: "two LRPs on one hostname share the pool; routes are case-insensitive and deduplicated",
			desired: []model.DesiredLRP{
				desiredLRP("blue", 1, "App.Home", "app.home"),
				desiredLRP("green", 1, "app.home."),
			},
			actuals: []model.ActualLRP{
				row("blue", 0, model.StateRunning, model.PresenceOrdinary, "10.0.0.2", 61000, ""),
				row("green", 0, model.StateRunning, model.PresenceOrdinary, "10.0.0.3", 61000, ""),
			},
			host: "APP.home",
			want: []string{"10.0.0.2:61000", "10.0.0.3:61000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := Build(Snapshot{Index: 7, Desired: tt.desired, Actuals: tt.actuals}, local)
			got := addresses(tab, tt.host)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("endpoints of %s: got %v, want %v", tt.host, got, tt.want)
			}
			if tab.Index() != 7 {
				t.Errorf("Index: got %d, want 7", tab.Index())
			}
		})
	}
}

func TestBuildEndpointFields(t *testing.T) {
	a := row("web", 2, model.StateRunning, model.PresenceSuspect, "10.0.0.2", 61000, "")
	a.ModificationTag = model.ModificationTag{Epoch: "ep", Index: 4}
	tab := Build(Snapshot{Desired: []model.DesiredLRP{desiredLRP("web", 3, "web.home")}, Actuals: []model.ActualLRP{a}}, "")
	p := tab.Lookup("web.home")
	if p == nil || len(p.Endpoints) != 1 {
		t.Fatalf("pool: got %+v, want one endpoint", p)
	}
	got := *p.Endpoints[0]
	want := Endpoint{
		ProcessGUID: "web", Index: 2, InstanceGUID: a.InstanceGUID, CellID: a.CellID,
		Presence: model.PresenceSuspect, Address: "10.0.0.2:61000", ModificationTag: a.ModificationTag,
		key: a.InstanceGUID + "@10.0.0.2:61000", indexStr: "2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("endpoint: got %+v, want %+v", got, want)
	}
	if tab.Len() != 1 || tab.EndpointCount() != 1 {
		t.Errorf("Len, EndpointCount: got %d, %d, want 1, 1", tab.Len(), tab.EndpointCount())
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	s := Snapshot{
		Desired: []model.DesiredLRP{desiredLRP("a", 2, "x.home", "*.apps.home"), desiredLRP("b", 1, "x.home")},
		Actuals: []model.ActualLRP{
			row("b", 0, model.StateRunning, model.PresenceOrdinary, "10.0.0.9", 61000, ""),
			row("a", 1, model.StateRunning, model.PresenceOrdinary, "10.0.0.3", 61000, ""),
			row("a", 0, model.StateRunning, model.PresenceOrdinary, "10.0.0.2", 61000, ""),
		},
	}
	first := Build(s, "").Routes()
	// The same rows in another order build the same table.
	s.Actuals[0], s.Actuals[2] = s.Actuals[2], s.Actuals[0]
	second := Build(s, "").Routes()
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("routes differ:\n%+v\n%+v", first, second)
	}
	if len(first) != 2 || first[0].Host != "*.apps.home" || first[1].Host != "x.home" || len(first[1].Endpoints) != 3 {
		t.Fatalf("routes: got %+v", first)
	}
}

func TestLookup(t *testing.T) {
	tab := Build(Snapshot{
		Desired: []model.DesiredLRP{
			desiredLRP("exact", 1, "api.apps.home"),
			desiredLRP("wild", 1, "*.apps.home"),
			desiredLRP("deep", 1, "*.x.apps.home"),
			desiredLRP("v6", 1, "plain.home"),
		},
	}, "")
	tests := []struct {
		host string
		want string // pool host, "" = no route
	}{
		{"api.apps.home", "api.apps.home"},
		{"API.Apps.Home:8080", "api.apps.home"},
		{"api.apps.home.", "api.apps.home"},
		{"foo.apps.home", "*.apps.home"},
		{"Foo.APPS.home:80", "*.apps.home"},
		{"a.b.apps.home", "*.apps.home"},
		{"a.x.apps.home", "*.x.apps.home"},
		{"x.apps.home", "*.apps.home"},
		{"apps.home", ""},
		{"home", ""},
		{"other.home", ""},
		{"plain.home", "plain.home"},
		{"[::1]:8080", ""},
		{"", ""},
	}
	for _, tt := range tests {
		p := tab.Lookup(tt.host)
		got := ""
		if p != nil {
			got = p.Host
		}
		if got != tt.want {
			t.Errorf("Lookup(%q): got %q, want %q", tt.host, got, tt.want)
		}
	}
	var nilTable *Table
	if nilTable.Lookup("x") != nil || nilTable.Len() != 0 || nilTable.Routes() != nil {
		t.Errorf("nil table is not empty")
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM":       "example.com",
		"example.com:8080":  "example.com",
		"example.com.":      "example.com",
		"[2001:DB8::1]:443": "2001:db8::1",
		"[::1]":             "::1",
	} {
		if got := normalizeHost(in); got != want {
			t.Errorf("normalizeHost(%q): got %q, want %q", in, got, want)
		}
	}
}
