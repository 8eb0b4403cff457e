package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/signetsmb/signet/internal/dcerpc"
	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
)

// Security descriptors on the wire: CREATE's access check and the SD
// create context, QUERY_INFO and SET_INFO with SMB2_0_INFO_SECURITY. The
// logic is in sd.go; descriptors live in the backend (vfs.SecurityFile,
// vfs.SecurityFS). A backend without them is a file system without ACLs:
// queries get the descriptor synthesised from the POSIX mode, sets are
// accepted and dropped, and access follows the share policy alone, as
// Windows' I/O manager answers for a file system without
// FILE_PERSISTENT_ACLS.

// createSecurity is what CREATE worked out about descriptors in its
// access check, for the open and the response.
type createSecurity struct {
	given  *fscc.SecurityDescriptor // SecD create context
	parent *fscc.SecurityDescriptor // of the parent directory (new files)
	// parentDerived: the parent's descriptor follows from the share
	// default, so a new file without a given one stores a compact record.
	parentDerived bool
	// max is the maximal access of the file (MxAc), computed from its
	// descriptor, or from the new descriptor for a created file.
	max uint32
}

// machineSID is the server's machine SID (Options.MachineSID).
func (s *Server) machineSID() fscc.SID { return s.msid }

// token returns the session's security context.
func (s *session) token(machine fscc.SID) *token {
	s.mu.Lock()
	id := s.identity
	s.mu.Unlock()
	return newToken(machine, id.Account, id.Guest, id.Anonymous)
}

func (r *request) token() *token { return r.sess.token(r.c.srv.machineSID()) }

// securityFS returns the share's descriptor store, or nil if the backend
// keeps none.
func securityFS(fsys vfs.FS) vfs.SecurityFS {
	s, ok := fsys.(vfs.SecurityFS)
	if !ok {
		return nil
	}
	return s
}

// loadSD returns the descriptor of the named file: the stored one, or the
// share default (defaultSD) when none is stored; derived reports that it
// follows from the share default (none stored, or a compact record). nil
// without an error means the backend keeps no descriptors.
func loadSD(ctx context.Context, fsys vfs.FS, name string, isDir bool, shareMax uint32) (sd *fscc.SecurityDescriptor, derived bool, err error) {
	sfs := securityFS(fsys)
	if sfs == nil {
		return nil, false, nil
	}
	b, err := sfs.Security(ctx, openName(name))
	if errors.Is(err, vfs.ErrNotSupported) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	sd, derived = decodeStored(b, isDir, shareMax)
	return sd, derived, nil
}

// compactTag starts a compact record: the descriptor a file gets by
// inheritance from the share default (defaultSD) when it was created by
// the owner that follows (a binary SID), with no descriptor given. Most
// files on a share have such a descriptor, and 30 octets fit in the inode
// (ext4 keeps about 60 octets of attribute values there), where a full
// descriptor would take a block of its own and show in the file's
// allocation size. A full descriptor starts with its revision, 1.
const compactTag = 0xA1

// compactRecord is the compact record of a file created by owner.
func compactRecord(owner fscc.SID) []byte {
	return owner.Append([]byte{compactTag})
}

// decodeStored decodes a stored record; none, or one that does not parse
// (written by something else), is the share default.
func decodeStored(b []byte, isDir bool, shareMax uint32) (*fscc.SecurityDescriptor, bool) {
	if len(b) > 1 && b[0] == compactTag {
		if owner, n, err := fscc.DecodeSID(b[1:]); err == nil && n == len(b)-1 {
			return derivedSD(owner, isDir, shareMax), true
		}
	}
	if len(b) > 0 {
		if sd, err := fscc.ParseSecurityDescriptor(b); err == nil {
			return &sd, false
		}
	}
	return defaultSD(shareMax, isDir), true
}

// derivedSD is what a file created by owner inherits from the share
// default; inheriting it again one level down gives the same result, so a
// whole tree made through Signet without explicit descriptors keeps only
// owners. The group is the owner's domain's "None" for the server's users,
// else the owner.
func derivedSD(owner fscc.SID, isDir bool, shareMax uint32) *fscc.SecurityDescriptor {
	group := owner
	if subs := owner.SubAuthorities(); len(subs) == 5 && subs[0] == 21 {
		if dom, err := fscc.NewSID(owner.Authority(), subs[:4]...); err == nil {
			group = domainSID(dom, ridNone)
		}
	}
	return inheritSD(defaultSD(shareMax, true), nil, &token{user: owner, group: group}, isDir)
}

// parentDir is the share-relative parent of p ("" for the root's
// children).
func parentDir(p string) string {
	d := path.Dir(p)
	if d == "." || d == "/" {
		return ""
	}
	return d
}

// checkSecurity is CREATE's descriptor check, run from checkAccess with
// the access asked for (generic rights mapped, MAXIMUM_ALLOWED kept): it
// parses the SD create context and returns the maximal access the
// descriptors allow, to be intersected with the share's. A file about to
// be created needs FILE_ADD_FILE or FILE_ADD_SUBDIRECTORY on its parent
// [MS-FSA 2.1.5.1.1]; an existing one is checked against its DACL, with
// DELETE also granted by FILE_DELETE_CHILD on the parent and
// FILE_READ_ATTRIBUTES by FILE_LIST_DIRECTORY there [MS-FSA 2.1.5.1.2].
func (cc *createCall) checkSecurity(shareMax uint32) (uint32, error) {
	sec := &createSecurity{max: shareMax}
	cc.sec = sec
	if d, ok := cc.ctxs[wire.CtxNameSecD]; ok {
		sd, err := fscc.ParseSecurityDescriptor(d)
		if err != nil {
			return 0, ntstatus.InvalidParameter
		}
		sec.given = &sd
	}
	fsys := cc.r.tree.share.FS
	if securityFS(fsys) == nil {
		return shareMax, nil
	}
	ctx := cc.r.ctx()
	tok := cc.r.token()
	if g := sec.given; g != nil {
		// A SACL needs SeSecurityPrivilege; an owner must be one the
		// caller may set, as for SET_INFO [MS-FSA 2.1.5.1.1].
		if g.SACL != nil {
			return 0, ntstatus.PrivilegeNotHeld
		}
		if g.Owner != nil && !tok.mayOwn(*g.Owner) {
			return 0, statusInvalidOwner
		}
	}
	creating := !cc.exists && cc.req.CreateDisposition != wire.FileOpen && cc.req.CreateDisposition != wire.FileOverwrite
	var parent *fscc.SecurityDescriptor
	if len(cc.parts) > 0 && creating {
		var err error
		parent, sec.parentDerived, err = loadSD(ctx, fsys, parentDir(cc.path), true, shareMax)
		if err != nil {
			return 0, statusOf(err)
		}
	}
	if creating {
		if parent != nil {
			need := fscc.FileWriteData // FILE_ADD_FILE
			if cc.req.CreateOptions&wire.FileDirectoryFile != 0 {
				need = fscc.FileAppendData // FILE_ADD_SUBDIRECTORY
			}
			if accessCheck(parent, tok)&need == 0 {
				return 0, ntstatus.AccessDenied
			}
		}
		sec.parent = parent
		isDir := cc.req.CreateOptions&wire.FileDirectoryFile != 0
		sec.max = shareMax & accessCheck(inheritSD(parent, sec.given, tok, isDir), tok)
		// The creator gets what it asked for: the new descriptor is its
		// own to set [MS-FSA 2.1.5.1.1].
		return shareMax, nil
	}
	if !cc.exists || cc.req.CreateDisposition == wire.FileCreate {
		// FILE_OPEN of a missing name, FILE_CREATE of an existing one:
		// the disposition fails first (OBJECT_NAME_NOT_FOUND,
		// OBJECT_NAME_COLLISION), as on Windows.
		return shareMax, nil
	}
	sd, _, err := loadSD(ctx, fsys, cc.path, cc.fi.IsDir(), shareMax)
	if err != nil {
		return 0, statusOf(err)
	}
	granted := accessCheck(sd, tok)
	// The parent is read only when it can matter: for DELETE or
	// FILE_READ_ATTRIBUTES the file's DACL does not grant, asked for
	// explicitly, through MAXIMUM_ALLOWED or in an MxAc query.
	_, mxac := cc.ctxs[wire.CtxNameMxAc]
	asked := mapGeneric(cc.req.DesiredAccess)
	fromParent := (fscc.Delete | fscc.FileReadAttributes) &^ granted
	if len(cc.parts) > 0 && fromParent != 0 && (asked&(fromParent|fscc.MaximumAllowed) != 0 || mxac) {
		var err error
		parent, _, err = loadSD(ctx, fsys, parentDir(cc.path), true, shareMax)
		if err != nil {
			return 0, statusOf(err)
		}
	}
	if parent != nil {
		p := accessCheck(parent, tok)
		if p&fscc.FileDeleteChild != 0 {
			granted |= fscc.Delete
		}
		if p&fscc.FileReadData != 0 {
			granted |= fscc.FileReadAttributes
		}
	}
	if granted != 0 {
		granted |= fscc.Synchronize
	}
	sec.max = shareMax & granted
	// Replacing the file's contents needs the right to write it, whatever
	// access was asked for: FILE_SUPERSEDE and FILE_OVERWRITE(_IF) need
	// FILE_WRITE_DATA (smb2.acls.OVERWRITE_READ_ONLY_FILE: a DACL granting
	// only FILE_READ_DATA refuses them with ACCESS_DENIED, even though
	// DELETE comes from the parent).
	switch cc.req.CreateDisposition {
	case wire.FileSupersede, wire.FileOverwrite, wire.FileOverwriteIf:
		if sec.max&fscc.FileWriteData == 0 {
			return 0, ntstatus.AccessDenied
		}
	}
	return sec.max, nil
}

// maximalAccess is the MxAc answer of the CREATE.
func (cc *createCall) maximalAccess() uint32 {
	if cc.sec == nil {
		return cc.r.tree.maximalAccess()
	}
	return cc.sec.max
}

// storeNewSD gives a newly created file its descriptor: the SD create
// context and what it inherits from its parent (inheritSD).
func (cc *createCall) storeNewSD(f vfs.File, isDir bool) error {
	if cc.sec == nil || securityFS(cc.r.tree.share.FS) == nil {
		return nil
	}
	sf, ok := f.(vfs.SecurityFile)
	if !ok {
		return nil
	}
	tok := cc.r.token()
	var b []byte
	if cc.sec.given == nil && cc.sec.parentDerived {
		b = compactRecord(tok.user)
	} else {
		var err error
		b, err = encodeSD(inheritSD(cc.sec.parent, cc.sec.given, tok, isDir))
		if err != nil {
			return statusInvalidSD
		}
	}
	if err := sf.SetSecurity(b); err != nil && !errors.Is(err, vfs.ErrNotSupported) {
		return statusOf(err)
	}
	return nil
}

// openSD returns the open's descriptor (nil when the backend keeps none)
// and whether the backend stores descriptors at all.
func (o *open) openSD(shareMax uint32) (*fscc.SecurityDescriptor, vfs.SecurityFile, error) {
	sf, ok := o.file.(vfs.SecurityFile)
	if !ok || securityFS(o.fs) == nil {
		return nil, nil, nil
	}
	b, err := sf.Security()
	if errors.Is(err, vfs.ErrNotSupported) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	sd, _ := decodeStored(b, o.isDir, shareMax)
	return sd, sf, nil
}

// querySecurity answers QUERY_INFO SMB2_0_INFO_SECURITY with the parts
// AdditionalInformation selects [MS-SMB2 3.3.5.20.3, MS-FSA 2.1.5.13].
func (o *open) querySecurity(req *wire.QueryInfoRequest, w *response) ([]byte, bool, error) {
	secInfo := req.AdditionalInformation
	if need := secInfoAccess(secInfo, false); o.access&need != need {
		return nil, false, ntstatus.AccessDenied
	}
	var sdb []byte
	if o.pipe != nil || o.file == nil {
		sdb = fscc.SDFromMode(uint32(os.Getuid()), uint32(os.Getgid()), 0o755, false, secInfo&0x7)
	} else {
		sd, _, err := o.openSD(o.tree.maximalAccess())
		if err != nil {
			return nil, false, err
		}
		if sd == nil {
			fi, err := o.file.Stat()
			if err != nil {
				return nil, false, err
			}
			// The backend does not report owners; files on a share belong
			// to the account the server runs as.
			sdb = fscc.SDFromMode(uint32(os.Getuid()), uint32(os.Getgid()), fi.Mode, o.isDir, secInfo&0x7)
		} else {
			sdb, err = sd.Append(nil, secInfo&(secInfoOwner|secInfoGroup|secInfoDACL|secInfoSACL))
			if err != nil {
				return nil, false, statusInvalidSD
			}
		}
	}
	if uint32(len(sdb)) > req.OutputBufferLength {
		// Too small: BUFFER_TOO_SMALL with the size needed as the error
		// data [MS-SMB2 3.3.5.20.3].
		w.errData = binary.LittleEndian.AppendUint32(nil, uint32(len(sdb)))
		return nil, false, ntstatus.BufferTooSmall
	}
	return sdb, false, nil
}

// setSecurity answers SET_INFO SMB2_0_INFO_SECURITY [MS-SMB2 3.3.5.21.3,
// MS-FSA 2.1.5.16].
func (r *request) setSecurity(o *open, req *wire.SetInfoRequest) error {
	secInfo := req.AdditionalInformation
	if need := secInfoAccess(secInfo, true); o.access&need != need {
		return ntstatus.AccessDenied
	}
	if o.pipe != nil {
		return ntstatus.NotSupported
	}
	if r.tree.readOnly {
		return ntstatus.AccessDenied
	}
	in, err := fscc.ParseSecurityDescriptor(req.Buffer)
	if err != nil {
		return statusInvalidSD
	}
	shareMax := r.tree.maximalAccess()
	cur, sf, err := o.openSD(shareMax)
	if err != nil {
		return statusOf(err)
	}
	if sf == nil {
		return nil // no ACLs on this file system: accepted and dropped
	}
	next, err := mergeSD(cur, &in, secInfo, r.token())
	if err != nil {
		return err
	}
	b, err := encodeSD(next)
	if err != nil {
		return statusInvalidACL
	}
	if err := sf.SetSecurity(b); err != nil {
		return statusOf(err)
	}
	return nil
}

// setMachineSID parses Options.MachineSID, or draws a random
// S-1-5-21-a-b-c when it is empty.
func (s *Server) setMachineSID(str string) error {
	if str == "" {
		var b [12]byte
		if _, err := io.ReadFull(s.opts.Rand, b[:]); err != nil {
			return err
		}
		s.msid = mustSID(fmt.Sprintf("S-1-5-21-%d-%d-%d", binary.LittleEndian.Uint32(b[0:]),
			binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])))
		return nil
	}
	sid, err := fscc.ParseSID(str)
	if err != nil || len(sid.SubAuthorities()) > fscc.MaxSubAuthorities-1 || len(sid.SubAuthorities()) == 0 {
		return fmt.Errorf("server: invalid MachineSID %q", str)
	}
	s.msid = sid
	return nil
}

// Names for lsarpc (dcerpc.Names): the users of the users database, under
// the server's name as their domain, and the machine's own groups.

var _ dcerpc.Names = pipeBackend{}

// userLister is the part of a UserDB that lists accounts (userdb.Store).
type userLister interface {
	Users() []string
}

func (b pipeBackend) domain() (string, fscc.SID) {
	name := b.srv.settings().ServerName
	if name == "" {
		name = "SIGNET"
	}
	return strings.ToUpper(name), b.srv.machineSID()
}

// LookupSID implements dcerpc.Names.
func (b pipeBackend) LookupSID(sid fscc.SID) (dcerpc.Account, bool) {
	dom, msid := b.domain()
	acct := dcerpc.Account{SID: sid, Domain: dom, DomainSID: msid}
	if sid == msid {
		acct.Name, acct.Use = dom, dcerpc.SidTypeDomain
		return acct, true
	}
	switch sid {
	case domainSID(msid, ridNone):
		acct.Name, acct.Use = "None", dcerpc.SidTypeGroup
		return acct, true
	case domainSID(msid, ridGuest):
		acct.Name, acct.Use = "Guest", dcerpc.SidTypeUser
		return acct, true
	case domainSID(msid, ridGuestGroup):
		acct.Name, acct.Use = "Domain Guests", dcerpc.SidTypeGroup
		return acct, true
	}
	ul, ok := b.srv.opts.Users.(userLister)
	if !ok {
		return dcerpc.Account{}, false
	}
	for _, u := range ul.Users() {
		a, ok := b.srv.opts.Users.Lookup(u)
		if ok && domainSID(msid, userRID(a.ID)) == sid {
			acct.Name, acct.Use = a.Name, dcerpc.SidTypeUser
			return acct, true
		}
	}
	return dcerpc.Account{}, false
}

// LookupName implements dcerpc.Names: "user", "DOMAIN\user" with the
// server's name, or "None" and "Guest".
func (b pipeBackend) LookupName(name string) (dcerpc.Account, bool) {
	dom, msid := b.domain()
	if d, n, ok := strings.Cut(name, `\`); ok {
		if !strings.EqualFold(d, dom) {
			return dcerpc.Account{}, false
		}
		name = n
	}
	acct := dcerpc.Account{Domain: dom, DomainSID: msid}
	switch strings.ToLower(name) {
	case "none":
		acct.SID, acct.Name, acct.Use = domainSID(msid, ridNone), "None", dcerpc.SidTypeGroup
		return acct, true
	case "guest":
		acct.SID, acct.Name, acct.Use = domainSID(msid, ridGuest), "Guest", dcerpc.SidTypeUser
		return acct, true
	}
	a, ok := b.srv.opts.Users.Lookup(name)
	if !ok || a.ID == "" {
		return dcerpc.Account{}, false
	}
	acct.SID, acct.Name, acct.Use = domainSID(msid, userRID(a.ID)), a.Name, dcerpc.SidTypeUser
	return acct, true
}

// AccountDomain implements dcerpc.Names.
func (b pipeBackend) AccountDomain() (string, fscc.SID) { return b.domain() }
