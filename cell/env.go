package cell

import (
	"encoding/json"
	"net"
	"strconv"

	"github.com/diegod/diegod/lifecycle"
	"github.com/diegod/diegod/model"
)

// EnvProcessRole is set on processes the cell runs for itself rather than
// for the app; ProcessRoleHealthCheck marks exec health checks. The fake
// runtime uses it to tell a health check from the app's main process.
const (
	EnvProcessRole         = "DIEGOD_PROCESS_ROLE"
	ProcessRoleHealthCheck = "healthcheck"
)

// LabelKindLRP is the kind label of an LRP container.
const LabelKindLRP = "lrp"

// containerSpec is the container an instance runs in.
func containerSpec(row model.ActualLRP, d model.DesiredLRP) ContainerSpec {
	return ContainerSpec{
		ID: row.InstanceGUID,
		Labels: map[string]string{
			LabelProcessGUID:  row.ProcessGUID,
			LabelIndex:        strconv.Itoa(row.Index),
			LabelInstanceGUID: row.InstanceGUID,
			LabelKind:         LabelKindLRP,
		},
		RootFS: d.RootFS,
		Limits: Limits{MemoryMB: d.MemoryMB, DiskMB: d.DiskMB, CPUWeight: d.CPUWeight, MaxPids: d.MaxPids},
		Ports:  append([]uint16(nil), d.Ports...),
		Env:    lifecycle.MergeEnv(identityEnv(row), lifecycle.EnvFromMap(d.Env)),
	}
}

// identityEnv is the injected env known before the container exists.
func identityEnv(row model.ActualLRP) []string {
	idx := strconv.Itoa(row.Index)
	return []string{
		"INSTANCE_INDEX=" + idx,
		"INSTANCE_GUID=" + row.InstanceGUID,
		"CF_INSTANCE_INDEX=" + idx,
		"CF_INSTANCE_GUID=" + row.InstanceGUID,
	}
}

// portJSON is one entry of CF_INSTANCE_PORTS, in Diego's format.
type portJSON struct {
	External uint16 `json:"external"`
	Internal uint16 `json:"internal"`
}

// InstanceEnv returns the environment Diego injects into an instance's
// processes (spec §6.2): PORT (the first container port), INSTANCE_INDEX,
// INSTANCE_GUID, CF_INSTANCE_{INDEX,GUID,IP,INTERNAL_IP,PORT,ADDR,PORTS},
// then the LRP's own env (which may override them). A run action's env
// comes on top of this.
func InstanceEnv(row model.ActualLRP, d model.DesiredLRP, net model.ActualLRPNetInfo) []string {
	env := identityEnv(row)
	env = append(env, "CF_INSTANCE_IP="+net.Address, "CF_INSTANCE_INTERNAL_IP="+net.InstanceAddress)
	ports := make([]portJSON, 0, len(net.Ports))
	for _, p := range net.Ports {
		ports = append(ports, portJSON{External: p.HostPort, Internal: p.ContainerPort})
	}
	b, _ := json.Marshal(ports)
	env = append(env, "CF_INSTANCE_PORTS="+string(b))
	if len(d.Ports) > 0 {
		first := d.Ports[0]
		env = append(env, "PORT="+strconv.Itoa(int(first)))
		if hp := net.HostPort(first); hp != 0 {
			env = append(env,
				"CF_INSTANCE_PORT="+strconv.Itoa(int(hp)),
				"CF_INSTANCE_ADDR="+joinHostPort(net.Address, hp))
		}
	}
	return lifecycle.MergeEnv(env, lifecycle.EnvFromMap(d.Env))
}

func joinHostPort(host string, port uint16) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}
