package model

// RotateJoinSecret replaces the cluster's join secret. The state keeps only
// Nonce; every member derives the secret from it and the cluster key it
// received when it joined, so neither the log nor a snapshot holds a usable
// secret. Nonce must not be zero (zero is the bootstrap secret).
type RotateJoinSecret struct {
	Nonce uint64 `json:"nonce"`
}

// CommandName implements Command.
func (RotateJoinSecret) CommandName() string { return "rotate_join_secret" }

func (RotateJoinSecret) command() {}
