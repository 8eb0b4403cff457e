// Package policy is Signet's configuration: a validated, immutable snapshot
// (Config) and a Store that swaps snapshots atomically on reload.
//
// # File format
//
// The configuration is TOML. Every key is optional unless noted; the
// comments give the value used when a key is absent. This layout is a
// stable interface.
//
//	[server]
//	listen = ":445"                  # host:port
//	require_signing = true           # absent: the role default (below)
//	role = "standalone"              # "standalone" | "member" | "domain-controller"
//	users_file = "users"             # NT hash file, see package auth/userdb
//	enable_security_signature = true # SMBv1 only: accepted, warned about, no effect
//	server_name = "SIGNET"           # NetBIOS name; absent: the short host name, upper-cased, <= 15 bytes
//	domain = "WORKGROUP"             # NetBIOS domain or workgroup name
//	min_dialect = "2.0.2"            # "2.0.2" | "2.1" | "3.0" | "3.0.2" | "3.1.1"
//	max_dialect = "3.1.1"
//	signing_algorithms = ["AES-128-GMAC", "AES-128-CMAC", "HMAC-SHA256"]
//	allow_anonymous = false          # refused anyway while signing is required
//	max_sessions = 0                 # 0 = unlimited
//
//	[client]
//	require_signing = true
//	enable_security_signature = true # SMBv1 only: accepted, warned about, no effect
//
//	[[share]]                        # repeat for each share
//	name = "public"                  # required; unique ignoring case; <= 80 chars; none of \/:*?"<>|; not IPC$
//	path = "/srv/public"             # required; an existing directory
//	read_only = false
//	comment = ""
//	users = []                       # allowed users; empty = every authenticated user
//
// Relative paths (users_file, share paths) resolve against the folder of
// the configuration file. Signing algorithm names are matched ignoring
// case, and "gmac", "cmac" and "hmac-sha256" are accepted as short names.
// Unknown keys are reported as warnings, not errors, so that a newer file
// still loads. Every error and warning names the file and the key.
//
// # Signing policy
//
// server.require_signing is the Windows policy "Microsoft network server:
// Digitally sign communications (always)" (RequireSecuritySignature). When
// the file does not set it, Windows' effective default for the server role
// applies: required on a domain controller, not required on member and
// stand-alone servers. Config.RequireSigningSource records which rule
// decided. The built-in configuration (DefaultConfig) sets it to true
// explicitly.
//
// The "Digitally sign communications (if client agrees / if server agrees)"
// policies (EnableSecuritySignature) only affect SMBv1, which Signet does
// not speak: SMB2 and SMB3 signing is always enabled and only "required"
// matters. The enable_security_signature keys are accepted so that
// translated Windows policies load, and produce a warning.
//
// # Reloading
//
// A Store holds the current snapshot. Reload, Watch (file changes) and
// ReloadOnSignal (SIGHUP) parse a whole new snapshot; if it is invalid the
// old one stays and the error is reported, otherwise it replaces the old
// one atomically and subscribers are told. Code that consults policy keeps
// the snapshot it read, so established sessions and tree connects keep the
// rules they were admitted under.
package policy
