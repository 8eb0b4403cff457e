package server

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// NetInterface is one network interface as FSCTL_QUERY_NETWORK_INTERFACE_INFO
// reports it to a multichannel client [MS-SMB2 2.2.32.5]: the client
// picks the addresses it binds further channels on from these, preferring
// faster links and RSS-capable ones.
type NetInterface struct {
	// Index identifies the interface (the OS's interface index).
	Index uint32
	// RSS and RDMA are the interface's capabilities.
	RSS, RDMA bool
	// LinkSpeed is in bits per second.
	LinkSpeed uint64
	// Addrs are the addresses clients can reach the server on.
	Addrs []netip.Addr
}

// defaultLinkSpeed is reported when the system does not say (loopback,
// virtual interfaces): 1 Gb/s, as Samba assumes.
const defaultLinkSpeed = 1_000_000_000

// networkInterfaces handles FSCTL_QUERY_NETWORK_INTERFACE_INFO
// [MS-SMB2 3.3.5.15.11]: the configured interfaces, or those the server
// listens on.
func (r *request) networkInterfaces(req *wire.IoctlRequest, w *response) error {
	if req.FileID != wire.AllOnes {
		return ntstatus.InvalidParameter
	}
	ifs := r.c.srv.settings().Interfaces
	if len(ifs) == 0 {
		ifs = r.c.srv.listeningInterfaces(r.c.nc.LocalAddr())
	}
	out := appendNetInterfaces(nil, ifs)
	if uint32(len(out)) > req.MaxOutputResponse {
		return ntstatus.BufferTooSmall
	}
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, req.FileID, out)
	return nil
}

// appendNetInterfaces encodes NETWORK_INTERFACE_INFO entries, one per
// address, linked by Next [MS-SMB2 2.2.32.5].
func appendNetInterfaces(out []byte, ifs []NetInterface) []byte {
	const entry = 152
	start := -1
	for _, ni := range ifs {
		for _, a := range ni.Addrs {
			if start >= 0 {
				binary.LittleEndian.PutUint32(out[start:], entry)
			}
			start = len(out)
			out = append(out, make([]byte, entry)...)
			e := out[start:]
			binary.LittleEndian.PutUint32(e[4:], ni.Index)
			var caps uint32
			if ni.RSS {
				caps |= 0x1
			}
			if ni.RDMA {
				caps |= 0x2
			}
			binary.LittleEndian.PutUint32(e[8:], caps)
			binary.LittleEndian.PutUint64(e[16:], ni.LinkSpeed)
			sa := e[24:]
			if a.Is4() || a.Is4In6() {
				binary.LittleEndian.PutUint16(sa, 0x2) // InterNetwork; port 0
				ip := a.Unmap().As4()
				copy(sa[4:], ip[:])
			} else {
				binary.LittleEndian.PutUint16(sa, 0x17) // InterNetworkV6; port, flow info 0
				ip := a.As16()
				copy(sa[8:], ip[:])
			}
		}
	}
	return out
}

// listeningInterfaces lists the machine's interfaces that carry an
// address the server listens on (every address when a listener is bound
// to the unspecified address, or when the server has no TCP listener).
// When nothing matches it reports the connection's own local address.
func (s *Server) listeningInterfaces(local net.Addr) []NetInterface {
	var bound []netip.Addr
	anyAddr := false
	s.mu.Lock()
	for l := range s.listeners {
		if ta, ok := l.Addr().(*net.TCPAddr); ok {
			a, _ := netip.AddrFromSlice(ta.IP)
			if a.IsUnspecified() || !a.IsValid() {
				anyAddr = true
			} else {
				bound = append(bound, a.Unmap())
			}
		}
	}
	s.mu.Unlock()
	if len(bound) == 0 {
		anyAddr = true // no TCP listener (an embedder's own transport): every interface
	}
	var out []NetInterface
	sys, _ := net.Interfaces()
	for _, ifc := range sys {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		ni := NetInterface{Index: uint32(ifc.Index), LinkSpeed: linkSpeed(ifc.Name)}
		for _, ad := range addrs {
			ipn, ok := ad.(*net.IPNet)
			if !ok {
				continue
			}
			a, _ := netip.AddrFromSlice(ipn.IP)
			a = a.Unmap()
			if a.IsLinkLocalUnicast() {
				continue // unusable without a zone
			}
			if anyAddr && ifc.Flags&net.FlagLoopback == 0 || containsAddr(bound, a) {
				ni.Addrs = append(ni.Addrs, a)
			}
		}
		if len(ni.Addrs) > 0 {
			out = append(out, ni)
		}
	}
	if len(out) == 0 {
		if ta, ok := local.(*net.TCPAddr); ok {
			if a, ok := netip.AddrFromSlice(ta.IP); ok {
				out = append(out, NetInterface{Index: 1, LinkSpeed: defaultLinkSpeed, Addrs: []netip.Addr{a.Unmap()}})
			}
		}
	}
	return out
}

func containsAddr(l []netip.Addr, a netip.Addr) bool {
	for _, x := range l {
		if x == a {
			return true
		}
	}
	return false
}

// linkSpeed reads an interface's speed from Linux sysfs (Mb/s), or
// defaultLinkSpeed when the system does not know it.
func linkSpeed(name string) uint64 {
	b, err := os.ReadFile("/sys/class/net/" + name + "/speed")
	if err != nil {
		return defaultLinkSpeed
	}
	mbps, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || mbps <= 0 {
		return defaultLinkSpeed
	}
	return uint64(mbps) * 1_000_000
}
