"""Signet interop: impacket logs in with one dialect, connects to the share,
prints "ready" and holds the session until its standard input closes."""
import sys
from impacket.smbconnection import SMBConnection

port, dialect, user, password = sys.argv[1], int(sys.argv[2], 16), sys.argv[3], sys.argv[4]
c = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=int(port), preferredDialect=dialect)
c.login(user, password)
c.listPath("share", "*")
print("ready", hex(c.getDialect()), flush=True)
sys.stdin.read()
c.logoff()
