package node

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/diegod/diegod/model"
)

// machineCapacity returns what the node offers: the flags when set,
// otherwise the machine's total memory and the free disk of the data dir,
// and Diego's 250 containers.
func machineCapacity(cfg Config) model.Resources {
	r := model.Resources{MemoryMB: cfg.MemoryMB, DiskMB: cfg.DiskMB, Containers: cfg.MaxContainers}
	if r.MemoryMB == 0 {
		r.MemoryMB = memTotalMB()
	}
	if r.DiskMB == 0 {
		var st syscall.Statfs_t
		if syscall.Statfs(cfg.DataDir, &st) == nil {
			r.DiskMB = int(st.Bavail * uint64(st.Bsize) / (1 << 20))
		}
	}
	if r.Containers == 0 {
		r.Containers = model.DefaultMaxContainers
	}
	return r
}

func memTotalMB() int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 1024
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.Atoi(fields[1])
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 1024
}
