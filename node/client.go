package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/diegod/diegod/model"
	"github.com/diegod/diegod/routing"
)

// Client talks to a node's HTTP API. Errors the API returns are
// *model.Error values with their code.
type Client struct {
	// BaseURL is "http://host:port" or "https://host:port".
	BaseURL string
	// Token is the operator token sent as a bearer token.
	Token string
	// HTTP is the client used; nil means a default with the CA (if any).
	HTTP *http.Client
}

// NewClient returns a Client for addr ("host:port" or a URL). caPEM, when
// not empty, is the cluster CA the server certificate must chain to.
func NewClient(addr, token string, caPEM []byte) (*Client, error) {
	base := addr
	if !strings.Contains(base, "://") {
		scheme := "http"
		if len(caPEM) > 0 {
			scheme = "https"
		}
		base = scheme + "://" + addr
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("ca certificate: no PEM certificate found")
		}
		// Every node certificate names ClusterServerName, so the node is
		// verified whatever address (IP or name) the CLI dials.
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, ServerName: ClusterServerName}
	}
	return &Client{BaseURL: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Transport: tr}}, nil
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	resp, err := c.request(ctx, method, path, rd)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// request sends a request and turns an error status into a *model.Error.
func (c *Client) request(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach diegod at %s: %w", c.BaseURL, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var eb ErrorBody
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
			return nil, &eb.Error
		}
		return nil, model.Errorf(model.CodeInternal, "%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	return resp, nil
}

// Submit desires an LRP.
func (c *Client) Submit(ctx context.Context, lrp model.DesiredLRP) (SubmitResult, error) {
	var r SubmitResult
	return r, c.do(ctx, http.MethodPost, "/v1/lrps", lrp, &r)
}

// SubmitRaw desires an LRP from a JSON body as is (the server validates).
func (c *Client) SubmitRaw(ctx context.Context, body []byte) (SubmitResult, error) {
	var r SubmitResult
	resp, err := c.request(ctx, http.MethodPost, "/v1/lrps", bytes.NewReader(body))
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	return r, json.NewDecoder(resp.Body).Decode(&r)
}

// LRPs lists the LRPs.
func (c *Client) LRPs(ctx context.Context) ([]LRPSummary, error) {
	var r []LRPSummary
	return r, c.do(ctx, http.MethodGet, "/v1/lrps", nil, &r)
}

// Status returns an LRP and its instances. With index > 0 it blocks until
// the state has moved past index or wait runs out.
func (c *Client) Status(ctx context.Context, guid string, index uint64, wait time.Duration) (LRPStatus, error) {
	var r LRPStatus
	path := "/v1/lrps/" + url.PathEscape(guid)
	if index > 0 {
		path += fmt.Sprintf("?index=%d&wait=%s", index, wait)
	}
	return r, c.do(ctx, http.MethodGet, path, nil, &r)
}

// Update changes instances, routes or annotation.
func (c *Client) Update(ctx context.Context, guid string, u model.DesiredLRPUpdate) (SubmitResult, error) {
	var r SubmitResult
	return r, c.do(ctx, http.MethodPatch, "/v1/lrps/"+url.PathEscape(guid), u, &r)
}

// Scale sets the instance count.
func (c *Client) Scale(ctx context.Context, guid string, n int) (SubmitResult, error) {
	return c.Update(ctx, guid, model.DesiredLRPUpdate{Instances: &n})
}

// Delete removes an LRP.
func (c *Client) Delete(ctx context.Context, guid string) (SubmitResult, error) {
	var r SubmitResult
	return r, c.do(ctx, http.MethodDelete, "/v1/lrps/"+url.PathEscape(guid), nil, &r)
}

// Cells lists the cells with capacity and allocation.
func (c *Client) Cells(ctx context.Context) ([]CellStatus, error) {
	var r []CellStatus
	return r, c.do(ctx, http.MethodGet, "/v1/cells", nil, &r)
}

// Members lists Raft and gossip membership.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	var r []Member
	return r, c.do(ctx, http.MethodGet, "/v1/members", nil, &r)
}

// Routes lists the node's route table.
func (c *Client) Routes(ctx context.Context) ([]routing.Route, error) {
	var r []routing.Route
	return r, c.do(ctx, http.MethodGet, "/v1/routes", nil, &r)
}

// Logs calls fn for each log line of guid: the recent ones, then with follow
// every new one until ctx ends or fn returns an error.
func (c *Client) Logs(ctx context.Context, guid string, follow, recent bool, fn func(model.LogLine) error) error {
	q := url.Values{}
	if follow {
		q.Set("follow", "true")
	}
	if recent {
		q.Set("recent", "true")
	}
	resp, err := c.request(ctx, http.MethodGet, "/v1/logs/"+url.PathEscape(guid)+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 2*model.MaxLogLineSize)
	for sc.Scan() {
		var l model.LogLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("decode log line: %w", err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}
