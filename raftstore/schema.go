package raftstore

import (
	"encoding/binary"
	"fmt"

	"github.com/diegod/diegod/model"
	"github.com/hashicorp/go-memdb"
)

// memdb table and index names.
const (
	tableDesired = "desired_lrps"
	tableActual  = "actual_lrps"
	tableCells   = "cells"
	tableTasks   = "tasks"
	tableMeta    = "meta"

	indexID = "id"
	// indexIDPrefix queries actual rows by process guid, or by process guid
	// and index, in (index, presence) order.
	indexIDPrefix = "id_prefix"
	indexCell     = "cell_id"

	metaAppliedIndex = "applied_index"
)

// metaRow is a named counter in the meta table.
type metaRow struct {
	Key   string
	Value uint64
}

// schema returns the memdb schema. Stored objects are pointers that are
// never mutated after insertion: handlers copy, change and re-insert.
func schema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableDesired: {
			Name: tableDesired,
			Indexes: map[string]*memdb.IndexSchema{
				indexID: {Name: indexID, Unique: true, Indexer: desiredIndexer{}},
			},
		},
		tableActual: {
			Name: tableActual,
			Indexes: map[string]*memdb.IndexSchema{
				indexID:   {Name: indexID, Unique: true, Indexer: actualIDIndexer{}},
				indexCell: {Name: indexCell, AllowMissing: true, Indexer: actualCellIndexer{}},
			},
		},
		tableCells: {
			Name: tableCells,
			Indexes: map[string]*memdb.IndexSchema{
				indexID: {Name: indexID, Unique: true, Indexer: cellIndexer{}},
			},
		},
		tableTasks: taskTableSchema(),
		tableMeta: {
			Name: tableMeta,
			Indexes: map[string]*memdb.IndexSchema{
				indexID: {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
			},
		},
	}}
}

// newDB returns an empty state database.
func newDB() *memdb.MemDB {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		panic(fmt.Sprintf("raftstore: invalid memdb schema: %v", err)) // a programming error
	}
	return db
}

// presenceRank orders the rows of one index: ORDINARY, EVACUATING, SUSPECT
// (Diego's enum order).
func presenceRank(p model.Presence) byte {
	switch p {
	case model.PresenceOrdinary:
		return 0
	case model.PresenceEvacuating:
		return 1
	case model.PresenceSuspect:
		return 2
	}
	return 3
}

// stringKey encodes s followed by a NUL so no guid is a prefix of another.
func stringKey(s string) []byte {
	b := make([]byte, 0, len(s)+1+8+1)
	return append(append(b, s...), 0)
}

// actualKey encodes (process_guid, index, presence) so that byte order is
// (guid, index, presence rank) order. The index is offset so negative values
// (rejected elsewhere) still sort.
func actualKey(guid string, index int, presence model.Presence) []byte {
	b := stringKey(guid)
	b = binary.BigEndian.AppendUint64(b, uint64(index)^(1<<63))
	return append(b, presenceRank(presence))
}

func argString(args []any, i int) (string, error) {
	if len(args) <= i {
		return "", fmt.Errorf("missing argument %d", i)
	}
	s, ok := args[i].(string)
	if !ok {
		return "", fmt.Errorf("argument %d: got %T, want string", i, args[i])
	}
	return s, nil
}

type desiredIndexer struct{}

func (desiredIndexer) FromObject(raw any) (bool, []byte, error) {
	d, ok := raw.(*model.DesiredLRP)
	if !ok {
		return false, nil, fmt.Errorf("desired index: got %T", raw)
	}
	return true, stringKey(d.ProcessGUID), nil
}

func (desiredIndexer) FromArgs(args ...any) ([]byte, error) {
	s, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	return stringKey(s), nil
}

// actualIDIndexer indexes rows by (process_guid, index, presence); as a
// prefix index it takes (guid) or (guid, index).
type actualIDIndexer struct{}

func (actualIDIndexer) FromObject(raw any) (bool, []byte, error) {
	a, ok := raw.(*model.ActualLRP)
	if !ok {
		return false, nil, fmt.Errorf("actual index: got %T", raw)
	}
	return true, actualKey(a.ProcessGUID, a.Index, a.Presence), nil
}

func (actualIDIndexer) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("actual index: want (guid, index, presence), got %d args", len(args))
	}
	guid, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	idx, ok := args[1].(int)
	if !ok {
		return nil, fmt.Errorf("actual index: index is %T, want int", args[1])
	}
	p, ok := args[2].(model.Presence)
	if !ok {
		return nil, fmt.Errorf("actual index: presence is %T, want model.Presence", args[2])
	}
	return actualKey(guid, idx, p), nil
}

func (actualIDIndexer) PrefixFromArgs(args ...any) ([]byte, error) {
	guid, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	b := stringKey(guid)
	switch len(args) {
	case 1:
		return b, nil
	case 2:
		idx, ok := args[1].(int)
		if !ok {
			return nil, fmt.Errorf("actual index: index is %T, want int", args[1])
		}
		return binary.BigEndian.AppendUint64(b, uint64(idx)^(1<<63)), nil
	}
	return nil, fmt.Errorf("actual prefix index: want (guid[, index]), got %d args", len(args))
}

// actualCellIndexer indexes rows by cell_id; rows without a cell are not in
// the index.
type actualCellIndexer struct{}

func (actualCellIndexer) FromObject(raw any) (bool, []byte, error) {
	a, ok := raw.(*model.ActualLRP)
	if !ok {
		return false, nil, fmt.Errorf("cell index: got %T", raw)
	}
	if a.CellID == "" {
		return false, nil, nil
	}
	return true, stringKey(a.CellID), nil
}

func (actualCellIndexer) FromArgs(args ...any) ([]byte, error) {
	s, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	return stringKey(s), nil
}

type cellIndexer struct{}

func (cellIndexer) FromObject(raw any) (bool, []byte, error) {
	c, ok := raw.(*model.Cell)
	if !ok {
		return false, nil, fmt.Errorf("cell table index: got %T", raw)
	}
	return true, stringKey(c.CellID), nil
}

func (cellIndexer) FromArgs(args ...any) ([]byte, error) {
	s, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	return stringKey(s), nil
}
