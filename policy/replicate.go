package policy

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/BurntSushi/toml"
)

// The part of a configuration that the nodes of a cluster share
// (docs/cluster.md, "Users file and policy"): [server] less its per-node
// keys, the [[share]] tables and [limits]. Everything else is the node's
// own: where it listens, its name and role, its users file's path, its
// admin socket, [cluster], [kerberos] (keytab paths), [[interface]],
// [client], [metrics] and [log].

// perNodeServerKeys are the [server] keys that stay per node.
var perNodeServerKeys = map[string]bool{
	"listen": true, "admin_socket": true, "watch_config": true, "users_file": true,
	"server_name": true, "role": true,
}

// replicatedTables are the top-level tables shared whole.
var replicatedTables = []string{"share", "limits"}

// replicable returns the shared part of a decoded configuration.
func replicable(m map[string]any) map[string]any {
	out := map[string]any{}
	if srv, ok := m["server"].(map[string]any); ok {
		shared := map[string]any{}
		for k, v := range srv {
			if !perNodeServerKeys[k] {
				shared[k] = v
			}
		}
		if len(shared) > 0 {
			out["server"] = shared
		}
	}
	for _, t := range replicatedTables {
		if v, ok := m[t]; ok {
			out[t] = v
		}
	}
	return out
}

func encodeTOML(m map[string]any) ([]byte, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ReplicablePart returns the shared part of the configuration text data
// in a canonical form (TOML, keys sorted, no comments): two files that
// differ only in per-node keys, comments or layout give the same bytes.
func ReplicablePart(data []byte) ([]byte, error) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return encodeTOML(replicable(m))
}

// ReplicableFile is ReplicablePart of the configuration file at path,
// which must be a valid configuration (a file being edited into an
// invalid one is not taken for the cluster's).
func ReplicableFile(path string, allowUnknown bool) ([]byte, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	data, err := readTrusted(abs)
	if err != nil {
		return nil, err
	}
	if _, _, err := parse(data, filepath.Dir(abs), abs, osEnv(), allowUnknown); err != nil {
		return nil, err
	}
	return ReplicablePart(data)
}

// replicatedHeader starts a configuration file rewritten with a cluster's
// policy.
const replicatedHeader = "# Written by signet with the cluster's shared policy (docs/cluster.md):\n" +
	"# [server] (less per-node keys), [[share]] and [limits] are the same on every node.\n\n"

// MergeReplicable returns the configuration text local with its shared
// part replaced by shared (as ReplicablePart gives it; keys in shared that
// are per node are ignored). The result is re-encoded: comments and
// layout of local are not kept.
func MergeReplicable(local, shared []byte) ([]byte, error) {
	var lm, sm map[string]any
	if err := toml.Unmarshal(local, &lm); err != nil {
		return nil, fmt.Errorf("local configuration: %w", err)
	}
	if err := toml.Unmarshal(shared, &sm); err != nil {
		return nil, fmt.Errorf("cluster's policy: %w", err)
	}
	sm = replicable(sm)
	srv, _ := lm["server"].(map[string]any)
	own := map[string]any{}
	for k, v := range srv {
		if perNodeServerKeys[k] {
			own[k] = v
		}
	}
	if s, ok := sm["server"].(map[string]any); ok {
		for k, v := range s {
			own[k] = v
		}
	}
	if len(own) > 0 {
		lm["server"] = own
	} else {
		delete(lm, "server")
	}
	for _, t := range replicatedTables {
		if v, ok := sm[t]; ok {
			lm[t] = v
		} else {
			delete(lm, t)
		}
	}
	out, err := encodeTOML(lm)
	if err != nil {
		return nil, err
	}
	return append([]byte(replicatedHeader), out...), nil
}

// ApplyReplicable replaces the shared part of the configuration file at
// path by shared, after checking that the result is a valid configuration
// (the file is left alone otherwise), atomically and with the file's
// mode. The caller reloads the Store afterwards.
func ApplyReplicable(path string, shared []byte, allowUnknown bool) error {
	return editConfigFile(path, allowUnknown, ".signet-cluster-*", "",
		func(data []byte) ([]byte, error) { return MergeReplicable(data, shared) })
}
