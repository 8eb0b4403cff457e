"""Signet interop (issue 15): impacket takes an exclusive byte-range lock
through one cluster node and tries the same range through another.
Arguments: port of node A, port of node C, user, password. Prints one
JSON line with the NT status of each step."""
import json, sys, time
from impacket import smb3structs as s3
from impacket.smbconnection import SMBConnection, SessionError

port_a, port_c, user, password = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
EXCL_NOW = 0x02 | 0x10  # SMB2_LOCKFLAG_EXCLUSIVE_LOCK | FAIL_IMMEDIATELY
UNLOCK = 0x04
res = {}


def connect(port):
    c = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=int(port), preferredDialect=0x0300)
    c.login(user, password)
    tid = c.connectTree("share")
    fid = c.openFile(tid, "locked.bin", desiredAccess=s3.FILE_READ_DATA | s3.FILE_WRITE_DATA,
                     shareMode=s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE, creationDisposition=s3.FILE_OPEN_IF)
    return c, tid, fid


def lock(c, tid, fid, off, length, flags):
    """One LOCK request, built here (impacket's SMB3.lock joins the
    elements with str(), which Python 3 cannot send); returns the status."""
    smb = c.getSMBServer()
    packet = smb.SMB_PACKET()
    packet["Command"] = s3.SMB2_LOCK
    packet["TreeID"] = tid
    el = s3.SMB2_LOCK_ELEMENT()
    el["Offset"], el["Length"], el["Flags"] = off, length, flags
    req = s3.SMB2Lock()
    req["FileID"] = fid
    req["LockCount"] = 1
    req["Locks"] = el.getData()
    packet["Data"] = req
    ans = smb.recvSMB(smb.sendSMB(packet))
    return "0x%08x" % ans["Status"]


def read(c, tid, fid, off):
    try:
        c.readFile(tid, fid, off, 1)
        return "0x00000000"
    except SessionError as e:
        return "0x%08x" % e.getErrorCode()


try:
    a, ta, fa = connect(port_a)
    a.writeFile(ta, fa, b"0123456789abcdefghij", 0)
    cc, tc, fc = connect(port_c)
    res["a_lock"] = lock(a, ta, fa, 0, 10, EXCL_NOW)
    res["c_lock_inside"] = lock(cc, tc, fc, 5, 1, EXCL_NOW)
    res["c_lock_beside"] = lock(cc, tc, fc, 10, 5, EXCL_NOW)
    # C's READ is checked against C's watched copy of the cluster's locks,
    # which follows etcd within milliseconds.
    for _ in range(50):
        res["c_read_inside"] = read(cc, tc, fc, 5)
        if res["c_read_inside"] != "0x00000000":
            break
        time.sleep(0.1)
    res["a_unlock"] = lock(a, ta, fa, 0, 10, UNLOCK)
    res["c_lock_after_unlock"] = lock(cc, tc, fc, 5, 1, EXCL_NOW)
    res["ok"] = True
except Exception as e:
    res["ok"] = False
    res["error"] = repr(e)
print(json.dumps(res))
