package runc

import (
	"fmt"
	"strings"

	"github.com/moby/sys/user"
)

// execUser is a resolved ProcessSpec.User.
type execUser struct {
	UID, GID int
	Groups   []int
	Name     string
}

// resolveUser resolves name ("name", "uid", "uid:gid", "name:group") against
// the rootfs's user database. "vcap" missing from it maps to DefaultVcapID.
func resolveUser(fs rootFS, name string) (execUser, error) {
	u, err := user.GetExecUserPath(name, &user.ExecUser{}, fs.PasswdPath(), fs.GroupPath())
	if err != nil {
		if name == "vcap" || name == "vcap:vcap" {
			return execUser{UID: DefaultVcapID, GID: DefaultVcapID, Name: "vcap"}, nil
		}
		return execUser{}, fmt.Errorf("%w: %q: %v", ErrUnknownUser, name, err)
	}
	n := name
	if i := strings.IndexByte(n, ':'); i >= 0 {
		n = n[:i]
	}
	return execUser{UID: u.Uid, GID: u.Gid, Groups: u.Sgids, Name: n}, nil
}
