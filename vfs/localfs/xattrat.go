//go:build linux

package localfs

import (
	"strconv"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The extended attributes of a folder's entry are read by the entry's name
// relative to the folder's descriptor, never following a final symbolic
// link. getxattrat(2) and listxattrat(2) (Linux 6.13) do that directly;
// on older kernels lgetxattr(2) and llistxattr(2) reach the entry through
// /proc/self/fd/N/name, which costs a walk through procfs per call (most
// of a folder listing's time once each entry is described through its
// folder). Errors are raw errnos, as the l*xattr calls give them.

// xattrAtState records whether the *xattrat calls can be used: 0 not yet
// known, 1 yes, 2 no (an older kernel, or a seccomp filter that refuses a
// system call it does not know with ENOSYS or EPERM).
type xattrAtState struct{ v atomic.Int32 }

var getxattratState, listxattratState xattrAtState

// call runs at, or proc when at is known not to work; the first calls
// find out which.
func (s *xattrAtState) call(at, proc func() (int, error)) (int, error) {
	switch s.v.Load() {
	case 1:
		return at()
	case 2:
		return proc()
	}
	n, err := at()
	switch err {
	case unix.ENOSYS:
		s.v.Store(2)
		return proc()
	case unix.EPERM:
		// A symbolic link answers EPERM for a user attribute; so may a
		// seccomp filter for a call it does not know. The old call tells
		// which.
		n, err = proc()
		if err != unix.EPERM {
			s.v.Store(2)
		}
		return n, err
	}
	s.v.Store(1)
	return n, err
}

// lgetxattrAt reads the extended attribute attr of the entry base (one
// name, no separator) of the directory dirfd into b and returns its
// length.
func lgetxattrAt(dirfd int, base, attr string, b []byte) (int, error) {
	return getxattratState.call(
		func() (int, error) { return getxattrat(dirfd, base, attr, b) },
		func() (int, error) { return lgetxattrProc(dirfd, base, attr, b) })
}

// llistxattrAt lists the extended attribute names of the entry base of
// the directory dirfd into b (each NUL-terminated) and returns the length.
func llistxattrAt(dirfd int, base string, b []byte) (int, error) {
	return listxattratState.call(
		func() (int, error) { return listxattrat(dirfd, base, b) },
		func() (int, error) { return unix.Llistxattr(procPath(dirfd, base), b) })
}

// xattrArgs is struct xattr_args of getxattrat(2).
type xattrArgs struct {
	value uint64 // user address of the buffer
	size  uint32
	flags uint32
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

// listxattrat calls listxattrat(2) with AT_SYMLINK_NOFOLLOW.
func listxattrat(dirfd int, base string, b []byte) (int, error) {
	p, err := unix.BytePtrFromString(base)
	if err != nil {
		return -1, err
	}
	var buf unsafe.Pointer
	if len(b) > 0 {
		buf = unsafe.Pointer(&b[0])
	}
	n, _, errno := unix.Syscall6(unix.SYS_LISTXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		uintptr(unix.AT_SYMLINK_NOFOLLOW), uintptr(buf), uintptr(len(b)), 0)
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
