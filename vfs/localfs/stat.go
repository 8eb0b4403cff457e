//go:build linux

package localfs

import (
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

// statxMask is what localfs asks statx for.
const statxMask = unix.STATX_BASIC_STATS | unix.STATX_BTIME

// statAt describes name relative to directory dirfd (or dirfd itself when
// name is "" and flags has AT_EMPTY_PATH), reporting it as base. It uses
// statx for the birth time and falls back to fstatat on kernels without it.
// Errors are raw errnos.
func statAt(dirfd int, name string, flags int, base string) (vfs.FileInfo, error) {
	var stx unix.Statx_t
	err := unix.Statx(dirfd, name, flags|unix.AT_STATX_SYNC_AS_STAT, statxMask, &stx)
	if err == unix.ENOSYS {
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, flags); err != nil {
			return vfs.FileInfo{}, err
		}
		return fromStat(&st, base), nil
	}
	if err != nil {
		return vfs.FileInfo{}, err
	}
	return fromStatx(&stx, base), nil
}

// fromStatx converts a statx result.
func fromStatx(stx *unix.Statx_t, base string) vfs.FileInfo {
	fi := vfs.FileInfo{
		Name:           base,
		Size:           int64(stx.Size),
		Mode:           fileMode(uint32(stx.Mode)),
		ModTime:        statxTime(stx.Mtime),
		AccessTime:     statxTime(stx.Atime),
		ChangeTime:     statxTime(stx.Ctime),
		FileID:         stx.Ino,
		Nlink:          uint64(stx.Nlink),
		AllocationSize: int64(stx.Blocks) * 512,
	}
	if stx.Mask&unix.STATX_BTIME != 0 {
		fi.BirthTime = statxTime(stx.Btime)
	}
	return fi
}

// fromStat converts a stat result; it has no birth time.
func fromStat(st *unix.Stat_t, base string) vfs.FileInfo {
	return vfs.FileInfo{
		Name:           base,
		Size:           st.Size,
		Mode:           fileMode(st.Mode),
		ModTime:        time.Unix(st.Mtim.Unix()),
		AccessTime:     time.Unix(st.Atim.Unix()),
		ChangeTime:     time.Unix(st.Ctim.Unix()),
		FileID:         st.Ino,
		Nlink:          uint64(st.Nlink),
		AllocationSize: st.Blocks * 512,
	}
}

// fromOSInfo converts an os.FileInfo from os.Root.Stat, which carries a
// *syscall.Stat_t on Linux.
func fromOSInfo(info os.FileInfo, base string) vfs.FileInfo {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return vfs.FileInfo{Name: base, Size: info.Size(), Mode: info.Mode(), ModTime: info.ModTime()}
	}
	return vfs.FileInfo{
		Name:           base,
		Size:           st.Size,
		Mode:           fileMode(st.Mode),
		ModTime:        time.Unix(st.Mtim.Unix()),
		AccessTime:     time.Unix(st.Atim.Unix()),
		ChangeTime:     time.Unix(st.Ctim.Unix()),
		FileID:         st.Ino,
		Nlink:          uint64(st.Nlink),
		AllocationSize: st.Blocks * 512,
	}
}

func statxTime(ts unix.StatxTimestamp) time.Time {
	return time.Unix(ts.Sec, int64(ts.Nsec))
}

// fileMode converts a st_mode value to an fs.FileMode.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// fsName returns a short name for a statfs f_type magic number.
func fsName(magic int64) string {
	switch magic {
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlay"
	case unix.NFS_SUPER_MAGIC:
		return "nfs"
	case unix.F2FS_SUPER_MAGIC:
		return "f2fs"
	case 0x2fc12fc1:
		return "zfs"
	}
	return "unix"
}
