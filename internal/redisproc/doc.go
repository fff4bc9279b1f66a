// Package redisproc runs a private redis-server process on loopback: no
// persistence, its own directory, started and waited for until it answers
// PING, killed and waited for at the end. internal/redistest uses it for
// tests and the demo's -fleet for its Redis. Standard library only.
package redisproc
