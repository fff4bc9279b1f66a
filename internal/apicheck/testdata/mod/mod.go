// Package mod is a module that exercises every kind of line apicheck writes.
package mod

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Funcs: parameter names are dropped, multi-name parameters expanded.

func Lookup(key string) (string, bool) { return key, false }

func Split(a, b int, opts ...Option) (n int, err error) { return a + b + len(opts), nil }

func Register(name string, fn func(ctx string, n int) error) {}

func unexported() {}

// Generic functions and types.

func Map[T, U any](s []T, f func(T) U) []U { return nil }

func Keys[K comparable, V any](m map[K]V) []K { return nil }

type Number interface {
	~int | ~int64 | ~float64
}

type List[T any] struct {
	Items []T
	n     int
}

func (l *List[T]) Push(v T) { l.Items = append(l.Items, v) }

func (l List[T]) Len() int { return len(l.Items) }

type Pair[K comparable, V any] struct {
	Key   K
	Value V
}

// Methods: on exported types only.

type Client struct {
	Name      string
	A, B      int
	Timeout   time.Duration `json:"timeout"`
	io.Reader               // embedded, exported
	*Options                // embedded pointer
	embedded                // unexported: its exported field and methods are promoted
	cfg       config
	Callback  func(req string, attempt int) (ok bool)
	Anonymous struct{ X, Y int }
}

func (c *Client) Get(url string, opts ...Option) (*Response, error) { return nil, nil }

func (c Client) String() string { return c.Name }

func (c *Client) close() {}

type embedded struct {
	Promoted int
	hidden   int
	Name     string // shadowed by Client.Name
}

func (e *embedded) PromotedPtr()  {}
func (e embedded) PromotedValue() {}
func (e embedded) String() string { return "" } // shadowed by Client.String

type Options struct{ Retries int }

type Response struct{}

type config struct{ Debug bool }

func (c *config) Apply() {} // not API: config is unexported

// Interfaces.

type Doer interface {
	Do(req string) (resp string, err error)
	io.Closer
	sealer
	private()
}

type sealer interface{ Seal(force bool) }

type Empty interface{}

// Other types and aliases.

type Option func(*config)

type State uint8

type Duration = time.Duration

type Handler = func(w io.Writer, r string)

// Constants.

const (
	Closed State = iota
	Open
	HalfOpen
	numStates // unexported
)

const (
	KB = 1 << (10 * (iota + 1))
	MB
)

const DefaultTimeout = 10 * time.Second

const Typed time.Duration = 5

const A, B = 1, "b"

// Variables.

var ErrClosed = errors.New("mod: closed")

var ErrWrapped = fmt.Errorf("mod: %w", ErrClosed)

var Default = NewClient()

var DefaultList = &List[int]{}

var Names = []string{"a"}

var Count int

var Ratio = 0.5

var Enabled = true

var Zero = State(0)

var Unknown = time.Now()

var x, Y = 1, 2

func NewClient() *Client { return &Client{} }
