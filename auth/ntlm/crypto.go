package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
)

// ntlmv2BlobHeaderLen is the fixed part of NTLMv2_CLIENT_CHALLENGE before its
// AV pairs: RespType, HiRespType, Reserved1, Reserved2, TimeStamp,
// ChallengeFromClient, Reserved3 [MS-NLMP 2.2.2.7].
const ntlmv2BlobHeaderLen = 28

// ntProofLen is the length of NTProofStr, the first part of an
// NTLMv2_RESPONSE [MS-NLMP 2.2.2.8].
const ntProofLen = 16

// hmacMD5 returns HMAC_MD5(key, parts[0] || parts[1] || ...).
func hmacMD5(key []byte, parts ...[]byte) []byte {
	h := hmac.New(md5.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// rc4Once returns RC4K(key, data) [MS-NLMP 6], a one-shot encryption.
func rc4Once(key, data []byte) []byte {
	c, err := rc4.NewCipher(key)
	if err != nil { // only for key lengths outside 1..256; ours are 16
		panic("ntlm: " + err.Error())
	}
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

// ntowfv2 returns NTOWFv2 = HMAC_MD5(NTOWFv1, UTF16(Upper(User)) ||
// UTF16(UserDom)) [MS-NLMP 3.3.2]. userUpper must already be upper-cased;
// both names are UTF-16LE.
func ntowfv2(ntHash [16]byte, userUpper, domain []byte) []byte {
	return hmacMD5(ntHash[:], userUpper, domain)
}

// ntProofStr returns HMAC_MD5(ResponseKeyNT, ServerChallenge || temp)
// [MS-NLMP 3.3.2], temp being the NTLMv2_CLIENT_CHALLENGE as sent.
func ntProofStr(responseKeyNT []byte, serverChallenge [8]byte, temp []byte) []byte {
	return hmacMD5(responseKeyNT, serverChallenge[:], temp)
}

// lmv2Response returns the LMv2 response HMAC_MD5(ResponseKeyLM,
// ServerChallenge || ClientChallenge) || ClientChallenge [MS-NLMP 3.3.2];
// ResponseKeyLM equals ResponseKeyNT in NTLMv2.
func lmv2Response(responseKey []byte, serverChallenge, clientChallenge [8]byte) []byte {
	mac := hmacMD5(responseKey, serverChallenge[:], clientChallenge[:])
	return append(mac, clientChallenge[:]...)
}

// ntlmv2Temp builds NTLMv2_CLIENT_CHALLENGE [MS-NLMP 2.2.2.7] including the
// trailing 4 zero bytes of [MS-NLMP 3.3.2]'s temp.
func ntlmv2Temp(timestamp [8]byte, clientChallenge [8]byte, avPairs []byte) []byte {
	t := make([]byte, 0, ntlmv2BlobHeaderLen+len(avPairs)+4)
	t = append(t, 1, 1, 0, 0, 0, 0, 0, 0)
	t = append(t, timestamp[:]...)
	t = append(t, clientChallenge[:]...)
	t = append(t, 0, 0, 0, 0)
	t = append(t, avPairs...)
	return append(t, 0, 0, 0, 0)
}

// computeMIC returns HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE ||
// AUTHENTICATE) with the AUTHENTICATE's MIC field taken as zero
// [MS-NLMP 3.1.5.1.2, 3.2.5.1.2]. auth is not modified; it must be at least
// authenticateFullLen bytes.
func computeMIC(exportedKey, negotiate, challenge, auth []byte) []byte {
	var zero [authenticateMICLen]byte
	return hmacMD5(exportedKey, negotiate, challenge,
		auth[:authenticateMICAt], zero[:], auth[authenticateMICAt+authenticateMICLen:])
}
