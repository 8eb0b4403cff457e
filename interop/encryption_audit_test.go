package interop

import (
	"strings"
	"testing"
	"time"
)

// TestAuditClientCannotEncrypt: under require_signing = "audit", an
// smbclient session that cannot encrypt (2.1) on a share with
// encrypt_data is refused and recorded once, with reason "encryption", in
// `signet audit report` and the log (Windows' "Audit client does not
// support encryption"); an encrypting smbclient adds no such event.
func TestAuditClientCannotEncrypt(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{extra: "require_signing = \"audit\"\n", shares: secretShare})
	out, _ := smbclientEnc(t, s.port, "secret", "SMB2_10", nil, "ls")
	if !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Fatalf("2.1 client on the encrypted share:\n%s", out)
	}
	if out, err := smbclientEnc(t, s.port, "secret", "SMB3_11", nil, "ls"); err != nil || !strings.Contains(out, "blocks available") {
		t.Fatalf("3.1.1 client on the encrypted share: %v\n%s", err, out)
	}
	if !s.waitLog("audit: client does not support encryption", 5*time.Second) {
		t.Fatalf("no audit log line:\n%s", s.Log())
	}
	var a opsAudit
	signetCmd(t, &a, "audit", "report", "--json", "--config", s.config)
	var entries int
	for _, c := range a.Clients {
		if c.Reason == "encryption" {
			entries++
			if c.User != testUser || c.Count != 1 {
				t.Errorf("encryption entry %+v", c)
			}
		}
	}
	if a.Counts["encryption"] != 1 || entries != 1 {
		t.Fatalf("audit report: %d encryption events in %d entries, want 1 in 1: %+v", a.Counts["encryption"], entries, a)
	}
}
