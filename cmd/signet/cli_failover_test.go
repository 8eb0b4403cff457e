package main

import (
	"flag"
	"slices"
	"testing"
)

// TestFailoverFlag: --failover lists the other addresses a lost session
// reconnects to, in order; a malformed one is refused.
func TestFailoverFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	if _, err := parseClientArgs(fs, []string{"//h/s", "-U", "", "--failover", "b:4450, c ,[::1]:445"}); err != nil {
		t.Fatal(err)
	}
	d, err := cf.dialer("h")
	if err != nil || !slices.Equal(d.Failover, []string{"b:4450", "c", "[::1]:445"}) {
		t.Fatalf("--failover: %q, %v", d.Failover, err)
	}
	cf.failover = "b:4450,bad/addr"
	if _, err := cf.dialer("h"); err == nil {
		t.Fatal("--failover with a malformed address accepted")
	}
}
