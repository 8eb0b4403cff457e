package dcerpc

// wkssvc operation numbers (MS-WKST 3.2.4).
const opNetrWkstaGetInfo = 0

func wkssvcService() service {
	return service{name: "wkssvc", syntax: syntaxWkssvc, dispatch: wkssvcDispatch}
}

func wkssvcDispatch(b Backend, _ string, opnum uint16, stub []byte) ([]byte, error) {
	if opnum == opNetrWkstaGetInfo {
		return netrWkstaGetInfo(b, stub)
	}
	return nil, errOpRange
}

// netrWkstaGetInfo answers NetrWkstaGetInfo (opnum 0) at levels 100, 101
// and 102 (MS-WKST 2.2.5.1-2.2.5.3):
//
//	[in, string, unique] WKSSVC_IDENTIFY_HANDLE ServerName,
//	[in] unsigned long Level,
//	[out, switch_is(Level)] LPWKSTA_INFO WkstaInfo,
//	NET_API_STATUS return
//
// The LAN root (101, 102) is reported empty and the logged-on user count
// (102) as 0: the server has no such notions.
func netrWkstaGetInfo(b Backend, stub []byte) ([]byte, error) {
	level, err := parseLevelRequest(stub)
	if err != nil {
		return nil, err
	}
	w := newNDRWriter(128)
	if level != 100 && level != 101 && level != 102 {
		writeUnionNull(w, level)
		w.uint32(errorInvalidLevel)
		return w.bytes(), nil
	}
	si := b.Server().withDefaults()
	var d ndrStrings
	w.uint32(level)
	w.pointer(true)
	w.uint32(PlatformIDNT)
	w.stringPtr(si.Name, &d)
	w.stringPtr(si.Domain, &d)
	w.uint32(si.VersionMajor)
	w.uint32(si.VersionMinor)
	if level >= 101 {
		w.stringPtr("", &d) // wki101_lanroot
	}
	if level == 102 {
		w.uint32(0) // wki102_logged_on_users
	}
	w.flush(&d)
	w.uint32(errorSuccess)
	return w.bytes(), nil
}
