package raftstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/diegod/diegod/model"
)

// CommandType is the byte that names a command in a log entry. The values
// are part of the on-disk format: never renumber or reuse one.
type CommandType byte

// IgnoreUnknownTypeFlag marks a command type that an older binary which does
// not know it may skip instead of panicking. Only commands whose effect a
// lagging node can safely miss (none yet) get it.
const IgnoreUnknownTypeFlag CommandType = 0x80

// The command catalogue (one per model.Command type).
const (
	TypeDesireLRP               CommandType = 1
	TypeUpdateDesiredLRP        CommandType = 2
	TypeRemoveDesiredLRP        CommandType = 3
	TypeClaimBatch              CommandType = 4
	TypeStartActualLRP          CommandType = 5
	TypeCrashActualLRP          CommandType = 6
	TypeRemoveActualLRP         CommandType = 7
	TypeUnclaimActualLRP        CommandType = 8
	TypeRetireActualLRP         CommandType = 9
	TypeCreateMissingActualLRP  CommandType = 10
	TypeSuspectActualLRP        CommandType = 11
	TypePromoteSuspectActualLRP CommandType = 12
	TypeRetryPlacement          CommandType = 13
	TypeUpsertCell              CommandType = 14
	TypeSetCellState            CommandType = 15
	TypeRemoveCell              CommandType = 16

	// Task commands (32-47).
	TypeDesireTask          CommandType = 32
	TypePlaceTasks          CommandType = 33
	TypeStartTask           CommandType = 34
	TypeCompleteTask        CommandType = 35
	TypeCancelTask          CommandType = 36
	TypeFailTask            CommandType = 37
	TypeRejectTask          CommandType = 38
	TypeResolvingTask       CommandType = 39
	TypeDeleteTask          CommandType = 40
	TypeDemoteResolvingTask CommandType = 41
	TypeExpireTask          CommandType = 42

	// Cluster commands (48-63).
	TypeEvacuateRunningActualLRP CommandType = 48
	TypeRotateJoinSecret         CommandType = 49
)

// EnvelopeVersion is the first byte of every command entry.
const EnvelopeVersion byte = 1

// envelopeHeaderMax is the most bytes an envelope header takes: version,
// 8-byte timestamp, uvarint count.
const envelopeHeaderMax = 1 + 8 + binary.MaxVarintLen64

// CommandTypeOf returns the catalogue type of cmd.
func CommandTypeOf(cmd model.Command) (CommandType, error) {
	switch cmd.(type) {
	case model.DesireLRP, *model.DesireLRP:
		return TypeDesireLRP, nil
	case model.UpdateDesiredLRP, *model.UpdateDesiredLRP:
		return TypeUpdateDesiredLRP, nil
	case model.RemoveDesiredLRP, *model.RemoveDesiredLRP:
		return TypeRemoveDesiredLRP, nil
	case model.ClaimBatch, *model.ClaimBatch:
		return TypeClaimBatch, nil
	case model.StartActualLRP, *model.StartActualLRP:
		return TypeStartActualLRP, nil
	case model.CrashActualLRP, *model.CrashActualLRP:
		return TypeCrashActualLRP, nil
	case model.RemoveActualLRP, *model.RemoveActualLRP:
		return TypeRemoveActualLRP, nil
	case model.UnclaimActualLRP, *model.UnclaimActualLRP:
		return TypeUnclaimActualLRP, nil
	case model.RetireActualLRP, *model.RetireActualLRP:
		return TypeRetireActualLRP, nil
	case model.CreateMissingActualLRP, *model.CreateMissingActualLRP:
		return TypeCreateMissingActualLRP, nil
	case model.SuspectActualLRP, *model.SuspectActualLRP:
		return TypeSuspectActualLRP, nil
	case model.PromoteSuspectActualLRP, *model.PromoteSuspectActualLRP:
		return TypePromoteSuspectActualLRP, nil
	case model.RetryPlacement, *model.RetryPlacement:
		return TypeRetryPlacement, nil
	case model.UpsertCell, *model.UpsertCell:
		return TypeUpsertCell, nil
	case model.SetCellState, *model.SetCellState:
		return TypeSetCellState, nil
	case model.RemoveCell, *model.RemoveCell:
		return TypeRemoveCell, nil
	case model.DesireTask, *model.DesireTask:
		return TypeDesireTask, nil
	case model.PlaceTasks, *model.PlaceTasks:
		return TypePlaceTasks, nil
	case model.StartTask, *model.StartTask:
		return TypeStartTask, nil
	case model.CompleteTask, *model.CompleteTask:
		return TypeCompleteTask, nil
	case model.CancelTask, *model.CancelTask:
		return TypeCancelTask, nil
	case model.FailTask, *model.FailTask:
		return TypeFailTask, nil
	case model.RejectTask, *model.RejectTask:
		return TypeRejectTask, nil
	case model.ResolvingTask, *model.ResolvingTask:
		return TypeResolvingTask, nil
	case model.DeleteTask, *model.DeleteTask:
		return TypeDeleteTask, nil
	case model.DemoteResolvingTask, *model.DemoteResolvingTask:
		return TypeDemoteResolvingTask, nil
	case model.ExpireTask, *model.ExpireTask:
		return TypeExpireTask, nil
	case model.EvacuateRunningActualLRP, *model.EvacuateRunningActualLRP:
		return TypeEvacuateRunningActualLRP, nil
	case model.RotateJoinSecret, *model.RotateJoinSecret:
		return TypeRotateJoinSecret, nil
	}
	return 0, fmt.Errorf("command %T: %w", cmd, ErrUnknownCommand)
}

// decodeCommand decodes the JSON payload of a known type into the value form
// of its model command. ok is false for a type outside the catalogue.
func decodeCommand(t CommandType, payload []byte) (cmd model.Command, ok bool, err error) {
	switch t {
	case TypeDesireLRP:
		return decodeAs[model.DesireLRP](payload)
	case TypeUpdateDesiredLRP:
		return decodeAs[model.UpdateDesiredLRP](payload)
	case TypeRemoveDesiredLRP:
		return decodeAs[model.RemoveDesiredLRP](payload)
	case TypeClaimBatch:
		return decodeAs[model.ClaimBatch](payload)
	case TypeStartActualLRP:
		return decodeAs[model.StartActualLRP](payload)
	case TypeCrashActualLRP:
		return decodeAs[model.CrashActualLRP](payload)
	case TypeRemoveActualLRP:
		return decodeAs[model.RemoveActualLRP](payload)
	case TypeUnclaimActualLRP:
		return decodeAs[model.UnclaimActualLRP](payload)
	case TypeRetireActualLRP:
		return decodeAs[model.RetireActualLRP](payload)
	case TypeCreateMissingActualLRP:
		return decodeAs[model.CreateMissingActualLRP](payload)
	case TypeSuspectActualLRP:
		return decodeAs[model.SuspectActualLRP](payload)
	case TypePromoteSuspectActualLRP:
		return decodeAs[model.PromoteSuspectActualLRP](payload)
	case TypeRetryPlacement:
		return decodeAs[model.RetryPlacement](payload)
	case TypeUpsertCell:
		return decodeAs[model.UpsertCell](payload)
	case TypeSetCellState:
		return decodeAs[model.SetCellState](payload)
	case TypeRemoveCell:
		return decodeAs[model.RemoveCell](payload)
	case TypeDesireTask:
		return decodeAs[model.DesireTask](payload)
	case TypePlaceTasks:
		return decodeAs[model.PlaceTasks](payload)
	case TypeStartTask:
		return decodeAs[model.StartTask](payload)
	case TypeCompleteTask:
		return decodeAs[model.CompleteTask](payload)
	case TypeCancelTask:
		return decodeAs[model.CancelTask](payload)
	case TypeFailTask:
		return decodeAs[model.FailTask](payload)
	case TypeRejectTask:
		return decodeAs[model.RejectTask](payload)
	case TypeResolvingTask:
		return decodeAs[model.ResolvingTask](payload)
	case TypeDeleteTask:
		return decodeAs[model.DeleteTask](payload)
	case TypeDemoteResolvingTask:
		return decodeAs[model.DemoteResolvingTask](payload)
	case TypeExpireTask:
		return decodeAs[model.ExpireTask](payload)
	case TypeEvacuateRunningActualLRP:
		return decodeAs[model.EvacuateRunningActualLRP](payload)
	case TypeRotateJoinSecret:
		return decodeAs[model.RotateJoinSecret](payload)
	}
	return nil, false, nil
}

// decodeAs decodes payload into the value form T of a model command.
func decodeAs[T model.Command](payload []byte) (model.Command, bool, error) {
	var v T
	if err := json.Unmarshal(payload, &v); err != nil {
		return nil, true, err
	}
	return v, true, nil
}

// EncodeCommand returns the frame of one command: type byte, uvarint payload
// length, JSON payload. Proposers encode in their own goroutine so the
// batcher only concatenates frames.
func EncodeCommand(cmd model.Command) ([]byte, error) {
	t, err := CommandTypeOf(cmd)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode command %s: %w", cmd.CommandName(), err)
	}
	return appendFrame(make([]byte, 0, 1+binary.MaxVarintLen64+len(payload)), t, payload), nil
}

func appendFrame(buf []byte, t CommandType, payload []byte) []byte {
	buf = append(buf, byte(t))
	buf = binary.AppendUvarint(buf, uint64(len(payload)))
	return append(buf, payload...)
}

// appendEnvelopeHeader starts a batch envelope: version, proposer timestamp
// (unix nanoseconds, big-endian), command count.
func appendEnvelopeHeader(buf []byte, now time.Time, count int) []byte {
	buf = append(buf, EnvelopeVersion)
	buf = binary.BigEndian.AppendUint64(buf, uint64(now.UnixNano()))
	return binary.AppendUvarint(buf, uint64(count))
}

// EncodeFrames builds a batch envelope from frames made by EncodeCommand.
func EncodeFrames(now time.Time, frames [][]byte) []byte {
	size := envelopeHeaderMax
	for _, f := range frames {
		size += len(f)
	}
	buf := appendEnvelopeHeader(make([]byte, 0, size), now, len(frames))
	for _, f := range frames {
		buf = append(buf, f...)
	}
	return buf
}

// Encode builds a batch envelope of cmds stamped with now (the proposer's
// clock; apply handlers use it as their only notion of time).
func Encode(now time.Time, cmds ...model.Command) ([]byte, error) {
	frames := make([][]byte, len(cmds))
	for i, c := range cmds {
		f, err := EncodeCommand(c)
		if err != nil {
			return nil, err
		}
		frames[i] = f
	}
	return EncodeFrames(now, frames), nil
}

// Envelope is a decoded batch: the proposer's timestamp and one command per
// position. A command whose type was unknown but carried the ignore bit is
// nil at its position, so results still line up with proposers.
type Envelope struct {
	Time     time.Time
	Commands []model.Command
}

// Decode parses a batch envelope. It fails with ErrBadEnvelope on malformed
// input and ErrUnknownCommand on an unknown type without the ignore bit; the
// FSM panics on either (STYLE rule 6), since the log is the source of truth
// and silently skipping an entry would fork replicas.
func Decode(buf []byte) (Envelope, error) {
	if len(buf) < 9 {
		return Envelope{}, fmt.Errorf("decode envelope: %d bytes: %w", len(buf), ErrBadEnvelope)
	}
	if buf[0] != EnvelopeVersion {
		return Envelope{}, fmt.Errorf("decode envelope: version %d: %w", buf[0], ErrBadEnvelope)
	}
	env := Envelope{Time: time.Unix(0, int64(binary.BigEndian.Uint64(buf[1:9]))).UTC()}
	rest := buf[9:]
	count, n := binary.Uvarint(rest)
	if n <= 0 || count > uint64(len(rest)) {
		return Envelope{}, fmt.Errorf("decode envelope: bad count: %w", ErrBadEnvelope)
	}
	rest = rest[n:]
	env.Commands = make([]model.Command, 0, count)
	for i := uint64(0); i < count; i++ {
		if len(rest) < 2 {
			return Envelope{}, fmt.Errorf("decode envelope: command %d truncated: %w", i, ErrBadEnvelope)
		}
		t := CommandType(rest[0])
		size, n := binary.Uvarint(rest[1:])
		if n <= 0 || size > uint64(len(rest)-1-n) {
			return Envelope{}, fmt.Errorf("decode envelope: command %d: bad length: %w", i, ErrBadEnvelope)
		}
		payload := rest[1+n : 1+n+int(size)]
		rest = rest[1+n+int(size):]
		cmd, known, err := decodeCommand(t, payload)
		switch {
		case !known && t&IgnoreUnknownTypeFlag != 0:
			env.Commands = append(env.Commands, nil)
			continue
		case !known:
			return Envelope{}, fmt.Errorf("decode envelope: command %d: type %d: %w", i, t, ErrUnknownCommand)
		case err != nil:
			return Envelope{}, fmt.Errorf("decode envelope: command %d: type %d: %v: %w", i, t, err, ErrBadEnvelope)
		}
		env.Commands = append(env.Commands, cmd)
	}
	if len(rest) != 0 {
		return Envelope{}, fmt.Errorf("decode envelope: %d trailing bytes: %w", len(rest), ErrBadEnvelope)
	}
	return env, nil
}
