package cell

import (
	"reflect"
	"testing"

	"github.com/diegod/diegod/model"
)

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				m[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	return m
}

func TestInstanceEnv(t *testing.T) {
	r := model.ActualLRP{
		ActualLRPKey:         model.ActualLRPKey{ProcessGUID: "web", Index: 2},
		ActualLRPInstanceKey: model.ActualLRPInstanceKey{InstanceGUID: "ig", CellID: "c"},
	}
	d := model.DesiredLRP{ProcessGUID: "web", Ports: []uint16{8080, 9090}, Env: map[string]string{"GREETING": "hi"}}
	net := model.ActualLRPNetInfo{Address: "192.168.1.5", InstanceAddress: "10.1.0.7",
		Ports: []model.PortMapping{{ContainerPort: 8080, HostPort: 61001}, {ContainerPort: 9090, HostPort: 61002}}}
	got := envMap(InstanceEnv(r, d, net))
	want := map[string]string{
		"PORT":                    "8080",
		"INSTANCE_INDEX":          "2",
		"INSTANCE_GUID":           "ig",
		"CF_INSTANCE_INDEX":       "2",
		"CF_INSTANCE_GUID":        "ig",
		"CF_INSTANCE_IP":          "192.168.1.5",
		"CF_INSTANCE_INTERNAL_IP": "10.1.0.7",
		"CF_INSTANCE_PORT":        "61001",
		"CF_INSTANCE_ADDR":        "192.168.1.5:61001",
		"CF_INSTANCE_PORTS":       `[{"external":61001,"internal":8080},{"external":61002,"internal":9090}]`,
		"GREETING":                "hi",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("env:\n got  %v\n want %v", got, want)
	}
	spec := containerSpec(r, d)
	if spec.ID != "ig" || spec.Labels[LabelKind] != "lrp" || spec.Labels[LabelIndex] != "2" || spec.Labels[LabelProcessGUID] != "web" {
		t.Fatalf("container spec: %+v", spec)
	}
}
