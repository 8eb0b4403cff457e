package spnego

// negTokenInit is NegTokenInit [RFC 4178 4.2.1] as sent by a client, or
// NegTokenInit2 [MS-SPNG 2.2.1] as sent by a server: its negHints are
// skipped. Slices alias the parsed token; absent fields are nil.
type negTokenInit struct {
	mechTypesDER []byte   // exact DER of the mechTypes SEQUENCE, for the mechListMIC
	mechTypes    [][]byte // each OID's full DER (06 len ...)
	mechToken    []byte
	mechListMIC  []byte
}

// negTokenResp is NegTokenResp [RFC 4178 4.2.2]. Slices alias the parsed
// token; absent fields are nil.
type negTokenResp struct {
	state         negState // stateAbsent when the field is missing
	supportedMech []byte   // full OID DER
	responseToken []byte
	mechListMIC   []byte
}

// parseInitialContextToken parses InitialContextToken [RFC 2743 3.1] holding
// SPNEGO's NegTokenInit or NegTokenInit2 [RFC 4178 4.2, MS-SPNG 2.2.1].
func parseInitialContextToken(b []byte) (negTokenInit, error) {
	outer, err := readOnly(b, tagApplication0)
	if err != nil {
		return negTokenInit{}, err
	}
	mech, rest, err := readElement(outer.body)
	if err != nil {
		return negTokenInit{}, err
	}
	if string(mech.raw) != oidSPNEGO {
		return negTokenInit{}, errInvalid("InitialContextToken is not SPNEGO")
	}
	choice, err := readOnly(rest, tagContext0)
	if err != nil {
		return negTokenInit{}, err
	}
	return parseNegTokenInit(choice.body)
}

// parseNegTokenInit parses the NegTokenInit SEQUENCE. Field [3] is accepted
// as mechListMIC (RFC 4178) or negHints (MS-SPNG); [4] is NegTokenInit2's
// mechListMIC.
func parseNegTokenInit(b []byte) (negTokenInit, error) {
	var t negTokenInit
	seq, err := readOnly(b, tagSequence)
	if err != nil {
		return t, err
	}
	f, err := explicitFields(seq.body, 5)
	if err != nil {
		return t, err
	}
	if !f[0].present() {
		return t, errInvalid("NegTokenInit without mechTypes")
	}
	if t.mechTypes, err = parseMechTypes(f[0]); err != nil {
		return t, err
	}
	t.mechTypesDER = f[0].raw
	if err := expect(f[1], tagBitString, "reqFlags"); err != nil {
		return t, err
	}
	if err := expect(f[2], tagOctetString, "mechToken"); err != nil {
		return t, err
	}
	t.mechToken = f[2].body
	switch {
	case f[3].present() && f[3].tag == tagOctetString:
		t.mechListMIC = f[3].body
	case f[3].present() && f[3].tag != tagSequence:
		return t, errInvalid("NegTokenInit field [3] is neither mechListMIC nor negHints")
	}
	if err := expect(f[4], tagOctetString, "mechListMIC"); err != nil {
		return t, err
	}
	if f[4].present() {
		t.mechListMIC = f[4].body
	}
	return t, nil
}

// parseMechTypes parses MechTypeList, a non-empty SEQUENCE OF OID.
func parseMechTypes(e element) ([][]byte, error) {
	if e.tag != tagSequence {
		return nil, errInvalid("mechTypes is not a SEQUENCE")
	}
	var oids [][]byte
	for b := e.body; len(b) > 0; {
		oid, rest, err := readElement(b)
		if err != nil {
			return nil, err
		}
		if oid.tag != tagOID || len(oid.body) == 0 {
			return nil, errInvalid("mechTypes member is not an OID")
		}
		oids = append(oids, oid.raw)
		b = rest
	}
	if len(oids) == 0 {
		return nil, errInvalid("empty mechTypes")
	}
	return oids, nil
}

// indexOf returns the position of oid in list, or -1.
func indexOf(list [][]byte, oid string) int {
	for i, m := range list {
		if string(m) == oid {
			return i
		}
	}
	return -1
}

// parseNegTokenResp parses NegotiationToken's negTokenResp choice
// ([1] NegTokenResp) [RFC 4178 4.2.2].
func parseNegTokenResp(b []byte) (negTokenResp, error) {
	r := negTokenResp{state: stateAbsent}
	choice, err := readOnly(b, tagContext0+1)
	if err != nil {
		return r, err
	}
	seq, err := readOnly(choice.body, tagSequence)
	if err != nil {
		return r, err
	}
	f, err := explicitFields(seq.body, 4)
	if err != nil {
		return r, err
	}
	if r.state, err = parseNegState(f[0]); err != nil {
		return r, err
	}
	for _, c := range []struct {
		e    element
		tag  byte
		name string
	}{{f[1], tagOID, "supportedMech"}, {f[2], tagOctetString, "responseToken"}, {f[3], tagOctetString, "mechListMIC"}} {
		if err := expect(c.e, c.tag, c.name); err != nil {
			return r, err
		}
	}
	r.supportedMech = f[1].raw
	r.responseToken = f[2].body
	r.mechListMIC = f[3].body
	return r, nil
}

// parseNegState decodes the negState ENUMERATED [RFC 4178 4.2.2].
func parseNegState(e element) (negState, error) {
	if !e.present() {
		return stateAbsent, nil
	}
	if e.tag != tagEnumerated || len(e.body) != 1 || e.body[0] > byte(stateRequestMIC) {
		return stateAbsent, errInvalid("bad negState")
	}
	return negState(e.body[0]), nil
}

// marshal encodes r as a NegotiationToken negTokenResp choice.
func (r *negTokenResp) marshal() []byte {
	var fields [][]byte
	if r.state != stateAbsent {
		fields = append(fields, explicit(0, wrap(tagEnumerated, []byte{byte(r.state)})))
	}
	if r.supportedMech != nil {
		fields = append(fields, explicit(1, r.supportedMech))
	}
	if r.responseToken != nil {
		fields = append(fields, explicit(2, wrap(tagOctetString, r.responseToken)))
	}
	if r.mechListMIC != nil {
		fields = append(fields, explicit(3, wrap(tagOctetString, r.mechListMIC)))
	}
	return wrap(tagContext0+1, wrap(tagSequence, fields...))
}

// marshalInitialContextToken encodes InitialContextToken(SPNEGO,
// NegTokenInit{mechTypes, mechToken}) [RFC 4178 4.2.1].
func marshalInitialContextToken(mechTypesDER, mechToken []byte) []byte {
	fields := [][]byte{explicit(0, mechTypesDER)}
	if mechToken != nil {
		fields = append(fields, explicit(2, wrap(tagOctetString, mechToken)))
	}
	return wrap(tagApplication0, []byte(oidSPNEGO), explicit(0, wrap(tagSequence, fields...)))
}
