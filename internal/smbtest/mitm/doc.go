// Package mitm holds man-in-the-middle tests of Signet's signing: the real
// server (package server, a share on a temporary directory through
// vfs/localfs) and the real client (package client) talk through a
// wiretap.Tap on loopback that flips bytes, strips signatures, rewrites
// NEGOTIATE, replays, drops and reorders messages, and an attacker on a
// connection of its own reuses a victim's SessionId. Each test states what
// MS-SMB2 requires and checks what the server, the client and the file on
// disk actually do. Everything runs in plain `go test`, with no external
// peer.
//
// The package has no non-test code.
package mitm
