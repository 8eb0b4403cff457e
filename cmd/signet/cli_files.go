package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/signetsmb/signet/client"
)

func init() {
	registerCommand("ls", "list a directory: ls //host[:port]/share[/path] ...", clientLs)
	registerCommand("get", "download a file: get //host[:port]/share/path [LOCAL|-]", clientGet)
	registerCommand("put", "upload a file: put LOCAL|- //host[:port]/share/path", clientPut)
	registerCommand("rm", "remove files or directories: rm [-r] //host[:port]/share/path ...", clientRm)
	registerCommand("mkdir", "create directories: mkdir [-p] //host[:port]/share/path ...", clientMkdir)
	registerCommand("mv", "rename within a share: mv //host[:port]/share/old //host[:port]/share/new", clientMv)
	registerCommand("stat", "show file metadata: stat //host[:port]/share/path ...", clientStat)
	registerCommand("shares", "list a server's shares: shares //host[:port]", clientShares)
}

// clientCommand parses args for a client command and runs fn with the
// positional arguments and a connection cache.
func clientCommand(ctx context.Context, name, synopsis string, args []string, extra func(*flag.FlagSet),
	fn func(ctx context.Context, c *connections, pos []string) error) error {
	fs := newFlagSet(name, synopsis)
	var cf clientFlags
	cf.register(fs)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseClientArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &exitError{code: 2, msg: err.Error()}
	}
	if err := cf.finish(fs, pos); err != nil {
		return &exitError{code: 2, msg: err.Error()}
	}
	c := newConnections(&cf)
	defer c.close()
	return fn(ctx, c, pos)
}

func usageError(synopsis string) error {
	return &exitError{code: 2, msg: "usage: signet " + synopsis}
}

func clientLs(ctx context.Context, args []string) error {
	const syn = "ls //host[:port]/share[/path] ..."
	return clientCommand(ctx, "ls", syn, args, nil, func(ctx context.Context, c *connections, pos []string) error {
		if len(pos) == 0 {
			return usageError(syn)
		}
		for i, arg := range pos {
			if len(pos) > 1 {
				if i > 0 {
					fmt.Println()
				}
				fmt.Printf("%s:\n", arg)
			}
			if err := listOne(ctx, c, arg); err != nil {
				return err
			}
		}
		return nil
	})
}

// listOne lists a directory, or describes a single file.
func listOne(ctx context.Context, c *connections, arg string) error {
	t, err := needShare(arg)
	if err != nil {
		return err
	}
	sh, err := c.share(ctx, t)
	if err != nil {
		return err
	}
	fi, err := sh.Stat(t.path)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	defer tw.Flush()
	if !fi.IsDir() {
		printEntry(tw, fi)
		return nil
	}
	entries, err := sh.ReadDir(t.path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return err
		}
		printEntry(tw, info)
	}
	return nil
}

// printEntry prints one ls line: mode, size, modification time, name.
func printEntry(w io.Writer, fi fs.FileInfo) {
	name := fi.Name()
	if fi.IsDir() {
		name += "/"
	}
	fmt.Fprintf(w, "%s\t%d\t %s\t %s\n", fi.Mode(), fi.Size(), fi.ModTime().Local().Format("2006-01-02 15:04"), name)
}

func clientGet(ctx context.Context, args []string) error {
	const syn = "get [-r] //host[:port]/share/path [LOCAL|-]"
	var recursive bool
	extra := func(fs *flag.FlagSet) { fs.BoolVar(&recursive, "r", false, "download a directory and its contents") }
	return clientCommand(ctx, "get", syn, args, extra, func(ctx context.Context, c *connections, pos []string) error {
		if len(pos) < 1 || len(pos) > 2 {
			return usageError(syn)
		}
		t, err := needShare(pos[0])
		if err != nil {
			return err
		}
		local := path.Base(t.path)
		if len(pos) == 2 {
			local = pos[1]
		}
		sh, err := c.share(ctx, t)
		if err != nil {
			return err
		}
		if isRemoteDir(sh, t.path) {
			if !recursive {
				return fmt.Errorf("%s is a directory (use -r)", pos[0])
			}
			if local == "-" {
				return errors.New("a directory cannot go to standard output")
			}
			if st, err := os.Stat(local); err == nil && st.IsDir() && len(pos) == 2 {
				local = filepath.Join(local, path.Base(t.path))
			}
			return downloadTree(sh, t.path, local)
		}
		return download(sh, t.path, local)
	})
}

// downloadTree copies the remote directory remote into local (created).
func downloadTree(sh *client.Share, remote, local string) error {
	if err := os.MkdirAll(local, 0o755); err != nil {
		return err
	}
	entries, err := sh.ReadDir(remote)
	if err != nil {
		return err
	}
	for _, e := range entries {
		r, l := path.Join(remote, e.Name()), filepath.Join(local, e.Name())
		if e.IsDir() {
			err = downloadTree(sh, r, l)
		} else {
			err = download(sh, r, l)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// download copies remote to local ("-" is standard output; a directory
// receives the remote base name).
func download(sh *client.Share, remote, local string) error {
	f, err := sh.OpenFile(remote, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", remote)
	}
	var dst io.Writer = os.Stdout
	var out *os.File
	if local != "-" {
		if st, err := os.Stat(local); err == nil && st.IsDir() {
			local = filepath.Join(local, path.Base(remote))
		}
		if out, err = os.Create(local); err != nil {
			return err
		}
		dst = out
	}
	bar := newProgress(path.Base(remote), fi.Size())
	_, err = io.Copy(bar.writer(dst), f) // uses f.WriteTo: reads in parallel
	bar.done(err)
	if out != nil {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func clientPut(ctx context.Context, args []string) error {
	const syn = "put [-r] LOCAL|- //host[:port]/share/path"
	var recursive bool
	extra := func(fs *flag.FlagSet) { fs.BoolVar(&recursive, "r", false, "upload a directory and its contents") }
	return clientCommand(ctx, "put", syn, args, extra, func(ctx context.Context, c *connections, pos []string) error {
		if len(pos) != 2 {
			return usageError(syn)
		}
		t, err := needShare(pos[1])
		if err != nil {
			return err
		}
		localDir := false
		if pos[0] != "-" {
			st, err := os.Stat(pos[0])
			if err != nil {
				return err
			}
			if localDir = st.IsDir(); localDir && !recursive {
				return fmt.Errorf("%s is a directory (use -r)", pos[0])
			}
		}
		sh, err := c.share(ctx, t)
		if err != nil {
			return err
		}
		if localDir {
			remote := t.path
			if t.dir || t.path == "." || isRemoteDir(sh, t.path) {
				remote = path.Join(t.path, filepath.Base(filepath.Clean(pos[0])))
			}
			return uploadTree(sh, pos[0], remote)
		}
		remote := t.path
		if t.dir || t.path == "." || isRemoteDir(sh, t.path) {
			if pos[0] == "-" {
				return errors.New("put from standard input needs a remote file name")
			}
			remote = path.Join(t.path, filepath.Base(pos[0]))
		}
		return upload(sh, pos[0], remote)
	})
}

func isRemoteDir(sh *client.Share, name string) bool {
	fi, err := sh.Stat(name)
	return err == nil && fi.IsDir()
}

// upload copies local ("-" is standard input) to remote.
func upload(sh *client.Share, local, remote string) error {
	var src io.Reader = os.Stdin
	size := int64(-1)
	if local != "-" {
		in, err := os.Open(local)
		if err != nil {
			return err
		}
		defer in.Close()
		if st, err := in.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		src = in
	}
	f, err := sh.Create(remote)
	if err != nil {
		return err
	}
	bar := newProgress(path.Base(remote), size)
	_, err = io.Copy(f, bar.reader(src)) // uses f.ReadFrom: writes in parallel
	bar.done(err)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		sh.Remove(remote) // no partial file left behind
	}
	return err
}

// uploadTree copies the local directory local to remote (created).
func uploadTree(sh *client.Share, local, remote string) error {
	return filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(local, p)
		if err != nil {
			return err
		}
		r := path.Join(remote, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			return sh.MkdirAll(r, 0o755)
		case d.Type().IsRegular():
			return upload(sh, p, r)
		default:
			fmt.Fprintf(os.Stderr, "signet put: skipping %s: not a regular file\n", p)
			return nil
		}
	})
}

func clientRm(ctx context.Context, args []string) error {
	const syn = "rm [-r] //host[:port]/share/path ..."
	var recursive bool
	extra := func(fs *flag.FlagSet) { fs.BoolVar(&recursive, "r", false, "remove directories and their contents") }
	return clientCommand(ctx, "rm", syn, args, extra, func(ctx context.Context, c *connections, pos []string) error {
		return forEachTarget(ctx, c, pos, syn, func(sh *client.Share, t smbTarget) error {
			if t.path == "." {
				return fmt.Errorf("refusing to remove the root of //%s/%s", t.addr, t.share)
			}
			if recursive {
				return sh.RemoveAll(t.path)
			}
			return sh.Remove(t.path)
		})
	})
}

func clientMkdir(ctx context.Context, args []string) error {
	const syn = "mkdir [-p] //host[:port]/share/path ..."
	var parents bool
	extra := func(fs *flag.FlagSet) {
		fs.BoolVar(&parents, "p", false, "create missing parents; no error if it exists")
	}
	return clientCommand(ctx, "mkdir", syn, args, extra, func(ctx context.Context, c *connections, pos []string) error {
		return forEachTarget(ctx, c, pos, syn, func(sh *client.Share, t smbTarget) error {
			if parents {
				return sh.MkdirAll(t.path, 0o755)
			}
			return sh.Mkdir(t.path, 0o755)
		})
	})
}

// forEachTarget runs fn on every target.
func forEachTarget(ctx context.Context, c *connections, pos []string, syn string, fn func(*client.Share, smbTarget) error) error {
	if len(pos) == 0 {
		return usageError(syn)
	}
	for _, arg := range pos {
		t, err := needShare(arg)
		if err != nil {
			return err
		}
		sh, err := c.share(ctx, t)
		if err != nil {
			return err
		}
		if err := fn(sh, t); err != nil {
			return err
		}
	}
	return nil
}

func clientMv(ctx context.Context, args []string) error {
	const syn = "mv //host[:port]/share/old //host[:port]/share/new (or a path relative to the share)"
	return clientCommand(ctx, "mv", syn, args, nil, func(ctx context.Context, c *connections, pos []string) error {
		if len(pos) != 2 {
			return usageError(syn)
		}
		from, err := needShare(pos[0])
		if err != nil {
			return err
		}
		to, err := mvTarget(from, pos[1])
		if err != nil {
			return err
		}
		sh, err := c.share(ctx, from)
		if err != nil {
			return err
		}
		dest := to.path
		if to.dir || isRemoteDir(sh, to.path) {
			dest = path.Join(to.path, path.Base(from.path))
		}
		return sh.Rename(from.path, dest)
	})
}

// mvTarget parses the destination of mv: a full target on the same share,
// or a path relative to the share root.
func mvTarget(from smbTarget, arg string) (smbTarget, error) {
	if !strings.HasPrefix(arg, "//") && !strings.HasPrefix(arg, `\\`) && !strings.HasPrefix(arg, "smb:") {
		return needShare("//" + from.addr + "/" + from.share + "/" + arg)
	}
	to, err := needShare(arg)
	if err != nil {
		return to, err
	}
	if to.addr != from.addr || !strings.EqualFold(to.share, from.share) {
		return to, errors.New("mv works within one share; use get and put to copy between shares")
	}
	return to, nil
}

func clientStat(ctx context.Context, args []string) error {
	const syn = "stat //host[:port]/share/path ..."
	return clientCommand(ctx, "stat", syn, args, nil, func(ctx context.Context, c *connections, pos []string) error {
		return forEachTarget(ctx, c, pos, syn, func(sh *client.Share, t smbTarget) error {
			fi, err := sh.Stat(t.path)
			if err != nil {
				return err
			}
			printStat(t, fi)
			return nil
		})
	})
}

// printStat prints the metadata of one file.
func printStat(t smbTarget, fi fs.FileInfo) {
	kind := "file"
	if fi.IsDir() {
		kind = "directory"
	}
	stamp := func(tm time.Time) string {
		if tm.IsZero() {
			return "-"
		}
		return tm.Local().Format("2006-01-02 15:04:05.000000000 -0700")
	}
	fmt.Printf("  File: //%s/%s/%s\n", t.addr, t.share, strings.TrimPrefix(t.path, "."))
	fmt.Printf("  Type: %s\n  Size: %d\n  Mode: %s\n", kind, fi.Size(), fi.Mode())
	fmt.Printf("Modify: %s\n", stamp(fi.ModTime()))
	if a, ok := fi.Sys().(*client.Attributes); ok {
		fmt.Printf("Change: %s\nAccess: %s\n Birth: %s\n", stamp(a.ChangeTime), stamp(a.LastAccessTime), stamp(a.CreationTime))
		fmt.Printf(" Attrs: 0x%08x\n Alloc: %d\n", a.FileAttributes, a.AllocationSize)
	}
}

func clientShares(ctx context.Context, args []string) error {
	const syn = "shares //host[:port]"
	return clientCommand(ctx, "shares", syn, args, nil, func(ctx context.Context, c *connections, pos []string) error {
		if len(pos) != 1 {
			return usageError(syn)
		}
		t, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		s, err := c.session(ctx, t.addr)
		if err != nil {
			return err
		}
		shares, err := s.Shares(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTYPE\tCOMMENT")
		for _, si := range shares {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", si.Name, si.TypeName(), si.Comment)
		}
		return tw.Flush()
	})
}
