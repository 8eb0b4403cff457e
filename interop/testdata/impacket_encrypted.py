"""Signet interop: impacket (AES-128-CCM) moves a file both ways on a share
that requires encryption. Prints one JSON line."""
import hashlib, io, json, sys
from impacket.smbconnection import SMBConnection, SessionError

port, dialect, share, local = sys.argv[1], int(sys.argv[2], 16), sys.argv[3], sys.argv[4]
res = {"dialect": hex(dialect)}
try:
    c = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=int(port), preferredDialect=dialect)
    c.login(sys.argv[5], sys.argv[6])
    res["dialect_negotiated"] = hex(c.getDialect())
    with open(local, "rb") as f:
        data = f.read()
    c.putFile(share, "imp_enc.bin", io.BytesIO(data).read)
    buf = io.BytesIO()
    c.getFile(share, "imp_enc.bin", buf.write)
    res["same"] = hashlib.sha256(buf.getvalue()).hexdigest() == hashlib.sha256(data).hexdigest()
    c.deleteFile(share, "imp_enc.bin")
    c.logoff()
    res["ok"] = True
except SessionError as e:
    res["ok"] = False
    res["error"] = str(e)
print(json.dumps(res))
