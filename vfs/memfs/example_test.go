package memfs_test

import (
	"context"
	"fmt"
	"os"

	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

func Example() {
	ctx := context.Background()
	var fsys vfs.FS = memfs.New(memfs.Options{Capacity: 1 << 20})

	if err := fsys.Mkdir(ctx, "docs", 0o755); err != nil {
		panic(err)
	}
	f, err := fsys.OpenFile(ctx, "docs/readme.txt", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		panic(err)
	}
	if _, err := f.WriteAt([]byte("hello"), 0); err != nil {
		panic(err)
	}
	f.Close()

	// A rename keeps the FileID; replace=false never overwrites.
	before, _ := fsys.Stat(ctx, "docs/readme.txt")
	if err := fsys.Rename(ctx, "docs/readme.txt", "README", false); err != nil {
		panic(err)
	}
	after, _ := fsys.Stat(ctx, "README")
	fmt.Println(after.Size, after.FileID == before.FileID)

	// Optional capabilities are found by type assertion.
	if ts, ok := fsys.(vfs.TimeSetter); ok {
		fmt.Println(ts.SetTimes(ctx, "README", after.AccessTime, after.ModTime) == nil)
	}
	// Output:
	// 5 true
	// true
}
