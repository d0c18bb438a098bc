package raftstore

import (
	"github.com/diegod/diegod/model"
)

// metaJoinNonce is the meta row that holds the join secret's nonce.
const metaJoinNonce = "join_nonce"

// applyRotateJoinSecret stores the nonce the join secret is derived from.
// It emits no event: nothing but the join handler reads it.
func (t *applyTx) applyRotateJoinSecret(c model.RotateJoinSecret) *model.Error {
	if c.Nonce == 0 {
		return model.Errorf(model.CodeInvalidRequest, "rotate join secret: nonce must not be zero")
	}
	must(t.txn.Insert(tableMeta, &metaRow{Key: metaJoinNonce, Value: c.Nonce}))
	return nil
}

// JoinNonce returns the nonce of the current join secret; 0 until the
// secret is first rotated (the bootstrap secret).
func (v *View) JoinNonce() uint64 {
	raw, err := v.txn.First(tableMeta, indexID, metaJoinNonce)
	must(err)
	if raw == nil {
		return 0
	}
	return raw.(*metaRow).Value
}
