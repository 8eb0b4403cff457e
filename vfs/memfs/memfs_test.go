package memfs_test

import (
	"testing"

	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
	"github.com/signetsmb/signet/vfs/vfstest"
)

func TestConformance(t *testing.T) {
	vfstest.Run(t, func(t *testing.T) vfs.FS { return memfs.New(memfs.Options{}) })
}
