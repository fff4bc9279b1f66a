package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chart is what the tests read back from the timeline SVG.
type chart struct {
	phases []string         // data-phase of each class="phase" element, in order
	states []string         // data-state of each class="breaker" element
	series map[string]int   // data-series -> number of points
	bad    map[string]error // data-series -> a point that does not parse
}

// parseSVG decodes the SVG as generic XML tokens: it must be well-formed,
// with an <svg> root in the SVG namespace.
func parseSVG(t *testing.T, data []byte) chart {
	t.Helper()
	c := chart{series: map[string]int{}, bad: map[string]error{}}
	d := xml.NewDecoder(bytes.NewReader(data))
	root := true
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root {
			if se.Name.Local != "svg" || se.Name.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("root element %v, want svg in the SVG namespace", se.Name)
			}
			root = false
		}
		attr := map[string]string{}
		for _, a := range se.Attr {
			attr[a.Name.Local] = a.Value
		}
		switch attr["class"] {
		case "phase":
			c.phases = append(c.phases, attr["data-phase"])
		case "breaker":
			c.states = append(c.states, attr["data-state"])
		case "series":
			name := attr["data-series"]
			for _, pt := range strings.Fields(attr["points"]) {
				xs, ys, ok := strings.Cut(pt, ",")
				_, errX := strconv.ParseFloat(xs, 64)
				_, errY := strconv.ParseFloat(ys, 64)
				if !ok || errX != nil || errY != nil {
					c.bad[name] = errors.New("bad point " + pt)
				}
				c.series[name]++
			}
		}
	}
	if root {
		t.Fatalf("the SVG has no element")
	}
	return c
}

// TestSVGTimeline runs a short scenario with -svg and reads the chart back:
// one band per phase, named as the scenario's phases and in their order;
// non-empty series; the breaker seen open at least once.
func TestSVGTimeline(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "timeline.svg")
	out, err := runDemo(t, "-duration=5s", "-rate=40", "-quiet", "-svg", path)
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := parseSVG(t, data)

	var want []string
	for _, p := range scale(config{duration: 5 * time.Second, rate: 40, scenario: "default"}).phases {
		want = append(want, p.name)
	}
	if !slices.Equal(c.phases, want) {
		t.Errorf("phase bands %q, want %q", c.phases, want)
	}
	for _, s := range []string{"success-rate", "attempts-per-second"} {
		if c.series[s] < 2 {
			t.Errorf("series %q has %d points, want at least 2", s, c.series[s])
		}
		if err := c.bad[s]; err != nil {
			t.Errorf("series %q: %v", s, err)
		}
	}
	if !slices.Contains(c.states, "open") {
		t.Errorf("breaker bands %q, want at least one open", c.states)
	}
	for _, s := range c.states {
		if s != "closed" && s != "open" && s != "half-open" {
			t.Errorf("breaker band with state %q", s)
		}
	}
}

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestSVGScreenshot opens the timeline in headless Chromium, as a user's
// browser would, and checks that the screenshot is not blank.
func TestSVGScreenshot(t *testing.T) {
	t.Parallel()
	bin := chromiumPath()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; in CI .ci/run installs it")
		}
		t.Skip("chromium is not installed (apt-get install chromium): skipping the screenshot of the timeline")
	}
	dir := t.TempDir()
	svgPath := filepath.Join(dir, "timeline.svg")
	if out, err := runDemo(t, "-duration=4s", "-rate=40", "-quiet", "-svg", svgPath); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out)
	}

	// Chromium's profile goes in a directory of its own, removed on a best
	// effort basis: a helper process may still be writing to it.
	profile, err := os.MkdirTemp("", "tempest-demo-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--window-size=1200,700", "--screenshot="+shot,
		(&url.URL{Scheme: "file", Path: svgPath}).String())
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("chromium took %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\nchromium said:\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding the screenshot: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 500 {
		t.Fatalf("screenshot is %dx%d, want about 1200x700", b.Dx(), b.Dy())
	}
	colours := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}] = true
		}
	}
	// The chart area, in the SVG's user units, shown at 100%.
	area := image.Rect(int(plotL), int(plotT), int(plotR), int(plotB)).Intersect(b)
	nonWhite, total := 0, 0
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			total++
			if r, g, bl, _ := img.At(x, y).RGBA(); r>>8 < 245 || g>>8 < 245 || bl>>8 < 245 {
				nonWhite++
			}
		}
	}
	t.Logf("screenshot %dx%d: %d colours; %d of %d pixels of the chart area not white", b.Dx(), b.Dy(), len(colours), nonWhite, total)
	if len(colours) <= 3 {
		t.Errorf("screenshot has %d colours: blank", len(colours))
	}
	if nonWhite < total/10 {
		t.Errorf("only %d of %d pixels of the chart area are not white: the chart did not render", nonWhite, total)
	}
}
