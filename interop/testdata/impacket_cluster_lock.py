"""Signet interop (issue 15): impacket opens a file with deny-write through
cluster node A and tries a write open of it through node B; then takes an
exclusive byte-range lock through A and tries the same range through C.
Arguments: port of node A, port of node C, user, password, port of node B.
Prints one JSON line with the NT status of each step."""
import json, sys, time
from impacket import smb3structs as s3
from impacket.smbconnection import SMBConnection, SessionError

port_a, port_c, user, password, port_b = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
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


def try_open(c, tid, access, share):
    """Opens denywrite.txt; returns the status and the handle (or None)."""
    try:
        fid = c.openFile(tid, "denywrite.txt", desiredAccess=access, shareMode=share,
                         creationDisposition=s3.FILE_OPEN_IF)
        return "0x00000000", fid
    except SessionError as e:
        return "0x%08x" % e.getErrorCode(), None


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
    b, tb, _ = connect(port_b)
    rw = s3.FILE_SHARE_READ | s3.FILE_SHARE_WRITE
    res["a_open_deny_write"], fdw = try_open(a, ta, s3.FILE_READ_DATA, s3.FILE_SHARE_READ)
    res["b_open_write"], _ = try_open(b, tb, s3.FILE_WRITE_DATA, rw)
    res["b_open_read"], fbr = try_open(b, tb, s3.FILE_READ_DATA, rw)
    if fbr is not None:
        b.closeFile(tb, fbr)
    if fdw is not None:
        a.closeFile(ta, fdw)
    res["b_open_write_after_close"], fbw = try_open(b, tb, s3.FILE_WRITE_DATA, rw)
    if fbw is not None:
        b.closeFile(tb, fbw)
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
