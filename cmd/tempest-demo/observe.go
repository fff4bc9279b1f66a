package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/ops"
	tempestotel "github.com/tempestsdk/tempest/otel"
)

// observer serves, while the scenario runs, the client's operator page
// (package ops) at /ops/ and its metrics (package otel, through
// OpenTelemetry's Prometheus exporter) at /metrics.
type observer struct {
	inst    *tempestotel.Instrumentation
	mp      *sdkmetric.MeterProvider
	ln      net.Listener
	srv     *http.Server
	served  chan error
	stopObs func()

	closeOnce sync.Once
}

// newObserver makes the metrics pipeline and listens on addr; serve starts
// it once the client exists.
func newObserver(addr string) (*observer, error) {
	reg := promclient.NewRegistry()
	exp, err := prometheus.New(prometheus.WithRegisterer(reg), prometheus.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("-observe: the Prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	inst, err := tempestotel.New(tempestotel.WithMeterProvider(mp))
	if err != nil {
		mp.Shutdown(context.Background())
		return nil, fmt.Errorf("-observe: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		mp.Shutdown(context.Background())
		return nil, fmt.Errorf("-observe: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	o := &observer{inst: inst, mp: mp, ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, served: make(chan error, 1)}
	return o, nil
}

// hooks are the instrumentation's, for the client's options.
func (o *observer) hooks() httpclient.Hooks { return o.inst.Hooks() }

// url is where it serves.
func (o *observer) url() string { return "http://" + o.ln.Addr().String() }

// serve observes client and starts serving.
func (o *observer) serve(client *httpclient.Client) error {
	stop, err := o.inst.Observe(client)
	if err != nil {
		return fmt.Errorf("-observe: %w", err)
	}
	o.stopObs = stop
	mux := o.srv.Handler.(*http.ServeMux)
	mux.Handle("/ops/", http.StripPrefix("/ops", ops.Handler(client, ops.WithControls())))
	mux.Handle("GET /{$}", http.RedirectHandler("/ops/", http.StatusFound))
	go func() { o.served <- o.srv.Serve(o.ln) }()
	return nil
}

// close stops serving and shuts the metrics pipeline down. It is safe to
// call twice.
func (o *observer) close() error {
	var err error
	o.closeOnce.Do(func() { err = o.shut() })
	return err
}

func (o *observer) shut() error {
	if o.stopObs != nil {
		o.stopObs()
	}
	err := o.srv.Close()
	if o.stopObs != nil {
		if serr := <-o.served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	} else {
		o.ln.Close()
	}
	return errors.Join(err, o.mp.Shutdown(context.Background()))
}
