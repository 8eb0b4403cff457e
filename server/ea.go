package server

import (
	"errors"
	"strings"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
)

// Extended attributes [MS-FSCC 2.4.15, MS-FSA 2.1.5.11.15 and 2.1.5.14.4,
// MS-SMB2 3.3.5.20.1, 2.2.13.2.1]. They live in the backend
// (vfs.EAFile); names are kept upper-case and compared without case, as
// NTFS does. A share whose backend has no vfs.EAFS does not announce
// FILE_SUPPORTS_EXTENDED_ATTRIBUTES and answers EA requests with
// STATUS_EAS_NOT_SUPPORTED, as a file system without EAs.
//
// Enumeration: each open keeps an EA index (open.eaIndex, under open.mu),
// the position of the next EA a query without SL_RESTART_SCAN returns;
// SL_RETURN_SINGLE_ENTRY returns one entry; SL_INDEX_SPECIFIED starts at
// the 1-based index in AdditionalInformation (STATUS_NONEXISTENT_EA_ENTRY
// outside the list), as ZwQueryEaFile's EaIndex.

// maxEASize bounds the EAs of one file: NTFS allows 64 KiB
// (STATUS_EA_TOO_LARGE beyond).
const maxEASize = 65535

// Query flags of FileFullEaInformation [MS-SMB2 2.2.37].
const (
	slRestartScan       = 0x00000001
	slReturnSingleEntry = 0x00000002
	slIndexSpecified    = 0x00000004
)

// eaFS reports whether fsys keeps EAs.
func eaFS(fsys vfs.FS) bool {
	e, ok := fsys.(vfs.EAFS)
	return ok && e.SupportsEAs()
}

// eaFile returns the open's vfs.EAFile, or STATUS_EAS_NOT_SUPPORTED.
func (o *open) eaFile() (vfs.EAFile, error) {
	if o.file == nil || !eaFS(o.fs) {
		return nil, ntstatus.EasNotSupported
	}
	ef, ok := o.file.(vfs.EAFile)
	if !ok {
		return nil, ntstatus.EasNotSupported
	}
	return ef, nil
}

// fileEAs lists the open's EAs as FSCC values.
func (o *open) fileEAs() ([]fscc.EA, error) {
	ef, err := o.eaFile()
	if err != nil {
		return nil, err
	}
	list, err := ef.EAs()
	if err != nil {
		if errors.Is(err, vfs.ErrNotSupported) {
			return nil, ntstatus.EasNotSupported
		}
		return nil, statusOf(err)
	}
	out := make([]fscc.EA, 0, len(list))
	for _, e := range list {
		if fscc.ValidEAName(e.Name) == nil {
			out = append(out, fscc.EA{Flags: e.Flags, Name: e.Name, Value: e.Value})
		}
	}
	return out, nil
}

// eaSize is FileEaInformation.EaSize of the open's file (0 without EAs or
// EA support).
func (o *open) eaSize() uint32 {
	eas, err := o.fileEAs()
	if err != nil {
		return 0
	}
	return fscc.EASize(eas)
}

// queryEAs answers QUERY_INFO FileFullEaInformation.
func (o *open) queryEAs(req *wire.QueryInfoRequest) ([]byte, bool, error) {
	if o.access&wire.FileReadEA == 0 {
		return nil, false, ntstatus.AccessDenied
	}
	eas, err := o.fileEAs()
	if err != nil {
		return nil, false, err
	}
	var pick []fscc.EA
	start := 0
	listed := len(req.Input) > 0
	if listed {
		names, err := fscc.DecodeGetEAList(req.Input)
		if err != nil {
			return nil, false, eaStatus(err)
		}
		for _, n := range names {
			e := fscc.EA{Name: strings.ToUpper(n)}
			for _, x := range eas {
				if strings.EqualFold(x.Name, n) {
					e = x
					break
				}
			}
			pick = append(pick, e)
		}
	} else {
		if len(eas) == 0 {
			return nil, false, ntstatus.NoEasOnFile
		}
		o.mu.Lock()
		start = o.eaIndex
		o.mu.Unlock()
		switch {
		case req.Flags&slIndexSpecified != 0:
			i := req.AdditionalInformation
			if i == 0 || uint64(i) > uint64(len(eas)) {
				return nil, false, ntstatus.NonexistentEaEntry
			}
			start = int(i) - 1
		case req.Flags&slRestartScan != 0:
			start = 0
		}
		if start >= len(eas) {
			return nil, false, ntstatus.NoMoreEas
		}
		pick = eas[start:]
	}
	if req.Flags&slReturnSingleEntry != 0 && len(pick) > 1 {
		pick = pick[:1]
	}
	// Whole entries only: as many as fit.
	n, size := 0, 0
	for n < len(pick) {
		s := fscc.FullEASize(&pick[n])
		if n > 0 {
			size = (size + 3) &^ 3
		}
		if size+s > int(req.OutputBufferLength) {
			break
		}
		size += s
		n++
	}
	if n == 0 {
		return nil, false, ntstatus.BufferTooSmall
	}
	if !listed {
		o.mu.Lock()
		o.eaIndex = start + n
		o.mu.Unlock()
	}
	return fscc.AppendFullEAs(nil, pick[:n]), n < len(pick), nil
}

// eaStatus maps the EA codec errors.
func eaStatus(err error) error {
	if errors.Is(err, fscc.ErrEAName) {
		return ntstatus.InvalidEaName
	}
	return ntstatus.EaListInconsistent
}

// setEAs applies a FILE_FULL_EA_INFORMATION list to the open's file
// (SET_INFO FileFullEaInformation, or an SMB2_CREATE_EA_BUFFER context):
// an empty value removes an EA. The resulting set must stay within
// maxEASize.
func (o *open) setEAs(list []fscc.EA) error {
	ef, err := o.eaFile()
	if err != nil {
		return err
	}
	cur, err := o.fileEAs()
	if err != nil {
		return err
	}
	next := map[string]fscc.EA{}
	for _, e := range cur {
		next[strings.ToUpper(e.Name)] = e
	}
	for _, e := range list {
		e.Name = strings.ToUpper(e.Name)
		if len(e.Value) == 0 {
			delete(next, e.Name)
		} else {
			next[e.Name] = e
		}
	}
	var all []fscc.EA
	for _, e := range next {
		all = append(all, e)
	}
	if fscc.EASize(all) > maxEASize {
		return ntstatus.EaTooLarge
	}
	for _, e := range list {
		name := strings.ToUpper(e.Name)
		for _, c := range cur {
			if c.Name != name && strings.EqualFold(c.Name, name) {
				ef.SetEA(c.Name, 0, nil) // stored in another case by another server
			}
		}
		if err := ef.SetEA(name, e.Flags&fscc.FileNeedEA, e.Value); err != nil {
			if errors.Is(err, vfs.ErrNoSpace) {
				return ntstatus.EaTooLarge
			}
			return statusOf(err)
		}
	}
	return nil
}

// setFullEA handles SET_INFO FileFullEaInformation [MS-FSA 2.1.5.14.4].
func (r *request) setFullEA(o *open, buf []byte) error {
	if o.access&wire.FileWriteEA == 0 {
		return ntstatus.AccessDenied
	}
	if _, err := o.eaFile(); err != nil {
		return err
	}
	list, err := fscc.DecodeFullEAList(buf)
	if err != nil {
		return eaStatus(err)
	}
	if err := o.setEAs(list); err != nil {
		return err
	}
	r.c.srv.notifyChange(o, notifyModified)
	return nil
}

// parseCreateEAs checks an SMB2_CREATE_EA_BUFFER context at validation
// [MS-SMB2 2.2.13.2.1].
func (cc *createCall) parseCreateEAs() error {
	d, ok := cc.ctxs[wire.CtxNameExtA]
	if !ok {
		return nil
	}
	list, err := fscc.DecodeFullEAList(d)
	if err != nil {
		return eaStatus(err)
	}
	cc.eas = list
	return nil
}

// applyCreateEAs sets the EAs of an SMB2_CREATE_EA_BUFFER on a file the
// CREATE created or overwrote; an existing file opened keeps its EAs.
func (cc *createCall) applyCreateEAs(o *open, overwrite bool) error {
	if len(cc.eas) == 0 || cc.exists && !overwrite {
		return nil
	}
	return o.setEAs(cc.eas)
}

// checkNeedEA: an open with FILE_NO_EA_KNOWLEDGE of a file holding an EA
// marked FILE_NEED_EA is refused [MS-FSA 2.1.5.1.2.1].
func (cc *createCall) checkNeedEA(o *open) error {
	if cc.req.CreateOptions&wire.FileNoEaKnowledge == 0 || !cc.exists {
		return nil // a file this CREATE made has only the EAs it gave
	}
	eas, err := o.fileEAs()
	if err != nil {
		return nil
	}
	for _, e := range eas {
		if e.Flags&fscc.FileNeedEA != 0 {
			return ntstatus.AccessDenied
		}
	}
	return nil
}

// fsEAAttributes adds FILE_SUPPORTS_EXTENDED_ATTRIBUTES for a backend
// with EAs.
func fsEAAttributes(fsys vfs.FS, a uint32) uint32 {
	if eaFS(fsys) {
		a |= fscc.FSAttrSupportsExtendedAttributes
	}
	return a
}

// entryEASize is the EaSize of a directory entry for the listing classes
// that carry it [MS-FSCC 2.4.14, 2.4.8, 2.4.17, 2.4.18]; 0 for the others,
// for "." and "..", and without EA support.
func entryEASize(fsys vfs.FS, class fscc.InfoClass, dir vfs.EntryDescriber, base string) uint32 {
	switch class {
	case fscc.FileFullDirectoryInformation, fscc.FileBothDirectoryInformation,
		fscc.FileIDFullDirectoryInformation, fscc.FileIDBothDirectoryInformation:
	default:
		return 0
	}
	if base == "" || !eaFS(fsys) {
		return 0
	}
	list, err := dir.EntryEAs(base)
	if err != nil {
		return 0
	}
	eas := make([]fscc.EA, 0, len(list))
	for _, e := range list {
		if fscc.ValidEAName(e.Name) == nil {
			eas = append(eas, fscc.EA{Flags: e.Flags, Name: e.Name, Value: e.Value})
		}
	}
	return fscc.EASize(eas)
}
