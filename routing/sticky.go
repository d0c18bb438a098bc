package routing

import (
	"net/http"
)

// VcapCookie is the cookie that pins a session to an instance (gorouter's
// __VCAP_ID__, spec §7): its value is the instance guid.
const VcapCookie = "__VCAP_ID__"

// stickyInstance returns the instance guid a request asks to stick to: the
// __VCAP_ID__ cookie, honoured only when an app session cookie
// (JSESSIONID) is also present.
func (r *Router) stickyInstance(in *http.Request) string {
	if len(in.Header["Cookie"]) == 0 || len(r.sticky) == 0 {
		return ""
	}
	var vcap string
	session := false
	for _, c := range in.Cookies() {
		switch {
		case c.Name == VcapCookie:
			vcap = c.Value
		case r.sticky[c.Name]:
			session = true
		}
	}
	if !session {
		return ""
	}
	return vcap
}

// stickyResponse adds __VCAP_ID__ to a backend response: when the app sets
// a session cookie, with the same lifetime and scope (HttpOnly always);
// when the request was pinned to an instance that is gone and another one
// answered, pointing at the new instance. An app that sets __VCAP_ID__
// itself is left alone.
func (r *Router) stickyResponse(ex *exchange, h http.Header) {
	ep := ex.endpoint
	if ep == nil || len(r.sticky) == 0 {
		return
	}
	var session *http.Cookie
	if len(h["Set-Cookie"]) > 0 {
		for _, c := range (&http.Response{Header: h}).Cookies() {
			if c.Name == VcapCookie {
				return
			}
			if r.sticky[c.Name] && session == nil {
				session = c
			}
		}
	}
	var c *http.Cookie
	switch {
	case session != nil:
		path := session.Path
		if path == "" {
			path = "/"
		}
		c = &http.Cookie{
			Name: VcapCookie, Value: ep.InstanceGUID, Path: path,
			MaxAge: session.MaxAge, Expires: session.Expires, Secure: session.Secure,
			SameSite: session.SameSite, Partitioned: session.Partitioned, HttpOnly: true,
		}
	case ex.stickyID != "" && ex.stickyID != ep.InstanceGUID:
		c = &http.Cookie{Name: VcapCookie, Value: ep.InstanceGUID, Path: "/", HttpOnly: true}
	default:
		return
	}
	h.Add("Set-Cookie", c.String())
}
