package ops

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// chromiumPath finds Debian's chromium, or Ubuntu's name for it; "" when
// neither is installed.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// runChromium runs headless chromium with args and the page's URL, in a
// profile of its own, bounded by a minute. It returns what chromium wrote
// to its standard output; on failure the test ends with its standard error.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	// The profile goes in a directory of its own, removed on a best effort
	// basis: a helper process may still be writing to it as chromium exits.
	profile, err := os.MkdirTemp("", "tempest-ops-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--user-data-dir=" + profile}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second // a helper that keeps the pipes open cannot hold the test
	start := time.Now()
	err = cmd.Run()
	t.Logf("chromium %s took %v", args[0], time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("chromium %s: %v (context: %v)\nstderr:\n%s", strings.Join(args, " "), err, ctx.Err(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// TestPage_R63_Chromium serves the page with controls on a loopback server
// and opens it in headless chromium, as an operator's browser would (its
// Content-Security-Policy forbids scripts, and the page has none): the
// screenshot is a rendered page, with the pink of an open circuit's row, and
// the DOM chromium built has the breaker table with that row, the give-ups
// table, the refresh and the forms.
func TestPage_R63_Chromium(t *testing.T) {
	t.Parallel()
	bin := chromiumPath()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; in CI .ci/run installs it")
		}
		t.Skip("chromium is not installed (apt-get install chromium): skipping the operator page in a browser")
	}

	// One origin open (two 503s, and the call gave up), one closed.
	c := newClient(t, []string{"down.test"})
	get(t, c, "http://down.test/orders/42?secret=hunter2")
	get(t, c, "http://up.test/ok")
	const openOrigin, closedOrigin = "http://down.test:80", "http://up.test:80"
	if s, _ := c.Breaker(openOrigin); s.State != breaker.Open {
		t.Fatalf("%s is %v, want open", openOrigin, s.State)
	}
	if s, _ := c.Breaker(closedOrigin); s.State != breaker.Closed {
		t.Fatalf("%s is %v, want closed", closedOrigin, s.State)
	}
	if g := c.RecentGiveUps(); len(g) != 1 {
		t.Fatalf("%d give-ups recorded, want 1", len(g))
	}

	srv := httptest.NewServer(Handler(c, WithControls()))
	defer srv.Close()
	pageURL := srv.URL + "/"

	t.Run("screenshot", func(t *testing.T) {
		shot := filepath.Join(t.TempDir(), "ops.png")
		runChromium(t, bin, "--screenshot="+shot, "--window-size=1200,800", pageURL)
		f, err := os.Open(shot)
		if err != nil {
			t.Fatalf("no screenshot: %v", err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("decoding the screenshot: %v", err)
		}
		checkScreenshot(t, img)
	})

	t.Run("dom", func(t *testing.T) {
		dom := string(runChromium(t, bin, "--dump-dom", pageURL))
		for _, want := range []string{
			`<meta http-equiv="refresh" content="5">`,
			`<table id="breakers"`,
			`<table id="give-ups"`,
			`<tr class="state-closed"><td><code>` + closedOrigin + `</code>`,
			`action="./isolate"`,
			`action="./reset"`,
		} {
			if !strings.Contains(dom, want) {
				t.Errorf("the DOM lacks %s", want)
			}
		}
		// The open row comes first and names the open origin.
		_, open, ok := strings.Cut(dom, `<tr class="state-open">`)
		open, _, _ = strings.Cut(open, "</tr>")
		if !ok || !strings.Contains(open, "<code>"+openOrigin+"</code>") || !strings.Contains(open, ">open<") {
			t.Errorf("the DOM has no open row for %s: %q", openOrigin, open)
		}
		if strings.Index(dom, openOrigin) > strings.Index(dom, closedOrigin) {
			t.Errorf("the open origin is not listed before the closed one")
		}
		// The give-up, by its path, without its query.
		_, giveUps, _ := strings.Cut(dom, `id="give-ups"`)
		if !strings.Contains(giveUps, "<code>/orders/42</code>") {
			t.Errorf("the give-ups table does not show /orders/42:\n%s", giveUps)
		}
		if strings.Contains(dom, "hunter2") {
			t.Errorf("the DOM shows a query string")
		}
		if !strings.Contains(dom, "</html>") {
			t.Errorf("the DOM dump is cut short:\n%s", dom)
		}
	})
}

// openRow is the background of an open circuit's row: #fde0de.
var openRow = [3]int{0xfd, 0xe0, 0xde}

// checkScreenshot checks that img is about 1200x800, not blank, and shows an
// open row's background.
func checkScreenshot(t *testing.T, img image.Image) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() < 1100 || b.Dx() > 1300 || b.Dy() < 700 || b.Dy() > 900 {
		t.Fatalf("the screenshot is %dx%d, want about 1200x800", b.Dx(), b.Dy())
	}
	colours := map[[3]uint32]bool{}
	nonWhite, pink, total := 0, 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			px := [3]uint32{r >> 8, g >> 8, bl >> 8}
			colours[px] = true
			total++
			if px[0] < 245 || px[1] < 245 || px[2] < 245 {
				nonWhite++
			}
			if near(px, openRow, 4) {
				pink++
			}
		}
	}
	t.Logf("screenshot %dx%d: %d colours, %d of %d pixels not white, %d of the open row's pink",
		b.Dx(), b.Dy(), len(colours), nonWhite, total, pink)
	if len(colours) < 16 {
		t.Errorf("the screenshot has %d colours: blank", len(colours))
	}
	if nonWhite < total/100 {
		t.Errorf("only %d of %d pixels are not white: the page did not render", nonWhite, total)
	}
	// One row of cells, each at least a text line high, across several
	// hundred pixels.
	if pink < 2000 {
		t.Errorf("only %d pixels of the open row's background #fde0de: the breaker table did not render", pink)
	}
}

// near reports whether px is within tol of want on every channel.
func near(px [3]uint32, want [3]int, tol int) bool {
	for i := range px {
		if d := int(px[i]) - want[i]; d < -tol || d > tol {
			return false
		}
	}
	return true
}
