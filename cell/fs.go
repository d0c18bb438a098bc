package cell

import "context"

// FileSystem is an optional Runtime ability: the host directory that holds
// a container's root filesystem as the container sees it. Download actions
// unpack there (lifecycle.DirExtractor). A runtime without it cannot run
// download actions; they fail with a clear reason.
type FileSystem interface {
	ContainerRoot(ctx context.Context, id string) (string, error)
}
