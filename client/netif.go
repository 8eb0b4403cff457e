package client

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"slices"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// NetworkInterface is one entry of the server's
// FSCTL_QUERY_NETWORK_INTERFACE_INFO answer [MS-SMB2 2.2.32.5].
type NetworkInterface struct {
	Index     uint32
	RSS, RDMA bool   // capabilities
	LinkSpeed uint64 // bits per second
	IP        net.IP
}

// Sizes of NETWORK_INTERFACE_INFO [MS-SMB2 2.2.32.5].
const (
	netifEntrySize = 152
	netifSockAddr  = 24 // offset of SockAddr_Storage
	afInet         = 0x0002
	afInet6        = 0x0017
	netifRSS       = 0x1
	netifRDMA      = 0x2
	maxInterfaces  = 256 // entries read from one answer
)

// parseNetworkInterfaces decodes a NETWORK_INTERFACE_INFO chain. Entries
// of another address family are skipped.
func parseNetworkInterfaces(b []byte) ([]NetworkInterface, error) {
	var out []NetworkInterface
	off := 0
	for range maxInterfaces {
		if off+netifEntrySize > len(b) {
			return nil, fmt.Errorf("interface entry at %d overruns %d bytes", off, len(b))
		}
		e := b[off : off+netifEntrySize]
		capab := binary.LittleEndian.Uint32(e[8:])
		ni := NetworkInterface{
			Index: binary.LittleEndian.Uint32(e[4:]), RSS: capab&netifRSS != 0, RDMA: capab&netifRDMA != 0,
			LinkSpeed: binary.LittleEndian.Uint64(e[16:]),
		}
		sa := e[netifSockAddr:]
		switch binary.LittleEndian.Uint16(sa) {
		case afInet:
			ni.IP = net.IP(slices.Clone(sa[4:8]))
		case afInet6:
			ni.IP = net.IP(slices.Clone(sa[8:24]))
		}
		if ni.IP != nil {
			out = append(out, ni)
		}
		next := binary.LittleEndian.Uint32(e)
		if next == 0 {
			return out, nil
		}
		if next < netifEntrySize || int(next) > len(b)-off {
			return nil, fmt.Errorf("bad Next %d at %d", next, off)
		}
		off += int(next)
	}
	return nil, fmt.Errorf("more than %d interfaces", maxInterfaces)
}

// NetworkInterfaces asks the server for its network interfaces
// (FSCTL_QUERY_NETWORK_INTERFACE_INFO on IPC$), which multichannel
// clients use to choose where to bind channels.
func (s *Session) NetworkInterfaces(ctx context.Context) ([]NetworkInterface, error) {
	t, err := s.treeConnect(ctx, "IPC$")
	if err != nil {
		return nil, err
	}
	defer t.disconnect(ctx)
	size := transactSize(&s.neg.info)
	msg := wire.AppendIoctlRequest(newMessage(wire.CmdIoctl, 56), &wire.IoctlRequest{
		CtlCode: wire.FsctlQueryNetworkInterfaceInfo, FileID: wire.AllOnes,
		MaxOutputResponse: uint32(size), Flags: wire.IoctlFlagIsFsctl,
	})
	resp, err := s.exec(ctx, &exchange{msg: msg, t: t, payload: size})
	if err != nil {
		return nil, err
	}
	if st := resp.status(); st != ntstatus.Success {
		return nil, statusError("IOCTL", st)
	}
	r, err := wire.ParseIoctlResponse(resp.msg)
	if err != nil {
		return nil, invalidResponse("IOCTL", err)
	}
	ifs, err := parseNetworkInterfaces(r.Output)
	if err != nil {
		return nil, invalidResponse("IOCTL", err)
	}
	return ifs, nil
}

// channelAddrs returns the addresses to bind channels to, in order: the
// server's other interfaces of the dialed address's family (fastest
// first), then the dialed address itself, all on the dialed port. A
// server that cannot list its interfaces gets the dialed address only.
func (s *Session) channelAddrs(ctx context.Context) []string {
	host, port, err := net.SplitHostPort(s.hostport)
	if err != nil {
		return []string{s.hostport}
	}
	remote, _ := s.conn.nc.RemoteAddr().(*net.TCPAddr)
	ifs, err := s.NetworkInterfaces(ctx)
	if err != nil || remote == nil {
		return []string{s.hostport}
	}
	return interfaceAddrs(ifs, remote.IP, host, port)
}

// interfaceAddrs orders the usable interface addresses for channels.
func interfaceAddrs(ifs []NetworkInterface, dialed net.IP, host, port string) []string {
	ifs = slices.DeleteFunc(slices.Clone(ifs), func(ni NetworkInterface) bool {
		return (ni.IP.To4() == nil) != (dialed.To4() == nil) || ni.IP.IsUnspecified() ||
			ni.IP.IsLinkLocalUnicast() || ni.IP.Equal(dialed)
	})
	slices.SortStableFunc(ifs, func(a, b NetworkInterface) int { return cmp.Compare(b.LinkSpeed, a.LinkSpeed) })
	var out []string
	for _, ni := range ifs {
		a := net.JoinHostPort(ni.IP.String(), port)
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return append(out, net.JoinHostPort(host, port))
}
