package node

import (
	"context"
	"io"
	"net/http"
	"net/url"
)

// JoinToken returns the cluster's join token and join command.
func (c *Client) JoinToken(ctx context.Context) (TokenInfo, error) {
	var r TokenInfo
	return r, c.do(ctx, http.MethodGet, "/v1/token", nil, &r)
}

// RotateToken replaces the join secret and returns the new token.
func (c *Client) RotateToken(ctx context.Context) (TokenInfo, error) {
	var r TokenInfo
	return r, c.do(ctx, http.MethodPost, "/v1/token/rotate", nil, &r)
}

// Drain marks a cell DRAINING (cancel: ALIVE again).
func (c *Client) Drain(ctx context.Context, cellID string, cancel bool) (DrainResult, error) {
	var r DrainResult
	return r, c.do(ctx, http.MethodPost, "/v1/cells/"+url.PathEscape(cellID)+"/drain", drainRequest{Cancel: cancel}, &r)
}

// RemoveMember removes a dead member from Raft and forgets its cell.
func (c *Client) RemoveMember(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/members/"+url.PathEscape(name), nil, nil)
}

// SaveSnapshot writes the cluster state (consistent) to w.
func (c *Client) SaveSnapshot(ctx context.Context, w io.Writer) error {
	resp, err := c.request(ctx, http.MethodGet, "/v1/snapshot", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// RestoreSnapshot replaces the cluster state with the snapshot in r.
func (c *Client) RestoreSnapshot(ctx context.Context, r io.Reader) error {
	resp, err := c.request(ctx, http.MethodPost, "/v1/snapshot", r)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
