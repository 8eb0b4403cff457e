package policy

import "testing"

func TestRoleTableMatchesWindowsDefaults(t *testing.T) {
	// "DC Effective Default Settings: Enabled", "Member Server Effective
	// Default Settings: Disabled", "Stand-Alone Server Default Settings:
	// Disabled".
	want := map[Role]bool{RoleDomainController: true, RoleMember: false, RoleStandalone: false}
	roles := Roles()
	if len(roles) != len(want) {
		t.Fatalf("Roles() = %v, want %d roles", roles, len(want))
	}
	for _, r := range roles {
		w, ok := want[r]
		if !ok {
			t.Errorf("unexpected role %q", r)
			continue
		}
		if got := r.DefaultRequireSigning(); got != w {
			t.Errorf("%s.DefaultRequireSigning() = %v, want %v", r, got, w)
		}
		if p, err := ParseRole(string(r)); err != nil || p != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, p, err)
		}
	}
	if !Role("bogus").DefaultRequireSigning() {
		t.Error("unknown role must default to requiring signing")
	}
	if _, err := ParseRole("Standalone"); err == nil {
		t.Error("ParseRole is case-sensitive; want error for \"Standalone\"")
	}
}

func TestDialects(t *testing.T) {
	cases := []struct {
		name string
		wire uint16
	}{
		{"2.0.2", 0x0202}, {"2.1", 0x0210}, {"3.0", 0x0300}, {"3.0.2", 0x0302}, {"3.1.1", 0x0311},
	}
	for _, c := range cases {
		d, err := ParseDialect(c.name)
		if err != nil || uint16(d) != c.wire {
			t.Errorf("ParseDialect(%q) = %#04x, %v; want %#04x", c.name, uint16(d), err, c.wire)
		}
		if d.String() != c.name {
			t.Errorf("Dialect(%#04x).String() = %q, want %q", c.wire, d, c.name)
		}
	}
	if len(Dialects()) != len(cases) {
		t.Errorf("Dialects() = %v", Dialects())
	}
	for _, bad := range []string{"", "2.0", "3.1", "SMB3_11", "0x0311", "3.1.1 "} {
		if _, err := ParseDialect(bad); err == nil {
			t.Errorf("ParseDialect(%q) succeeded", bad)
		}
	}
	if s := Dialect(0x02FF).String(); s != "0x02ff" {
		t.Errorf("unknown dialect String() = %q", s)
	}
}

func TestSigningAlgorithms(t *testing.T) {
	cases := map[string]SigningAlgorithm{
		"AES-128-GMAC": 2, "aes-128-gmac": 2, "gmac": 2, "GMAC": 2,
		"AES-128-CMAC": 1, "cmac": 1, "Cmac": 1,
		"HMAC-SHA256": 0, "hmac-sha256": 0,
	}
	for in, want := range cases {
		got, err := ParseSigningAlgorithm(in)
		if err != nil || got != want {
			t.Errorf("ParseSigningAlgorithm(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "sha256", "hmac", "AES-256-GMAC", "gcm"} {
		if _, err := ParseSigningAlgorithm(bad); err == nil {
			t.Errorf("ParseSigningAlgorithm(%q) succeeded", bad)
		}
	}
	if s := SigningAESCMAC.String(); s != "AES-128-CMAC" {
		t.Errorf("String() = %q", s)
	}
	def := DefaultSigningAlgorithms()
	want := []SigningAlgorithm{SigningAESGMAC, SigningAESCMAC, SigningHMACSHA256}
	if len(def) != 3 || def[0] != want[0] || def[1] != want[1] || def[2] != want[2] {
		t.Errorf("DefaultSigningAlgorithms() = %v", def)
	}
	def[0] = 99
	if DefaultSigningAlgorithms()[0] != SigningAESGMAC {
		t.Error("DefaultSigningAlgorithms returned shared storage")
	}
}
