package memfs

import (
	"context"
	"io/fs"
	"os"
	"path"
	"slices"

	"github.com/signetsmb/signet/vfs"
)

// Named streams in memfs: node.streams maps a stream name to a node of
// its own holding the data (charged against the capacity like any file),
// whose base points back at the file. A stream node reports its base's
// FileID, mode and times. Removing the file drops its streams with it
// (their storage is released once no File of theirs is open).

// maxStreams bounds the named streams of one file.
const maxStreams = 256

var _ vfs.StreamFS = (*FS)(nil)

// OpenStream implements vfs.StreamFS.
func (m *FS) OpenStream(ctx context.Context, name, stream string, flag int) (vfs.File, error) {
	clean, err := prepare(ctx, name)
	if err == nil {
		err = vfs.CheckOpenFlag(flag)
	}
	if err == nil {
		err = vfs.CheckStreamName(stream)
	}
	if err != nil {
		return nil, pathErr("openstream", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	base, err := m.lookup(clean)
	if err != nil {
		return nil, pathErr("openstream", name, err)
	}
	s := base.streams[stream]
	switch {
	case s == nil && flag&os.O_CREATE == 0:
		return nil, pathErr("openstream", name, fs.ErrNotExist)
	case s == nil:
		if len(base.streams) >= maxStreams {
			return nil, pathErr("openstream", name, vfs.ErrNoSpace)
		}
		s = &node{base: base, nlink: 1, mode: base.mode.Perm()}
		if base.streams == nil {
			base.streams = map[string]*node{}
		}
		base.streams[stream] = s
		base.ctime = m.now()
	case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		return nil, pathErr("openstream", name, fs.ErrExist)
	case flag&os.O_TRUNC != 0:
		if err := m.resize(s, 0, 0); err != nil {
			return nil, pathErr("openstream", name, err)
		}
		s.holes = nil
		base.touch(m.now())
	}
	s.opens++
	return &file{fs: m, n: s, name: path.Base(clean), flag: flag}, nil
}

// Streams implements vfs.StreamFS.
func (m *FS) Streams(ctx context.Context, name string) ([]vfs.StreamInfo, error) {
	clean, err := prepare(ctx, name)
	if err != nil {
		return nil, pathErr("streams", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	base, err := m.lookup(clean)
	if err != nil {
		return nil, pathErr("streams", name, err)
	}
	out := make([]vfs.StreamInfo, 0, len(base.streams))
	for sn, s := range base.streams {
		out = append(out, vfs.StreamInfo{Name: sn, Size: int64(len(s.data)), AllocationSize: roundUp(s.footprint(), blockSize)})
	}
	slices.SortFunc(out, func(a, b vfs.StreamInfo) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out, nil
}

// RemoveStream implements vfs.StreamFS.
func (m *FS) RemoveStream(ctx context.Context, name, stream string) error {
	clean, err := prepare(ctx, name)
	if err != nil {
		return pathErr("removestream", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	base, err := m.lookup(clean)
	if err != nil {
		return pathErr("removestream", name, err)
	}
	s := base.streams[stream]
	if s == nil {
		return pathErr("removestream", name, fs.ErrNotExist)
	}
	delete(base.streams, stream)
	s.nlink = 0
	m.maybeRelease(s)
	base.ctime = m.now()
	return nil
}

// RenameStream implements vfs.StreamFS.
func (m *FS) RenameStream(ctx context.Context, name, oldStream, newStream string, replace bool) error {
	clean, err := prepare(ctx, name)
	if err == nil {
		err = vfs.CheckStreamName(newStream)
	}
	if err != nil {
		return pathErr("renamestream", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	base, err := m.lookup(clean)
	if err != nil {
		return pathErr("renamestream", name, err)
	}
	s := base.streams[oldStream]
	switch {
	case s == nil:
		return pathErr("renamestream", name, fs.ErrNotExist)
	case oldStream == newStream:
		return nil
	}
	if old := base.streams[newStream]; old != nil {
		if !replace {
			return pathErr("renamestream", name, fs.ErrExist)
		}
		old.nlink = 0
		m.maybeRelease(old)
	}
	delete(base.streams, oldStream)
	base.streams[newStream] = s
	base.ctime = m.now()
	return nil
}

// releaseStreams drops the streams of a released file.
func (m *FS) releaseStreams(n *node) {
	for sn, s := range n.streams {
		delete(n.streams, sn)
		s.nlink = 0
		m.maybeRelease(s)
	}
}
