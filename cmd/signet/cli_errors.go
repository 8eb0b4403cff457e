package main

import (
	"errors"
	"strings"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/ntstatus"
)

// statusWords says in words what a status means to the person at the
// command line; the NTSTATUS name follows in parentheses for searching.
var statusWords = map[ntstatus.Status]string{
	ntstatus.DirectoryNotEmpty:   "directory not empty",
	ntstatus.BadNetworkName:      "no such share",
	ntstatus.ObjectNameNotFound:  "no such file or directory",
	ntstatus.ObjectPathNotFound:  "no such directory in the path",
	ntstatus.ObjectNameCollision: "already exists",
	ntstatus.AccessDenied:        "access denied",
	ntstatus.NetworkAccessDenied: "access to the share denied",
	ntstatus.LogonFailure:        "logon failed: unknown user or wrong password",
	ntstatus.AccountDisabled:     "account disabled",
	ntstatus.SharingViolation:    "in use by another program (sharing violation)",
	ntstatus.FileIsADirectory:    "is a directory",
	ntstatus.NotADirectory:       "not a directory",
	ntstatus.DiskFull:            "no space left on the share",
}

// explainError rewrites the protocol parts of a command's error message
// in words: "smb: SET_INFO: STATUS_DIRECTORY_NOT_EMPTY" becomes
// "directory not empty (use -r) (STATUS_DIRECTORY_NOT_EMPTY)".
func explainError(cmd string, err error) string {
	msg := err.Error()
	var se *client.StatusError
	if !errors.As(err, &se) {
		return msg
	}
	words, ok := statusWords[ntstatus.Status(se.Code())]
	if !ok {
		return msg
	}
	if ntstatus.Status(se.Code()) == ntstatus.DirectoryNotEmpty && cmd == "rm" {
		words += " (use -r)"
	}
	return strings.Replace(msg, se.Error(), words+" ("+ntstatus.Status(se.Code()).String()+")", 1)
}
