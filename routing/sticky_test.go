package routing

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// sessionApp sets JSESSIONID on /login and answers its index.
func sessionApp(index int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "s3cr3t", Path: "/app", MaxAge: 600, Secure: true, SameSite: http.SameSiteLaxMode})
		}
		w.Write([]byte("index=" + string(rune('0'+index))))
	}
}

func findCookie(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestStickySessionRoundTrip(t *testing.T) {
	src := newFakeSource()
	bs := []*backend{newBackend(t, 0, sessionApp(0)), newBackend(t, 1, sessionApp(1)), newBackend(t, 2, sessionApp(2))}
	routeWith(src, "sticky", "sticky.home", bs...)
	rt := startRouter(t, testConfig(), src, nil, nil, nil)
	r := rt.srv.Router()
	waitFor(t, 5*time.Second, "3 endpoints", func() bool { return poolSize(r, "sticky.home") == 3 })

	_, first, resp := rt.do(t, rt.newRequest(t, http.MethodGet, "sticky.home", "/login", nil))
	vcap := findCookie(resp.Cookies(), VcapCookie)
	if vcap == nil {
		t.Fatalf("no %s cookie in %v", VcapCookie, resp.Header["Set-Cookie"])
	}
	wantGUID := "sticky-ig-" + strings.TrimPrefix(first, "index=")
	if vcap.Value != wantGUID || !vcap.HttpOnly || !vcap.Secure || vcap.MaxAge != 600 ||
		vcap.Path != "/app" || vcap.SameSite != http.SameSiteLaxMode {
		t.Fatalf("%s cookie: got %+v, want value %s with JSESSIONID's scope, HttpOnly", VcapCookie, vcap, wantGUID)
	}

	withCookies := func(cs ...*http.Cookie) string {
		req := rt.newRequest(t, http.MethodGet, "sticky.home", "/", nil)
		for _, c := range cs {
			req.AddCookie(c)
		}
		_, body, _ := rt.do(t, req)
		return body
	}
	session := &http.Cookie{Name: "JSESSIONID", Value: "s3cr3t"}
	pin := &http.Cookie{Name: VcapCookie, Value: vcap.Value}
	for i := 0; i < 20; i++ {
		if got := withCookies(session, pin); got != first {
			t.Fatalf("pinned request %d: got %s, want %s", i, got, first)
		}
	}
	// __VCAP_ID__ without JSESSIONID is ignored.
	seen := map[string]bool{}
	for i := 0; i < 6; i++ {
		seen[withCookies(pin, &http.Cookie{Name: "theme", Value: "dark"})] = true
	}
	if len(seen) < 2 {
		t.Errorf("without JSESSIONID requests stayed on %v, want round-robin", seen)
	}

	// The pinned instance leaves: the request goes elsewhere and gets a new pin.
	idx := int(first[len(first)-1] - '0')
	src.removeActuals("sticky", idx)
	waitFor(t, 5*time.Second, "2 endpoints", func() bool { return poolSize(r, "sticky.home") == 2 })
	req := rt.newRequest(t, http.MethodGet, "sticky.home", "/", nil)
	req.AddCookie(session)
	req.AddCookie(pin)
	code, body, resp := rt.do(t, req)
	if code != 200 || body == first {
		t.Fatalf("after the pinned instance left: got %d %s, want 200 from another instance", code, body)
	}
	repin := findCookie(resp.Cookies(), VcapCookie)
	if repin == nil || repin.Value != "sticky-ig-"+strings.TrimPrefix(body, "index=") {
		t.Fatalf("re-pin cookie: got %+v, want the new instance's guid", repin)
	}
}
