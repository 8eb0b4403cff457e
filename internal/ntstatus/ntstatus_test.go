package ntstatus

import (
	"errors"
	"testing"
)

func TestNames(t *testing.T) {
	cases := map[Status]string{
		Success:                "STATUS_SUCCESS",
		LogonFailure:           "STATUS_LOGON_FAILURE",
		MoreProcessingRequired: "STATUS_MORE_PROCESSING_REQUIRED",
		Status(0xC0FFEE00):     "NTSTATUS(0xC0FFEE00)",
	}
	for s, want := range cases {
		if got := s.String(); got != want {
			t.Errorf("%#x: got %q want %q", uint32(s), got, want)
		}
	}
	// Every named value must be unique: a duplicate constant would make
	// two names collide in the map literal at compile time, but check the
	// severity helpers on a few.
	if !AccessDenied.IsError() || BufferOverflow.IsError() || !BufferOverflow.IsWarning() || Pending.IsError() {
		t.Fatal("severity helpers wrong")
	}
	var err error = UserSessionDeleted
	var st Status
	if !errors.As(err, &st) || st != UserSessionDeleted {
		t.Fatal("errors.As failed")
	}
}
