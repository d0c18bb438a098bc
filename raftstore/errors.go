package raftstore

import (
	"errors"

	"github.com/diegod/diegod/model"
)

// Sentinel errors for conditions a caller branches on. Business rejections of
// applied commands are *model.Error values (errors.Is(err, model.ErrNotFound)
// and friends work on them); these sentinels describe the store itself.
var (
	// ErrClosed is returned by a Store after Close.
	ErrClosed = errors.New("raftstore: store is closed")
	// ErrUnknownCommand is returned by Encode for a model.Command outside the
	// catalogue and by Decode for an unknown type without the ignore bit.
	ErrUnknownCommand = errors.New("raftstore: unknown command type")
	// ErrBadEnvelope is returned by Decode for a malformed batch envelope.
	ErrBadEnvelope = errors.New("raftstore: malformed command envelope")
	// ErrBadSnapshot is returned by Restore for a malformed snapshot stream.
	ErrBadSnapshot = errors.New("raftstore: malformed snapshot")
)

// notLeaderError returns the *model.Error a follower answers with, naming
// the leader when it is known.
func notLeaderError(leader string) *model.Error {
	if leader == "" {
		return model.Errorf(model.CodeNotLeader, "not the leader; no leader known")
	}
	return model.Errorf(model.CodeNotLeader, "not the leader; leader is %s", leader)
}

// unavailableError wraps a failure of the consensus layer as a *model.Error
// that crosses the wire with CodeUnavailable.
func unavailableError(op string, err error) *model.Error {
	return model.Errorf(model.CodeUnavailable, "%s: %v", op, err)
}
