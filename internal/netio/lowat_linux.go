//go:build linux

package netio

import (
	"net"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// rcvLowat returns a function setting SO_RCVLOWAT on nc, or nil when nc
// is not a TCP connection or the kernel is older than 4.18. From 4.18 on,
// TCP raises the receive buffer to hold the mark and wakes a poller only
// once that much data is queued (tcp_set_rcvlowat, tcp_data_ready); an
// older kernel could leave a mark larger than its window unreachable.
func rcvLowat(nc net.Conn) func(int) {
	tc, ok := nc.(*net.TCPConn)
	if !ok || !lowatKernel() {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return func(v int) {
		rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVLOWAT, v) })
	}
}

// lowatKernel reports whether the running kernel is 4.18 or later.
var lowatKernel = sync.OnceValue(func() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 4, 18)
})

// kernelAtLeast reports whether a kernel release string ("6.18.44-fc")
// is major.minor or later.
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(leadingDigits(parts[1]))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// leadingDigits returns the decimal digits s starts with ("18" of "18-rc1").
func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
