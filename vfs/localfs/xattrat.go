//go:build linux

package localfs

import (
	"strconv"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// xattrArgs is struct xattr_args of getxattrat(2).
type xattrArgs struct {
	value uint64 // user address of the buffer
	size  uint32
	flags uint32
}

// getxattratState records whether getxattrat(2) (Linux 6.13) can be used:
// 0 not yet known, 1 yes, 2 no (an older kernel, or a seccomp filter that
// refuses a system call it does not know with ENOSYS or EPERM).
var getxattratState atomic.Int32

// lgetxattrAt reads the extended attribute attr of the entry base (one
// name, no separator) of the directory dirfd into b, not following a
// final symbolic link, and returns its length. With getxattrat(2) the
// name is looked up in dirfd directly; otherwise lgetxattr(2) reaches the
// entry through /proc/self/fd, which costs a walk through procfs per call
// (most of a folder listing's time once each entry is described through
// its folder). Errors are raw errnos, as lgetxattr(2) gives them.
func lgetxattrAt(dirfd int, base, attr string, b []byte) (int, error) {
	switch getxattratState.Load() {
	case 1:
		return getxattrat(dirfd, base, attr, b)
	case 2:
		return lgetxattrProc(dirfd, base, attr, b)
	}
	n, err := getxattrat(dirfd, base, attr, b)
	switch err {
	case unix.ENOSYS:
		getxattratState.Store(2)
		return lgetxattrProc(dirfd, base, attr, b)
	case unix.EPERM:
		// A symbolic link answers EPERM for a user attribute; so may a
		// seccomp filter for a call it does not know. The old call tells
		// which.
		n, err = lgetxattrProc(dirfd, base, attr, b)
		if err != unix.EPERM {
			getxattratState.Store(2)
		}
		return n, err
	}
	getxattratState.Store(1)
	return n, err
}

// getxattrat calls getxattrat(2) with AT_SYMLINK_NOFOLLOW.
func getxattrat(dirfd int, base, attr string, b []byte) (int, error) {
	p, err := unix.BytePtrFromString(base)
	if err != nil {
		return -1, err
	}
	a, err := unix.BytePtrFromString(attr)
	if err != nil {
		return -1, err
	}
	args := xattrArgs{size: uint32(len(b))}
	if len(b) > 0 {
		args.value = uint64(uintptr(unsafe.Pointer(&b[0])))
	}
	n, _, errno := unix.Syscall6(unix.SYS_GETXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		uintptr(unix.AT_SYMLINK_NOFOLLOW), uintptr(unsafe.Pointer(a)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}

// lgetxattrProc is lgetxattrAt through /proc/self/fd.
func lgetxattrProc(dirfd int, base, attr string, b []byte) (int, error) {
	return unix.Lgetxattr(procPath(dirfd, base), attr, b)
}

// procPath names the entry base of the directory dirfd through procfs.
func procPath(dirfd int, base string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + base
}
