#!/usr/bin/python3
"""Regenerates the impacket reference PDUs/stubs in this directory.

Test-only helper, NOT used by `go test`: the Go tests read the committed
*.hex files. Run by hand with the system interpreter that has impacket:

    /usr/bin/python3 internal/dcerpc/testdata/gen_impacket.py

Every structure is built with impacket's own classes the way its h*()
helpers (srvs.hNetrShareEnum & co.) and DCERPC_v5.bind() build them, so the
bytes are what impacket sends on the wire. impacket picks random referent
ids, so regenerating changes those bytes; the Go tests do not depend on the
particular referent id values.
"""
import os
import sys

from impacket.dcerpc.v5 import srvs, wkst
from impacket.dcerpc.v5.dtypes import NULL
from impacket.dcerpc.v5.rpcrt import (CtxItem, MSRPCBind, MSRPCHeader,
                                      MSRPC_BIND, DCERPC_RawCall)
from impacket.uuid import uuidtup_to_bin

HERE = os.path.dirname(os.path.abspath(__file__))
NDR20 = ('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0')
NDR64 = ('71710533-BEBA-4937-8319-B5DBEF9CCC36', '1.0')
BTFN = ('6cb71c2c-9812-4540-0300-000000000000', '1.0')


def write(name, data):
    with open(os.path.join(HERE, name), 'w') as f:
        f.write(data.hex() + '\n')
    print('%-40s %4d bytes' % (name, len(data)), file=sys.stderr)


def bind_pdu(iface, contexts, call_id=1):
    """contexts: list of (ctx_id, transfer_syntax_tuple)."""
    bind = MSRPCBind()
    for ctx_id, ts in contexts:
        item = CtxItem()
        item['AbstractSyntax'] = iface
        item['TransferSyntax'] = uuidtup_to_bin(ts)
        item['ContextID'] = ctx_id
        item['TransItems'] = 1
        bind.addCtxItem(item)
    pkt = MSRPCHeader()
    pkt['type'] = MSRPC_BIND
    pkt['pduData'] = bind.getData()
    pkt['call_id'] = call_id
    return pkt.get_packet()


def request_pdu(req, call_id):
    # What DCERPC_v5.send() does for an unfragmented, unauthenticated call.
    data = DCERPC_RawCall(req.opnum, req.getData())
    data['ctx_id'] = 0
    data['call_id'] = call_id
    data['alloc_hint'] = len(data['pduData'])
    return data.get_packet()


def share_enum(level, resume=0, pref=0xffffffff):
    # Same field assignments as srvs.hNetrShareEnum.
    r = srvs.NetrShareEnum()
    r['ServerName'] = '\x00'
    r['PreferedMaximumLength'] = pref
    r['ResumeHandle'] = resume
    r['InfoStruct']['Level'] = level
    r['InfoStruct']['ShareInfo']['tag'] = level
    r['InfoStruct']['ShareInfo']['Level%d' % level]['Buffer'] = NULL
    return r


def share_get_info(name, level):
    r = srvs.NetrShareGetInfo()  # as srvs.hNetrShareGetInfo
    r['ServerName'] = NULL
    r['NetName'] = name
    r['Level'] = level
    return r


def server_get_info(level):
    r = srvs.NetrServerGetInfo()  # as srvs.hNetrServerGetInfo
    r['ServerName'] = NULL
    r['Level'] = level
    return r


def wksta_get_info(level):
    r = wkst.NetrWkstaGetInfo()  # as wkst.hNetrWkstaGetInfo
    r['ServerName'] = '\x00' * 10
    r['Level'] = level
    return r


def main():
    write('bind_srvsvc_impacket.hex', bind_pdu(srvs.MSRPC_UUID_SRVS, [(0, NDR20)]))
    # Windows-style bind: NDR20, NDR64 and bind time feature negotiation.
    write('bind_srvsvc_ndr20_ndr64_btfn.hex',
          bind_pdu(srvs.MSRPC_UUID_SRVS, [(0, NDR20), (1, NDR64), (2, BTFN)], call_id=2))
    write('bind_wkssvc_impacket.hex', bind_pdu(wkst.MSRPC_UUID_WKST, [(0, NDR20)]))

    write('req_netrshareenum_l1_call2.hex', request_pdu(share_enum(1), 2))
    for level in (0, 1, 2, 501, 502):
        write('stub_netrshareenum_l%d.hex' % level, share_enum(level).getData())
    write('stub_netrshareenum_l1_resume2_pref200.hex', share_enum(1, resume=2, pref=200).getData())
    write('stub_netrsharegetinfo_ipc_l2.hex', share_get_info('IPC$\x00', 2).getData())
    write('stub_netrsharegetinfo_data_l1005.hex', share_get_info('data\x00', 1005).getData())
    write('stub_netrservergetinfo_l101.hex', server_get_info(101).getData())
    write('stub_netrwkstagetinfo_l100.hex', wksta_get_info(100).getData())


if __name__ == '__main__':
    main()
