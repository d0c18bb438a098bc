package node

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
)

// peersFile remembers the cluster's members across restarts (gossip seeds
// and API addresses), in the data dir.
const peersFile = "peers.json"

// peer is how to reach one member.
type peer struct {
	Gossip string `json:"gossip"`
	Raft   string `json:"raft"`
	API    string `json:"api"`
}

// peerBook is the set of members this node has seen, persisted so a
// restarted node knows whom to gossip with. It is safe for concurrent use.
type peerBook struct {
	path string

	mu    sync.Mutex
	peers map[string]peer
	dirty bool
}

// loadPeerBook reads dataDir/peers.json (an absent file is an empty book).
func loadPeerBook(dataDir string) (*peerBook, error) {
	b := &peerBook{path: filepath.Join(dataDir, peersFile), peers: map[string]peer{}}
	data, err := os.ReadFile(b.path)
	if errors.Is(err, fs.ErrNotExist) {
		return b, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &b.peers); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *peerBook) put(name string, p peer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.peers[name] != p {
		b.peers[name] = p
		b.dirty = true
	}
}

func (b *peerBook) get(name string) (peer, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.peers[name]
	return p, ok
}

func (b *peerBook) remove(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.peers[name]; ok {
		delete(b.peers, name)
		b.dirty = true
	}
}

func (b *peerBook) all() map[string]peer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.peers)
}

// flush writes the book if it changed.
func (b *peerBook) flush() error {
	b.mu.Lock()
	if !b.dirty {
		b.mu.Unlock()
		return nil
	}
	data, err := json.MarshalIndent(b.peers, "", "  ")
	b.dirty = false
	b.mu.Unlock()
	if err != nil {
		return err
	}
	return writeFileAtomic(b.path, data)
}
