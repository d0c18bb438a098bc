package routing

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/diegod/diegod/model"
)

// accessLine returns the [RTR] line of a finished exchange, in gorouter's
// access log format:
//
//	host - [time] "METHOD /path HTTP/1.1" status bytes_received bytes_sent "referer" "user_agent"
//	"client_addr" "backend_addr" x_forwarded_for:"..." x_forwarded_proto:"..."
//	vcap_request_id:"..." response_time:seconds app_id:"..." app_index:"..." instance_id:"..." retries:n
func (ex *exchange) accessLine(now time.Time) model.LogLine {
	in, ep := ex.in, ex.endpoint
	b := make([]byte, 0, 384)
	b = append(b, in.Host...)
	b = append(b, " - ["...)
	b = ex.start.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, `] "`...)
	b = append(b, in.Method...)
	b = append(b, ' ')
	b = append(b, in.RequestURI...)
	b = append(b, ' ')
	b = append(b, in.Proto...)
	b = append(b, `" `...)
	b = strconv.AppendInt(b, int64(ex.status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, ex.body.n.Load(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, ex.sent, 10)
	b = appendQuoted(b, " ", in.Referer())
	b = appendQuoted(b, " ", in.UserAgent())
	b = appendQuoted(b, " ", in.RemoteAddr)
	b = appendQuoted(b, " ", ep.Address)
	b = appendQuoted(b, " x_forwarded_for:", in.Header.Get(headerForwardedFor))
	b = appendQuoted(b, " x_forwarded_proto:", in.Header.Get(headerForwardedProto))
	b = appendQuoted(b, " vcap_request_id:", ex.requestID)
	b = append(b, " response_time:"...)
	b = strconv.AppendFloat(b, now.Sub(ex.start).Seconds(), 'f', 6, 64)
	b = appendQuoted(b, " app_id:", ep.ProcessGUID)
	b = appendQuoted(b, " app_index:", ep.indexStr)
	b = appendQuoted(b, " instance_id:", ep.InstanceGUID)
	b = append(b, " retries:"...)
	b = strconv.AppendInt(b, int64(ex.retries), 10)
	return model.LogLine{
		Time:        ex.start,
		ProcessGUID: ep.ProcessGUID,
		Index:       ep.Index,
		Source:      model.LogSourceRouter,
		Stream:      model.StreamOut,
		Text:        string(b),
	}
}

// appendQuoted appends label and "v" ("-" when v is empty); quotes and
// control characters in v are replaced so a line stays one parseable line.
func appendQuoted(b []byte, label, v string) []byte {
	b = append(b, label...)
	b = append(b, '"')
	if v == "" {
		v = "-"
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' || c < 0x20 || c == 0x7f {
			c = '?'
		}
		b = append(b, c)
	}
	return append(b, '"')
}

// validRequestID reports whether a client-supplied X-Request-Id is kept: 1
// to 200 bytes of letters, digits and -_.:/+=.
func validRequestID(id string) bool {
	if id == "" || len(id) > 200 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns a random UUID (version 4) string. Request ids need
// uniqueness, not secrecy, so the fast per-thread generator serves.
func newRequestID() string {
	const hex = "0123456789abcdef"
	var u [16]byte
	a, c := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(c >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	j := 0
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hex[x>>4], hex[x&0x0f]
		j += 2
	}
	return string(s[:])
}
