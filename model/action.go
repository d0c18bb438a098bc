package model

import "fmt"

// Action is one node of Diego's action tree. Exactly one field is set.
type Action struct {
	Run         *RunAction      `json:"run,omitempty"`
	Download    *DownloadAction `json:"download,omitempty"`
	Serial      []Action        `json:"serial,omitempty"`
	Parallel    []Action        `json:"parallel,omitempty"`
	Codependent []Action        `json:"codependent,omitempty"`
	Timeout     *TimeoutAction  `json:"timeout,omitempty"`
	Try         *TryAction      `json:"try,omitempty"`
}

// RunAction runs a process in the container.
type RunAction struct {
	Path              string            `json:"path"`
	Args              []string          `json:"args,omitempty"`
	Dir               string            `json:"dir,omitempty"`
	Env               map[string]string `json:"env,omitempty"`
	User              string            `json:"user,omitempty"`
	LogSource         string            `json:"log_source,omitempty"`
	SuppressLogOutput bool              `json:"suppress_log_output,omitempty"`
	Nofile            uint64            `json:"nofile,omitempty"`
}

// DownloadAction fetches an archive (tar, tgz or zip) from From and unpacks
// it at To inside the container.
type DownloadAction struct {
	From              string `json:"from"`
	To                string `json:"to"`
	CacheKey          string `json:"cache_key,omitempty"`
	ChecksumAlgorithm string `json:"checksum_algorithm,omitempty"`
	ChecksumValue     string `json:"checksum_value,omitempty"`
	User              string `json:"user,omitempty"`
}

// TimeoutAction fails its child when it runs longer than TimeoutMS.
type TimeoutAction struct {
	Action    Action `json:"action"`
	TimeoutMS int64  `json:"timeout_ms"`
}

// TryAction runs its child and swallows its error.
type TryAction struct {
	Action Action `json:"action"`
}

// maxActionDepth bounds the nesting of an action tree.
const maxActionDepth = 16

func (a *Action) kinds() int {
	n := 0
	for _, set := range []bool{a.Run != nil, a.Download != nil, a.Serial != nil, a.Parallel != nil,
		a.Codependent != nil, a.Timeout != nil, a.Try != nil} {
		if set {
			n++
		}
	}
	return n
}

// Walk calls fn on a and every action below it, depth first.
func (a *Action) Walk(fn func(*Action)) {
	if a == nil {
		return
	}
	fn(a)
	for _, list := range [][]Action{a.Serial, a.Parallel, a.Codependent} {
		for i := range list {
			list[i].Walk(fn)
		}
	}
	if a.Timeout != nil {
		a.Timeout.Action.Walk(fn)
	}
	if a.Try != nil {
		a.Try.Action.Walk(fn)
	}
}

// FirstRun returns the first run action of the tree, depth first, or nil.
func (a *Action) FirstRun() *RunAction {
	var found *RunAction
	a.Walk(func(x *Action) {
		if found == nil && x.Run != nil {
			found = x.Run
		}
	})
	return found
}

func (a *Action) validate(path string, depth int, v *ValidationError) {
	if depth > maxActionDepth {
		v.add("%s: action tree deeper than %d", path, maxActionDepth)
		return
	}
	switch n := a.kinds(); {
	case n == 0:
		v.add("%s: must have one of run, download, serial, parallel, codependent, timeout, try", path)
		return
	case n > 1:
		v.add("%s: has %d action kinds; exactly one is allowed", path, n)
		return
	}
	switch {
	case a.Run != nil:
		if a.Run.Path == "" {
			v.add("%s.run.path: required", path)
		}
		for k := range a.Run.Env {
			if k == "" {
				v.add("%s.run.env: empty variable name", path)
			}
		}
	case a.Download != nil:
		if a.Download.From == "" {
			v.add("%s.download.from: required", path)
		}
		if a.Download.To == "" {
			v.add("%s.download.to: required", path)
		}
		switch a.Download.ChecksumAlgorithm {
		case "", "md5", "sha1", "sha256":
		default:
			v.add("%s.download.checksum_algorithm: %q is not md5, sha1 or sha256", path, a.Download.ChecksumAlgorithm)
		}
		if (a.Download.ChecksumAlgorithm == "") != (a.Download.ChecksumValue == "") {
			v.add("%s.download: checksum_algorithm and checksum_value go together", path)
		}
	case a.Timeout != nil:
		if a.Timeout.TimeoutMS <= 0 {
			v.add("%s.timeout.timeout_ms: must be > 0", path)
		}
		a.Timeout.Action.validate(path+".timeout.action", depth+1, v)
	case a.Try != nil:
		a.Try.Action.validate(path+".try.action", depth+1, v)
	default:
		for name, list := range map[string][]Action{"serial": a.Serial, "parallel": a.Parallel, "codependent": a.Codependent} {
			if list == nil {
				continue
			}
			if len(list) == 0 {
				v.add("%s.%s: must not be empty", path, name)
			}
			for i := range list {
				list[i].validate(fmt.Sprintf("%s.%s[%d]", path, name, i), depth+1, v)
			}
		}
	}
}
