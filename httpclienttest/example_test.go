package httpclienttest_test

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/tempestsdk/tempest/httpclienttest"
)

func ExampleNewServer() {
	srv := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(503, "Retry-After", "1"),
		httpclienttest.OK("hello"),
	})
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()

	for range 3 {
		resp, err := client.Get(srv.URL + "/")
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d Retry-After=%q body=%q\n", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	fmt.Println("hits:", srv.Hits(), "conns:", srv.Conns())
	// Output:
	// 503 Retry-After="1" body=""
	// 200 Retry-After="" body="hello"
	// 200 Retry-After="" body="hello"
	// hits: 3 conns: 1
}

func ExampleNewMemoryServer() {
	// No socket: the client reaches the server over net.Pipe. Inside a
	// testing/synctest bubble, make the server and the client in the bubble.
	srv := httpclienttest.NewMemoryServer(httpclienttest.Sequence{
		{Fault: httpclienttest.ResetBeforeResponse},
		httpclienttest.OK("recovered"),
	}, httpclienttest.WithLog(func(r httpclienttest.Request) {
		fmt.Println("upstream:", r.Hit, r.Method, r.Host+r.Path, r.Proto, r.Fault)
	}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()

	_, err := client.Get(srv.URL + "/orders/7")
	fmt.Println("reset:", errors.Is(err, syscall.ECONNRESET))

	resp, err := client.Get(srv.URL + "/orders/7")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// upstream: 1 GET upstream.test/orders/7 HTTP/1.1 ResetBeforeResponse
	// reset: true
	// upstream: 2 GET upstream.test/orders/7 HTTP/1.1 None
	// 200 recovered
}
