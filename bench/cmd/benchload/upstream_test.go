package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestJSONBody(t *testing.T) {
	for _, size := range []int{smallSize, largeSize} {
		b := jsonBody(size)
		if len(b) != size {
			t.Errorf("jsonBody(%d) is %d bytes", size, len(b))
		}
		var v struct {
			Items []map[string]any `json:"items"`
		}
		if err := json.Unmarshal(b, &v); err != nil || len(v.Items) == 0 {
			t.Errorf("jsonBody(%d): %d items, %v", size, len(v.Items), err)
		}
	}
}

// Every block of faultBlock requests has exactly its share of each fault,
// and the blocks differ in where they fall.
func TestFaultPlan(t *testing.T) {
	p := newFaultPlan(faults{p503: 0.01, pReset: 0.005})
	var firstPositions []int
	for block := range int64(5) {
		n503, nReset := 0, 0
		var positions []int
		for pos := range int64(faultBlock) {
			switch p.of(block*faultBlock + pos) {
			case fault503:
				n503++
				positions = append(positions, int(pos))
			case faultReset:
				nReset++
			}
		}
		if n503 != 10 || nReset != 5 {
			t.Errorf("block %d: %d 503s and %d resets, want 10 and 5", block, n503, nReset)
		}
		if block == 0 {
			firstPositions = positions
		} else if equalInts(positions, firstPositions) {
			t.Errorf("block %d: the 503s at the same positions as in block 0: %v", block, positions)
		}
	}
	if none := newFaultPlan(faults{}); none.of(0) != faultNone || none.of(12345) != faultNone {
		t.Error("a plan without faults has faults")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// get sends a GET on a transport of its own and reads the body to its end.
func get(t *testing.T, url string) (status int, n int, err error) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, len(b), err
}

func TestUpstream(t *testing.T) {
	u := newUpstream(faults{resetMode: resetMidBody})
	srv := httptest.NewServer(u)
	defer srv.Close()

	if st, n, err := get(t, srv.URL+pathSmall); st != 200 || n != smallSize || err != nil {
		t.Errorf("small: %d, %d bytes, %v", st, n, err)
	}
	if st, n, err := get(t, srv.URL+pathLarge); st != 200 || n != largeSize || err != nil {
		t.Errorf("large: %d, %d bytes, %v", st, n, err)
	}
	if st, _, _ := get(t, srv.URL+"/nope"); st != 404 {
		t.Errorf("unknown path: %d", st)
	}
	var s upstreamStats
	resp, err := http.Get(srv.URL + pathStats)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if s.Requests != 3 {
		t.Errorf("stats: %+v, want 3 requests (the control paths not counted)", s)
	}
	resp, err = http.Post(srv.URL+pathReset, "", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reset: %v %v", resp, err)
	}
	resp.Body.Close()
	if u.requests.Load() != 0 {
		t.Errorf("%d requests after the reset", u.requests.Load())
	}

	u.plan = newFaultPlan(faults{p503: 1})
	if st, _, err := get(t, srv.URL+pathSmall); st != 503 || err != nil || classify(st, err) != kind5xx {
		t.Errorf("p503=1: %d %v", st, err)
	}
	if u.status503.Load() != 1 {
		t.Errorf("%d 503s counted", u.status503.Load())
	}

	// A mid-body reset reaches the caller, as a reset, while it reads the
	// body of a 200.
	u.plan = newFaultPlan(faults{pReset: 1})
	st, n, err := get(t, srv.URL+pathLarge)
	if st != 200 || n >= largeSize || classify(st, err) != kindReset {
		t.Errorf("mid-body reset: status %d, %d bytes, %v (%v)", st, n, err, classify(st, err))
	}
	// Before the response, on a fresh connection, the transport does not
	// retry: the caller gets the error from Do.
	u.resetMode = resetBeforeResponse
	if _, _, err := get(t, srv.URL+pathSmall); err == nil {
		t.Error("reset before the response: no error")
	}
	if u.resets.Load() != 2 {
		t.Errorf("%d resets counted, want 2", u.resets.Load())
	}
}
