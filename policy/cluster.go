package policy

import (
	"net/url"
	"strings"
	"time"
)

// Cluster is the [cluster] table: this server is one node of a cluster
// whose nodes serve one shared file system and keep the state they must
// agree on (share modes, byte-range locks) in etcd (docs/cluster.md). Nil
// in Config when the table is absent: a single server, etcd never dialled.
type Cluster struct {
	// Endpoints are the etcd client URLs, "http://host:2379" or https.
	Endpoints []string
	// Node is this node's name, unique in the cluster.
	Node string
	// Prefix is the root of Signet's keys in etcd (default "/signet/").
	Prefix string
	// CA, Cert, Key are PEM files for TLS to etcd (absolute, resolved
	// against the configuration's folder).
	CA, Cert, Key string
	// DialTimeout, RequestTimeout and LeaseTTL: see cluster.Config.
	DialTimeout, RequestTimeout, LeaseTTL time.Duration
	// Username and PasswordFile (absolute): etcd user/password
	// authentication; both or neither.
	Username, PasswordFile string
}

type rawCluster struct {
	Endpoints      []string `toml:"endpoints"`
	Node           string   `toml:"node"`
	Prefix         string   `toml:"prefix"`
	CA             string   `toml:"ca"`
	Cert           string   `toml:"cert"`
	Key            string   `toml:"key"`
	DialTimeout    string   `toml:"dial_timeout"`
	RequestTimeout string   `toml:"request_timeout"`
	LeaseTTL       string   `toml:"lease_ttl"`
	Username       string   `toml:"username"`
	PasswordFile   string   `toml:"password_file"`
}

// Cluster defaults.
const (
	defaultClusterDial    = 5 * time.Second
	defaultClusterRequest = 3 * time.Second
	defaultClusterLease   = 10 * time.Second
)

// cluster validates [cluster] when present.
func (p *parser) cluster(r rawCluster) {
	if !p.md.IsDefined("cluster") {
		return
	}
	c := &Cluster{Node: r.Node, Prefix: r.Prefix,
		DialTimeout: defaultClusterDial, RequestTimeout: defaultClusterRequest, LeaseTTL: defaultClusterLease}
	ok := true
	bad := func(key, format string, args ...any) { p.fail(key, format, args...); ok = false }
	if len(r.Endpoints) == 0 {
		bad("cluster.endpoints", "required: the etcd client URLs, e.g. [\"http://10.0.0.1:2379\"]")
	}
	for _, e := range r.Endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("cluster.endpoints", "%q: want http://host:port or https://host:port", e)
			continue
		}
		c.Endpoints = append(c.Endpoints, e)
	}
	if c.Node == "" || hasControl(c.Node) || strings.ContainsAny(c.Node, "/ \t") {
		bad("cluster.node", "required: this node's name, unique in the cluster, without '/' or spaces")
	}
	if c.Prefix == "" {
		c.Prefix = "/signet/"
	} else if !strings.HasPrefix(c.Prefix, "/") || hasControl(c.Prefix) {
		bad("cluster.prefix", "%q: want a key prefix starting with '/'", c.Prefix)
	}
	for _, f := range []struct {
		key string
		in  string
		out *string
	}{{"cluster.ca", r.CA, &c.CA}, {"cluster.cert", r.Cert, &c.Cert}, {"cluster.key", r.Key, &c.Key}} {
		if f.in == "" {
			continue
		}
		*f.out = p.resolve(f.in)
		if fi, err := p.env.stat(*f.out); err != nil {
			bad(f.key, "%v", unwrapPathError(err))
		} else if fi.IsDir() {
			bad(f.key, "%s is a folder", *f.out)
		}
	}
	if (c.Cert == "") != (c.Key == "") {
		bad("cluster.cert", "cert and key go together")
	}
	if (r.Username == "") != (r.PasswordFile == "") {
		bad("cluster.username", "username and password_file go together")
	} else if r.Username != "" {
		if hasControl(r.Username) || strings.ContainsAny(r.Username, ": \t") {
			bad("cluster.username", "%q: an etcd user name without ':', spaces or control characters", r.Username)
		}
		c.Username, c.PasswordFile = r.Username, p.resolve(r.PasswordFile)
		if fi, err := p.env.stat(c.PasswordFile); err != nil {
			bad("cluster.password_file", "%v", unwrapPathError(err))
		} else if fi.IsDir() {
			bad("cluster.password_file", "%s is a folder", c.PasswordFile)
		}
	}
	dur := func(key, v string, min, max time.Duration, out *time.Duration) {
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < min || d > max {
			bad(key, "%q: want a duration from %q to %q", v, min.String(), max.String())
			return
		}
		*out = d
	}
	dur("cluster.dial_timeout", r.DialTimeout, 100*time.Millisecond, time.Minute, &c.DialTimeout)
	dur("cluster.request_timeout", r.RequestTimeout, 100*time.Millisecond, time.Minute, &c.RequestTimeout)
	dur("cluster.lease_ttl", r.LeaseTTL, 2*time.Second, 10*time.Minute, &c.LeaseTTL)
	if ok {
		p.cfg.Cluster = c
	}
}

// clusterKeys are the keys of [cluster] whose presence Show reports.
func clusterKeys() []string {
	return []string{"cluster.endpoints", "cluster.node", "cluster.prefix", "cluster.ca", "cluster.cert", "cluster.key",
		"cluster.dial_timeout", "cluster.request_timeout", "cluster.lease_ttl",
		"cluster.username", "cluster.password_file"}
}

// clusterSettings renders [cluster] for Show; nothing without it, so a
// single server's listing is unchanged.
func (c *Config) clusterSettings() []Setting {
	k := c.Cluster
	if k == nil {
		return nil
	}
	return []Setting{
		c.scalar("cluster.endpoints", strings.Join(k.Endpoints, ","), "etcd; docs/cluster.md"),
		c.scalar("cluster.node", k.Node, "unique in the cluster"),
		c.scalar("cluster.prefix", k.Prefix, ""),
		c.scalar("cluster.ca", orDash(k.CA), ""),
		c.scalar("cluster.cert", orDash(k.Cert), ""),
		c.scalar("cluster.key", orDash(k.Key), ""),
		c.scalar("cluster.dial_timeout", k.DialTimeout.String(), ""),
		c.scalar("cluster.request_timeout", k.RequestTimeout.String(), "an open waits at most this long for etcd"),
		c.scalar("cluster.lease_ttl", k.LeaseTTL.String(), "a dead node's share modes and locks go after this"),
		c.scalar("cluster.username", orDash(k.Username), "etcd user/password authentication"),
		c.scalar("cluster.password_file", orDash(k.PasswordFile), ""),
	}
}
