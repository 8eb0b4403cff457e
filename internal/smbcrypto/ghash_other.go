//go:build !amd64 || purego

package smbcrypto

// ghashAVX512 is false where there is no assembly: GMAC uses the
// standard library's GCM.
const ghashAVX512 = false

func ghashBlocks(table *[ghashTableSize]byte, y *[16]byte, data []byte) {
	panic("smbcrypto: ghashBlocks without assembly")
}
