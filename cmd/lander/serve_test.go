package main

import "testing"

func TestServeThreads(t *testing.T) {
	for _, c := range []struct{ configured, cpus, threads, parallel int }{
		{0, 2, 1, 2}, // the serving default: a thread per batch, a batch per CPU
		{0, 1, 1, 1},
		{2, 2, 2, 1}, // encoder.threads is kept
		{4, 2, 4, 1},
		{2, 8, 2, 4},
	} {
		threads, parallel := serveThreads(c.configured, c.cpus)
		if threads != c.threads || parallel != c.parallel {
			t.Errorf("serveThreads(%d, %d) = %d, %d; want %d, %d", c.configured, c.cpus, threads, parallel, c.threads, c.parallel)
		}
	}
}
