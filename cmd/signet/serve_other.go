//go:build !linux

package main

import (
	"context"
	"fmt"
	"runtime"
)

func init() {
	registerCommand("serve", "run the SMB server (Linux only)", runServe)
}

// runServe explains that the server is not available here: its share
// backend (vfs/localfs) relies on Linux system calls (openat2 with
// RESOLVE_BENEATH, statx). The client commands work on every platform.
func runServe(context.Context, []string) error {
	return fmt.Errorf("the server runs on Linux only (its file backend needs Linux system calls); this %s/%s build has the client commands (ls, get, put, probe, ...)", runtime.GOOS, runtime.GOARCH)
}
