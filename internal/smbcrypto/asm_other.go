//go:build !amd64 || purego

package smbcrypto

// ghashAVX512 is false where there is no assembly: GMAC uses the
// standard library's GCM.
const ghashAVX512 = false

func ghashBlocks(table *[ghashTableSize]byte, y *[16]byte, data []byte) {
	panic("smbcrypto: ghashBlocks without assembly")
}

const gcmAVX512 = false

func aesCTRBlocks(rk *[15 * 16]byte, rounds int, ctr *[16]byte, dst, src []byte) {
	panic("smbcrypto: aesCTRBlocks without assembly")
}

const cmacAESNI = false

func cbcmacBlocks(rk *[15 * 16]byte, x *[16]byte, data []byte) {
	panic("smbcrypto: cbcmacBlocks without assembly")
}

const ccmAESNI = false

func ccmSealBlocks(rk *[15 * 16]byte, rounds int, mac, ctr *[16]byte, dst, src []byte) {
	panic("smbcrypto: ccmSealBlocks without assembly")
}

func ccmOpenBlocks(rk *[15 * 16]byte, rounds int, mac, ctr *[16]byte, dst, src []byte) {
	panic("smbcrypto: ccmOpenBlocks without assembly")
}
