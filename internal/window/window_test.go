package window

import (
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSlides(t *testing.T) {
	var w Window
	w.Add(0, 1, 0)
	w.Add(5, 2, 1)
	w.Add(9, 3, 2)
	if a, b := w.Sum(9); a != 6 || b != 3 {
		t.Fatalf("Sum(9) = %d, %d; want 6, 3", a, b)
	}
	if a, b := w.Sum(10); a != 5 || b != 3 {
		t.Fatalf("bucket 0 left the window: Sum(10) = %d, %d; want 5, 3", a, b)
	}
	w.Add(10, 7, 0) // reuses bucket 0's slot
	if a, _ := w.Sum(10); a != 12 {
		t.Fatalf("Sum(10) after a reuse = %d, want 12", a)
	}
	if a, b := w.Sum(30); a != 0 || b != 0 {
		t.Fatalf("everything left: Sum(30) = %d, %d", a, b)
	}
}

func TestClockStepBack(t *testing.T) {
	var w Window
	w.Add(15, 1, 0)
	w.Add(5, 1, 0) // an older number for the same slot counts in the newer bucket
	if a, _ := w.Sum(15); a != 2 {
		t.Fatalf("Sum(15) = %d, want 2", a)
	}
}

func TestConcurrentAdds(t *testing.T) {
	var w Window
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				w.Add(3, 1, 1)
			}
		})
	}
	wg.Wait()
	if a, b := w.Sum(3); a != 8000 || b != 8000 {
		t.Fatalf("Sum = %d, %d; want 8000 each", a, b)
	}
}

func BenchmarkAdd(b *testing.B) {
	var w Window
	b.ReportAllocs()
	for b.Loop() {
		w.Add(1, 1, 0)
	}
}
