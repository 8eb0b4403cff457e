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
//	ntlm = true                      # false refuses NTLM logons (needs [kerberos])
//	auth_order = ["kerberos", "ntlm"] # SPNEGO offer order; what is off is left out
//	encrypt_data = false             # true: every session must encrypt (SMB2_SESSION_FLAG_ENCRYPT_DATA)
//	reject_unencrypted_access = true # clients that cannot encrypt get ACCESS_DENIED where it is required
//	ciphers = ["AES-128-GCM", "AES-128-CCM", "AES-256-GCM", "AES-256-CCM"]  # 3.1.1 preference
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
//	encrypt_data = false             # true: SMB2_SHAREFLAG_ENCRYPT_DATA
//
//	[kerberos]                       # absent: Kerberos off
//	keytab = "/etc/signet/krb5.keytab" # required; the service keys
//	realm = "EXAMPLE.COM"            # required; name@realm maps to user name
//	service = "cifs/files.example.com" # required; the service principal
//	max_skew = "5m"                  # "1s" to "1h"
//	replay_cache_entries = 65536     # 1 to 16777216
//	unmapped = "refuse"              # or "strip": name@ANY.REALM -> name
//	[kerberos.map]                   # explicit "name@REALM" = "user"
//
//	[limits]                         # what a client can make the server hold
//	max_connections = 4096           # TCP connections, server-wide
//	idle_timeout = "15m"             # a Go duration string
//	max_opens = "unlimited"          # where the key allows it
//
// Every [limits] key is optional and takes the built-in default (the same
// as server.DefaultLimits) when absent; the keys, one per field of Limits,
// are listed with their defaults and reasons in the embedded default
// configuration (default.toml). Counts and sizes are integers, sizes in
// bytes; times are Go duration strings. Ranges:
//
//	max_connections: 1 to 2147483647, or "unlimited"
//	max_connections_per_addr: 1 to 2147483647, or "unlimited"
//	max_sessions_per_conn: 1 to 2147483647, or "unlimited"
//	max_channels_per_session: 1 to 2147483647, or "unlimited"
//	max_opens_per_session: 1 to 2147483647, or "unlimited"
//	max_opens: 1 to 2147483647, or "unlimited"
//	max_async_per_conn: 1 to 2147483647, or "unlimited"
//	max_locks_per_open: 1 to 2147483647, or "unlimited"
//	max_locks_per_file: 1 to 2147483647, or "unlimited"
//	max_pipe_output: 4280 to 2147483647, or "unlimited"
//	max_read_bytes_pending: 65536 to 2147483647, or "unlimited"
//	max_credits: 1 to 65535
//	max_pdu_before_negotiate: 102 to 16777215
//	max_pdu_before_session: 88 to 16777215
//	pre_auth_timeout: "1s" or more, or "unlimited"
//	idle_timeout: "1s" or more, or "unlimited"
//	write_timeout: "1s" or more, or "unlimited"
//	max_search_pattern: 1 to 2147483647, or "unlimited"
//	auth_failure_delay: "0s" (no delay) to "10s"
//	revalidate_interval: "1s" or more
//
// "unlimited" is the only way to lift a limit: 0 and negative numbers are
// errors, so that 0 cannot be misread as "default" or "none". In Limits,
// and in server.Limits, it is stored as Unlimited (-1); so is
// auth_failure_delay = "0s".
//
// # File permissions
//
// A configuration file decides what is shared with whom, so Load and every
// reload refuse a file that someone other than its owner can change: a
// group- or world-writable file, a file owned by a user other than root or
// the server's own uid, or a file in a world-writable folder without the
// sticky bit. The embedded default has no file and is exempt. The users
// file has its own, shared check (internal/fileperm).
//
// Relative paths (users_file, share paths) resolve against the folder of
// the configuration file. Signing algorithm names are matched ignoring
// case, and "gmac", "cmac" and "hmac-sha256" are accepted as short names.
// Unknown keys, in [limits] too, are reported as warnings, not errors, so
// that a newer file still loads. Every error and warning names the file and the key.
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
