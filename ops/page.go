package ops

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
	"github.com/tempestsdk/tempest/httpclient"
)

// page is the view the template renders: strings made here, escaped there.
type page struct {
	Generated string
	Rows      []row
	Total     int
	Omitted   int
	Counts    [3]int // open, half-open, closed, over every origin
	GiveUps   []giveUp
	Controls  bool
	Token     string
	Action    string // what the forms' actions start with: "./" or "./<last segment>/"

	Concurrency bool // the client has a concurrency limit (R75): the page has a column for it
	Saturated   int  // origins whose limiter is saturated, over every origin
}

type row struct {
	Origin        string
	State         string // "open", "half-open", "closed", or "" with no breaker
	Probes        int    // half-open probes in flight
	Generation    uint64
	Failures      int
	Calls         int
	UntilHalfOpen string
	Change        *change
	Budget        *httpclient.BudgetStatus
	Conc          *concurrency.Snapshot // nil: no concurrency limiter
	Saturated     bool                  // Conc has callers queued or every slot taken
}

type change struct {
	From, To, Cause string
	At, Ago         string
}

type giveUp struct {
	At, Ago, Method, Origin, Path, Stop string
	N, Max                              int
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	st := h.read(now)
	p := page{
		Generated: stamp(now),
		Total:     st.OriginsTotal,
		Counts:    st.counts,
		Omitted:   st.OriginsOmitted,
		Controls:  h.cfg.controls,
		Action:    actionBase(r),

		Concurrency: st.concOn,
		Saturated:   st.saturated,
	}
	if p.Controls {
		p.Token = h.token
	}
	for _, o := range st.Origins {
		rw := row{Origin: o.Origin, Budget: o.Budget, Conc: o.Concurrency, Saturated: saturated(o.Concurrency)}
		if s := o.Breaker; s != nil {
			rw.State = s.State.String()
			rw.Probes = s.ProbesInFlight
			rw.Generation = s.Generation
			rw.Failures, rw.Calls = s.Failures, s.Calls
			if s.State == breaker.Open && !s.Until.IsZero() {
				rw.UntilHalfOpen = short(s.Until.Sub(now))
			}
			if c := s.LastChange; c != nil {
				rw.Change = &change{From: c.From.String(), To: c.To.String(), Cause: c.Cause.String(), At: stamp(c.At), Ago: short(now.Sub(c.At)) + " ago"}
			}
		}
		p.Rows = append(p.Rows, rw)
	}
	for _, g := range st.GiveUps {
		p.GiveUps = append(p.GiveUps, giveUp{
			At: stamp(g.At), Ago: short(now.Sub(g.At)) + " ago",
			Method: g.Attempt.Method, Origin: g.Attempt.Origin, Path: g.Attempt.Path,
			N: g.Attempt.N, Max: g.Attempt.Max, Stop: string(g.Stop),
		})
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		http.Error(w, "ops: rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// actionBase returns what the forms' actions start with, so that they
// resolve beside the page wherever it is mounted: "./" for a page whose URL
// ends with a slash; for one mounted at a prefix without its slash (the
// handler sees the path ""), "./" and the URL's last segment.
func actionBase(r *http.Request) string {
	if r.URL.Path != "" {
		return "./"
	}
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return "./"
	}
	p := u.EscapedPath()
	if p == "" || strings.HasSuffix(p, "/") {
		return "./"
	}
	return "./" + path.Base(p) + "/"
}

// stamp formats a time for the page, in UTC to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// short formats a duration for the page: to the second, or to the
// millisecond below one.
func short(d time.Duration) string {
	d = max(d, 0)
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>HTTP client: breakers, budgets and limits</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d1d1f;background:#fff}
h1{font-size:1.3em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.5em 0 .4em}
.note{background:#fff8e1;border:1px solid #e0c060;padding:.4em .7em;display:inline-block}
table{border-collapse:collapse;margin-top:.4em}
th,td{border:1px solid #d0d0d7;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,monospace;word-break:break-all}
tr.state-open td{background:#fde0de}tr.state-half-open td{background:#fff1c2}tr.state-closed td{background:#eef8ee}
.state{font-weight:600}tr.state-open .state{color:#a01010}tr.state-half-open .state{color:#8a5a00}tr.state-closed .state{color:#1e6b1e}
.muted{color:#6e6e73}form{display:inline;margin:0 .2em 0 0}input[name=for]{width:4em}input[name=limit]{width:5em}
tr td.saturated{background:#fff1c2;color:#8a5a00}
</style>
</head>
<body>
<h1>HTTP client: breakers, budgets and give-ups</h1>
<p class="note">This page belongs on an internal port, behind the service's own authentication: it shows which upstreams fail{{if .Controls}}, and its forms open and close their circuits{{if .Concurrency}} and set their concurrency limits{{end}}{{end}}.</p>
<p>Read at {{.Generated}}; reloads every 5 s. {{.Total}} origin{{if ne .Total 1}}s{{end}}: {{index .Counts 0}} open, {{index .Counts 1}} half-open, {{index .Counts 2}} closed.{{if .Omitted}} <strong>{{.Omitted}} more origins not listed</strong> (open circuits are listed first).{{end}}{{if .Concurrency}} {{.Saturated}} at their concurrency limit.{{end}}</p>
{{- if .Controls}}
<div><form method="post" action="{{.Action}}isolate"><input type="hidden" name="token" value="{{.Token}}"><label>Isolate origin <input name="origin" placeholder="https://host:port" required></label> for <input name="for" value="5m" required> <button>isolate</button></form></div>
{{- end}}
<h2>Breakers</h2>
<table id="breakers">
<thead><tr><th>origin</th><th>state</th><th>generation</th><th>failures / calls</th><th>until half-open</th><th>last change</th><th>budget: calls / retries / available</th>{{if .Concurrency}}<th>concurrency</th>{{end}}{{if .Controls}}<th>controls</th>{{end}}</tr></thead>
<tbody>
{{- range $row := .Rows}}
<tr class="state-{{if .State}}{{.State}}{{else}}closed{{end}}"><td><code>{{.Origin}}</code></td>
<td class="state">{{if .State}}{{.State}}{{if .Probes}} ({{.Probes}} probe{{if gt .Probes 1}}s{{end}} in flight){{end}}{{else}}<span class="muted">no breaker</span>{{end}}</td>
<td class="n">{{.Generation}}</td><td class="n">{{.Failures}} / {{.Calls}}</td><td class="n">{{.UntilHalfOpen}}</td>
<td>{{with .Change}}{{.From}} → {{.To}}, {{.Cause}}, <span title="{{.At}}">{{.Ago}}</span>{{else}}<span class="muted">none</span>{{end}}</td>
<td class="n">{{with .Budget}}{{.Calls}} / {{.Retries}} / {{.Available}}{{else}}<span class="muted">none</span>{{end}}</td>
{{- if $.Concurrency}}
{{with .Conc}}<td{{if $row.Saturated}} class="saturated"{{end}}>limit {{.Limit}} · in flight {{.InFlight}} · queued {{.Queued}} · refused {{.Rejected}}{{if $row.Saturated}} <strong>saturated</strong>{{end}}</td>{{else}}<td><span class="muted">none</span></td>{{end}}
{{- end}}
{{- if $.Controls}}
<td>{{if .State}}<form method="post" action="{{$.Action}}isolate"><input type="hidden" name="token" value="{{$.Token}}"><input type="hidden" name="origin" value="{{.Origin}}"><input name="for" value="5m" aria-label="isolate for"><button>isolate</button></form><form method="post" action="{{$.Action}}reset"><input type="hidden" name="token" value="{{$.Token}}"><input type="hidden" name="origin" value="{{.Origin}}"><button>reset</button></form>{{end}}{{with .Conc}}<form method="post" action="{{$.Action}}limit"><input type="hidden" name="token" value="{{$.Token}}"><input type="hidden" name="origin" value="{{$row.Origin}}"><input name="limit" type="number" min="1" max="100000" value="{{.Limit}}" aria-label="concurrency limit" required><button>set limit</button></form>{{end}}</td>
{{- end}}</tr>
{{- else}}
<tr><td colspan="{{if .Controls}}{{if .Concurrency}}9{{else}}8{{end}}{{else}}{{if .Concurrency}}8{{else}}7{{end}}{{end}}" class="muted">The client keeps no origin yet.</td></tr>
{{- end}}
</tbody>
</table>
<h2>Recent give-ups</h2>
<table id="give-ups">
<thead><tr><th>time</th><th>method</th><th>origin</th><th>path</th><th>attempt</th><th>stop</th></tr></thead>
<tbody>
{{- range .GiveUps}}
<tr><td><span title="{{.At}}">{{.Ago}}</span></td><td>{{.Method}}</td><td><code>{{.Origin}}</code></td><td><code>{{.Path}}</code></td><td class="n">{{.N}} / {{.Max}}</td><td>{{.Stop}}</td></tr>
{{- else}}
<tr><td colspan="6" class="muted">No call has given up early.</td></tr>
{{- end}}
</tbody>
</table>
</body>
</html>
`))
