package dcerpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"sync"
	"testing"
	"time"
)

// TestImpacketInterop runs impacket's DCE/RPC client (testdata/
// impacket_interop.py) against pipes served over loopback TCP
// (ncacn_ip_tcp carries the same connection-oriented PDUs as a named
// pipe) and compares what impacket decoded with the backend's data. It is
// opt-in, so that Python is never needed by `go test`:
//
//	SIGNET_IMPACKET_INTEROP=1 go test -run ImpacketInterop ./internal/dcerpc/
func TestImpacketInterop(t *testing.T) {
	if os.Getenv("SIGNET_IMPACKET_INTEROP") != "1" {
		t.Skip("set SIGNET_IMPACKET_INTEROP=1 to run impacket against the server")
	}
	be := testBackend()
	be.shares = append(be.shares, manyShares(100)...)
	srvPort := serveTCP(t, "srvsvc", be)
	wksPort := serveTCP(t, "wkssvc", be)

	cmd := exec.Command("/usr/bin/python3", "testdata/impacket_interop.py", fmt.Sprint(srvPort), fmt.Sprint(wksPort))
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("impacket client: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	check := func(key string, want any) {
		t.Helper()
		wantJSON, _ := json.Marshal(want)
		var w any
		_ = json.Unmarshal(wantJSON, &w)
		if !reflect.DeepEqual(got[key], w) {
			t.Errorf("%s:\n got %v\nwant %v", key, got[key], w)
		}
	}

	n := len(be.shares)
	enum := func(level int, entry func(s ShareInfo) map[string]any) map[string]any {
		var entries []map[string]any
		for _, s := range be.shares {
			entries = append(entries, entry(s))
		}
		return map[string]any{"entries": entries, "total": n, "resume": 0}
	}
	uses := func(s ShareInfo) uint32 {
		if s.MaxUses == 0 {
			return 0xffffffff
		}
		return s.MaxUses
	}
	info0 := func(s ShareInfo) map[string]any { return map[string]any{"shi0_netname": s.Name} }
	info1 := func(s ShareInfo) map[string]any {
		return map[string]any{"shi1_netname": s.Name, "shi1_type": s.Type, "shi1_remark": s.Comment}
	}
	info2 := func(s ShareInfo) map[string]any {
		return map[string]any{"shi2_netname": s.Name, "shi2_type": s.Type, "shi2_remark": s.Comment,
			"shi2_permissions": 0, "shi2_max_uses": uses(s), "shi2_current_uses": s.CurrentUses,
			"shi2_path": s.Path, "shi2_passwd": nil}
	}
	info501 := func(s ShareInfo) map[string]any {
		return map[string]any{"shi501_netname": s.Name, "shi501_type": s.Type, "shi501_remark": s.Comment, "shi501_flags": s.Flags}
	}
	info502 := func(s ShareInfo) map[string]any {
		return map[string]any{"shi502_netname": s.Name, "shi502_type": s.Type, "shi502_remark": s.Comment,
			"shi502_permissions": 0, "shi502_max_uses": uses(s), "shi502_current_uses": s.CurrentUses,
			"shi502_path": s.Path, "shi502_passwd": nil, "shi502_reserved": 0, "shi502_security_descriptor": nil}
	}
	check("enum0", enum(0, info0))
	check("enum1", enum(1, info1))
	check("enum2", enum(2, info2))
	check("enum501", enum(501, info501))
	check("enum502", enum(502, info502))
	check("enum503_status", errorInvalidLevel)

	ipc := be.shares[0]
	check("getinfo0", info0(ipc))
	check("getinfo1", info1(ipc))
	check("getinfo2", info2(ipc))
	check("getinfo501", info501(ipc))
	check("getinfo502", info502(ipc))
	check("getinfo1005", map[string]any{"shi1005_flags": ipc.Flags})
	check("getinfo_missing_status", nerrNetNameNotFound)

	check("server100", map[string]any{"sv100_platform_id": 500, "sv100_name": "SIGNET"})
	check("server101", map[string]any{"sv101_platform_id": 500, "sv101_name": "SIGNET", "sv101_version_major": 10,
		"sv101_version_minor": 0, "sv101_type": DefaultServerType, "sv101_comment": "Signet SMB"})
	check("alter_server100", map[string]any{"sv100_platform_id": 500, "sv100_name": "SIGNET"})
	check("opnum99", "nca_s_op_rng_error")

	var names []string
	for _, s := range be.shares {
		names = append(names, s.Name)
	}
	check("fragmented_enum2_names", names)

	wk := map[string]any{"wki100_platform_id": 500, "wki100_computername": "SIGNET", "wki100_langroup": "WORKGROUP",
		"wki100_ver_major": 10, "wki100_ver_minor": 0}
	check("wksta100", wk)
	check("wksta101", map[string]any{"wki101_platform_id": 500, "wki101_computername": "SIGNET", "wki101_langroup": "WORKGROUP",
		"wki101_ver_major": 10, "wki101_ver_minor": 0, "wki101_lanroot": ""})
	check("wksta102", map[string]any{"wki102_platform_id": 500, "wki102_computername": "SIGNET", "wki102_langroup": "WORKGROUP",
		"wki102_ver_major": 10, "wki102_ver_minor": 0, "wki102_lanroot": "", "wki102_logged_on_users": 0})
}

// serveTCP serves one Pipe per accepted loopback connection until the test
// ends, and returns the port.
func serveTCP(t *testing.T, name string, be Backend) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait() // connections end when the client exits
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				pump(t, c, name, be)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// pump feeds what the client sends to a Pipe and sends back what it queues.
func pump(t *testing.T, c net.Conn, name string, be Backend) {
	defer c.Close()
	p, err := NewPipe(name, be, "interop", testMaxOutput)
	if err != nil {
		t.Error(err)
		return
	}
	buf := make([]byte, 65536)
	for {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := p.Write(buf[:n]); err != nil {
			t.Errorf("%s: Write: %v", name, err)
			return
		}
		for {
			m, _, err := p.ReadMessage(buf)
			if errors.Is(err, ErrNoData) {
				break
			}
			if _, err := c.Write(buf[:m]); err != nil {
				return
			}
		}
	}
}
