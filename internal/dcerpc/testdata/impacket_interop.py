#!/usr/bin/python3
"""impacket client side of TestImpacketInterop (interop_test.go).

Test-only and opt-in: `go test` runs it only with SIGNET_IMPACKET_INTEROP=1
and /usr/bin/python3 with impacket installed. It drives impacket's own
DCERPC_v5 client (ncacn_ip_tcp: the same connection-oriented PDUs as on
\\PIPE\\srvsvc) against the Go server the test listens with, and prints
what impacket decoded as JSON for the Go side to compare.

usage: impacket_interop.py SRVSVC_PORT WKSSVC_PORT
"""
import json
import sys

from impacket.dcerpc.v5 import srvs, transport, wkst
from impacket.dcerpc.v5.rpcrt import DCERPCException


def connect(port, iface, frag=None):
    t = transport.DCERPCTransportFactory('ncacn_ip_tcp:127.0.0.1[%d]' % port)
    dce = t.get_dce_rpc()
    dce.connect()
    if frag:
        dce.set_max_fragment_size(frag)  # fragment our requests
    dce.bind(iface)
    return dce


def plain(v):
    if isinstance(v, str):
        return v.rstrip('\x00')
    if isinstance(v, int):
        return v
    try:
        return plain(v['Data'])  # pointer referent
    except Exception:
        return None  # NULL pointer


def struct(s):
    return {name: plain(s[name]) for name, _ in s.structure}


def call_status(fn, *args):
    try:
        return fn(*args), 0
    except srvs.DCERPCSessionError as e:
        return None, e.get_error_code()
    except wkst.DCERPCSessionError as e:
        return None, e.get_error_code()


def main():
    srv_port, wks_port = int(sys.argv[1]), int(sys.argv[2])
    out = {}

    dce = connect(srv_port, srvs.MSRPC_UUID_SRVS)
    for level in (0, 1, 2, 501, 502):
        r = srvs.hNetrShareEnum(dce, level)
        buf = r['InfoStruct']['ShareInfo']['Level%d' % level]['Buffer']
        out['enum%d' % level] = {
            'entries': [struct(e) for e in buf],
            'total': r['TotalEntries'],
            'resume': r['ResumeHandle'],
        }
    _, out['enum503_status'] = call_status(srvs.hNetrShareEnum, dce, 503)
    for level in (0, 1, 2, 501, 502, 1005):
        r = srvs.hNetrShareGetInfo(dce, 'ipc$\x00', level)
        out['getinfo%d' % level] = struct(r['InfoStruct']['ShareInfo%d' % level])
    _, out['getinfo_missing_status'] = call_status(srvs.hNetrShareGetInfo, dce, 'nosuch\x00', 1)
    for level in (100, 101):
        r = srvs.hNetrServerGetInfo(dce, level)
        out['server%d' % level] = struct(r['InfoStruct']['ServerInfo%d' % level])
    try:
        dce.call(99, b'\x00' * 8)
        dce.recv()
        out['opnum99'] = 'no fault'
    except DCERPCException as e:
        out['opnum99'] = str(e)
    # alter_context onto a second presentation context, then call on it.
    dce2 = dce.alter_ctx(srvs.MSRPC_UUID_SRVS)
    r = srvs.hNetrServerGetInfo(dce2, 100)
    out['alter_server100'] = struct(r['InfoStruct']['ServerInfo100'])
    dce.disconnect()

    # Requests fragmented into 16-octet pieces; responses fragmented by us.
    dce = connect(srv_port, srvs.MSRPC_UUID_SRVS, frag=16)
    r = srvs.hNetrShareEnum(dce, 2)
    out['fragmented_enum2_names'] = [plain(e['shi2_netname']) for e in r['InfoStruct']['ShareInfo']['Level2']['Buffer']]
    dce.disconnect()

    dce = connect(wks_port, wkst.MSRPC_UUID_WKST)
    for level in (100, 101, 102):
        r = wkst.hNetrWkstaGetInfo(dce, level)
        out['wksta%d' % level] = struct(r['WkstaInfo']['WkstaInfo%d' % level])
    dce.disconnect()

    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == '__main__':
    main()
