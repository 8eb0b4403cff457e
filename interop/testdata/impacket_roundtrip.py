"""Signet interop: impacket logs in with one dialect, checks signing,
lists shares and moves a file both ways. Prints one JSON line."""
import hashlib, io, json, sys
from impacket.smbconnection import SMBConnection, SessionError

port, dialect, user, password, local = sys.argv[1], int(sys.argv[2], 16), sys.argv[3], sys.argv[4], sys.argv[5]
res = {"dialect": hex(dialect)}
try:
    c = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=int(port), preferredDialect=dialect)
    c.login(user, password)
    res["dialect_negotiated"] = hex(c.getDialect())
    res["signing_required"] = bool(c.isSigningRequired())
    res["shares"] = sorted(s["shi1_netname"][:-1] for s in c.listShares())
    with open(local, "rb") as f:
        data = f.read()
    c.createDirectory("share", "impdir")
    c.putFile("share", "impdir\\file.bin", io.BytesIO(data).read)
    buf = io.BytesIO()
    c.getFile("share", "impdir\\file.bin", buf.write)
    res["same"] = hashlib.sha256(buf.getvalue()).hexdigest() == hashlib.sha256(data).hexdigest()
    res["listing"] = sorted(f.get_longname() for f in c.listPath("share", "impdir\\*"))
    c.rename("share", "impdir\\file.bin", "impdir\\moved.bin")
    c.deleteFile("share", "impdir\\moved.bin")
    c.deleteDirectory("share", "impdir")
    c.logoff()
    res["ok"] = True
except SessionError as e:
    res["ok"] = False
    res["error"] = str(e)
print(json.dumps(res))
