package userdb

// ReadFile returns the users file's content for replication to the other
// nodes of a cluster (docs/cluster.md), after checking that it parses (a
// file being edited into an invalid one is not shared). A missing file is
// an error wrapping fs.ErrNotExist.
func ReadFile(path string) ([]byte, error) {
	data, _, _, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	if _, err := parse(path, data); err != nil {
		return nil, err
	}
	return data, nil
}

// WriteFile replaces the users file at path with data, a users file
// received from the cluster, after checking that it parses (an invalid
// one is refused with every bad line reported and the file left alone).
// The file is replaced atomically with mode 0600; a Store following it
// picks the change up at its next look (Store.Reload looks at once).
func WriteFile(path string, data []byte) error {
	if _, err := parse("users file from the cluster", data); err != nil {
		return err
	}
	return writeAtomic(path, data)
}
