//! Connection-oriented DCE-RPC PDUs ([C706] §12.6, [MS-RPCE] §2.2.2): the
//! common header, the bind / alter_context presentation contexts and their
//! results, request and response headers, fault status; the well-known
//! Windows interfaces by UUID and the operations the detectors need by
//! opnum; the netlogon authentication stubs as far as the client credential.

/// Common header length.
pub const HEADER: usize = 16;

/// PDU types ([C706] §12.6.4).
pub const REQUEST: u8 = 0;
/// response
pub const RESPONSE: u8 = 2;
/// fault
pub const FAULT: u8 = 3;
/// bind
pub const BIND: u8 = 11;
/// bind_ack
pub const BIND_ACK: u8 = 12;
/// bind_nak
pub const BIND_NAK: u8 = 13;
/// alter_context
pub const ALTER_CONTEXT: u8 = 14;
/// alter_context_resp
pub const ALTER_CONTEXT_RESP: u8 = 15;

/// pfc_flags bits.
pub const PFC_FIRST_FRAG: u8 = 0x01;
const PFC_OBJECT_UUID: u8 = 0x80;
/// Most presentation contexts read from one bind.
pub const MAX_CONTEXTS: usize = 16;
/// auth_level of a sealed (encrypted) stub ([MS-RPCE] §2.2.1.1.8).
const AUTH_LEVEL_PRIVACY: u8 = 6;

/// Name of a PDU type.
pub fn ptype_name(t: u8) -> &'static str {
    match t {
        REQUEST => "request",
        1 => "ping",
        RESPONSE => "response",
        FAULT => "fault",
        BIND => "bind",
        BIND_ACK => "bind_ack",
        BIND_NAK => "bind_nak",
        ALTER_CONTEXT => "alter_context",
        ALTER_CONTEXT_RESP => "alter_context_resp",
        16 => "auth3",
        17 => "shutdown",
        18 => "co_cancel",
        19 => "orphaned",
        _ => "other",
    }
}

/// The common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// PDU type.
    pub ptype: u8,
    /// pfc_flags.
    pub flags: u8,
    /// Integer representation: little-endian (drep[0] bit 4).
    pub little_endian: bool,
    /// Whole fragment length.
    pub frag_len: u16,
    /// Authentication verifier length.
    pub auth_len: u16,
    /// Call id.
    pub call_id: u32,
}

fn u16_at(b: &[u8], at: usize, le: bool) -> Option<u16> {
    let x = [*b.get(at)?, *b.get(at + 1)?];
    Some(if le {
        u16::from_le_bytes(x)
    } else {
        u16::from_be_bytes(x)
    })
}

fn u32_at(b: &[u8], at: usize, le: bool) -> Option<u32> {
    let x: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(x)
    } else {
        u32::from_be_bytes(x)
    })
}

/// The common header, if `b` starts with a plausible one: version 5.0/5.1,
/// a known connection-oriented PDU type, ASCII/IEEE data representation,
/// a fragment at least a header long holding its verifier.
pub fn header(b: &[u8]) -> Option<Header> {
    // A fixed-size array: the indexes below are checked at compile time.
    let h: &[u8; HEADER] = b.get(..HEADER)?.try_into().ok()?;
    if h[0] != 5 || h[1] > 1 || !(h[2] <= 3 || (11..=19).contains(&h[2])) {
        return None;
    }
    // drep: integer rep in the high nibble of byte 4 (0 big, 1 little), char
    // ASCII (0) in the low nibble; float IEEE (0) in byte 5.
    if h[4] & 0xef != 0 || h[5] != 0 {
        return None;
    }
    let le = h[4] & 0x10 != 0;
    let frag_len = u16_at(h, 8, le)?;
    let auth_len = u16_at(h, 10, le)?;
    if usize::from(frag_len) < HEADER || usize::from(auth_len) + HEADER > usize::from(frag_len) {
        return None;
    }
    Some(Header {
        ptype: h[2],
        flags: h[3],
        little_endian: le,
        frag_len,
        auth_len,
        call_id: u32_at(h, 12, le)?,
    })
}

/// Whether a flow's first bytes look like connection-oriented DCE-RPC.
pub fn looks_like_dcerpc(b: &[u8]) -> bool {
    header(b).is_some()
}

/// An interface UUID as read off the wire (NDR: first three fields in the
/// PDU's integer representation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uuid(pub u32, pub u16, pub u16, pub [u8; 8]);

impl Uuid {
    fn read(b: &[u8], at: usize, le: bool) -> Option<Uuid> {
        Some(Uuid(
            u32_at(b, at, le)?,
            u16_at(b, at + 4, le)?,
            u16_at(b, at + 6, le)?,
            b.get(at + 8..at + 16)?.try_into().ok()?,
        ))
    }

    /// Lower-case text form.
    pub fn text(&self) -> String {
        let d = self.3;
        format!(
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            self.0, self.1, self.2, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
        )
    }
}

/// A presentation context offered in a bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextItem {
    /// Context id.
    pub id: u16,
    /// Abstract syntax.
    pub uuid: Uuid,
    /// Major version.
    pub version: u16,
    /// Minor version.
    pub version_minor: u16,
}

/// The body of one PDU, as far as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    /// bind / alter_context: offered contexts.
    Bind(Vec<ContextItem>),
    /// bind_ack / alter_context_resp: per-context result (0 acceptance).
    BindAck(Vec<u16>),
    /// bind_nak: reject reason.
    BindNak(u16),
    /// request: context, opnum, stub (first fragment, not sealed).
    Request {
        /// Context id.
        context_id: u16,
        /// Operation number.
        opnum: u16,
        /// Stub data, `None` when sealed.
        stub: Option<&'a [u8]>,
    },
    /// response: context.
    Response {
        /// Context id.
        context_id: u16,
    },
    /// fault: context, status.
    Fault {
        /// Context id.
        context_id: u16,
        /// NCA / Win32 status.
        status: u32,
    },
    /// Any other PDU type.
    Other,
}

fn stub_of<'a>(pdu: &'a [u8], h: &Header, start: usize) -> Option<&'a [u8]> {
    let auth = usize::from(h.auth_len);
    let end = usize::from(h.frag_len);
    let end = if auth > 0 {
        // sec_trailer (8 bytes) precedes the verifier: auth_type, auth_level, …
        let trailer = end.checked_sub(auth + 8)?;
        if *pdu.get(trailer + 1)? >= AUTH_LEVEL_PRIVACY {
            return None;
        }
        trailer
    } else {
        end
    };
    // A stub cut by the caller's limit gives what there is.
    pdu.get(start..end.min(pdu.len()).max(start))
}

/// Parse the body of the PDU `pdu` (which may be cut after its first bytes)
/// with header `h`. `None` when what the type needs is missing.
pub fn body<'a>(pdu: &'a [u8], h: &Header) -> Option<Body<'a>> {
    let le = h.little_endian;
    Some(match h.ptype {
        BIND | ALTER_CONTEXT => {
            // max_xmit(2) max_recv(2) assoc_group(4) n_context_elem(1) pad(3)
            let n = usize::from(*pdu.get(HEADER + 8)?);
            let mut at = HEADER + 12;
            let mut items = Vec::with_capacity(n.min(MAX_CONTEXTS));
            for _ in 0..n.min(MAX_CONTEXTS) {
                let id = u16_at(pdu, at, le)?;
                let n_transfer = usize::from(*pdu.get(at + 2)?);
                let uuid = Uuid::read(pdu, at + 4, le)?;
                let version = u16_at(pdu, at + 20, le)?;
                let version_minor = u16_at(pdu, at + 22, le)?;
                items.push(ContextItem {
                    id,
                    uuid,
                    version,
                    version_minor,
                });
                at += 24 + 20 * n_transfer;
            }
            Body::Bind(items)
        }
        BIND_ACK | ALTER_CONTEXT_RESP => {
            // max_xmit(2) max_recv(2) assoc_group(4) sec_addr(len 2 + port) pad to 4
            let sec_len = usize::from(u16_at(pdu, HEADER + 8, le)?);
            let mut at = HEADER + 10 + sec_len;
            at = (at + 3) & !3;
            let n = usize::from(*pdu.get(at)?);
            at += 4;
            let mut results = Vec::with_capacity(n.min(MAX_CONTEXTS));
            for k in 0..n.min(MAX_CONTEXTS) {
                results.push(u16_at(pdu, at + 24 * k, le)?);
            }
            Body::BindAck(results)
        }
        BIND_NAK => Body::BindNak(u16_at(pdu, HEADER, le)?),
        REQUEST => {
            let context_id = u16_at(pdu, HEADER + 4, le)?;
            let opnum = u16_at(pdu, HEADER + 6, le)?;
            let start = HEADER
                + 8
                + if h.flags & PFC_OBJECT_UUID != 0 {
                    16
                } else {
                    0
                };
            let stub = if h.flags & PFC_FIRST_FRAG != 0 {
                stub_of(pdu, h, start)
            } else {
                None
            };
            Body::Request {
                context_id,
                opnum,
                stub,
            }
        }
        RESPONSE => Body::Response {
            context_id: u16_at(pdu, HEADER + 4, le)?,
        },
        FAULT => Body::Fault {
            context_id: u16_at(pdu, HEADER + 4, le)?,
            status: u32_at(pdu, HEADER + 8, le)?,
        },
        _ => Body::Other,
    })
}

/// A well-known interface: UUID, name, operation names by opnum.
#[derive(Debug)]
pub struct Interface {
    /// UUID (text form).
    pub uuid: &'static str,
    /// Short name.
    pub name: &'static str,
    /// (opnum, name) of the operations named.
    pub ops: &'static [(u16, &'static str)],
}

/// Interfaces named, with the operations detectors and analysts look for
/// ([MS-DRSR], [MS-SCMR], [MS-NRPC], [MS-SAMR], [MS-LSAT]/[MS-LSAD],
/// [MS-SRVS], [MS-WKST], [MS-DCOM], [MS-WMI], [MS-TSCH], [MS-RRP], [C706]).
pub static INTERFACES: &[Interface] = &[
    Interface {
        uuid: "e3514235-4b06-11d1-ab04-00c04fc2dcd2",
        name: "drsuapi",
        ops: &[
            (0, "DRSBind"),
            (1, "DRSUnbind"),
            (2, "DRSReplicaSync"),
            (3, "DRSGetNCChanges"),
            (4, "DRSUpdateRefs"),
            (5, "DRSReplicaAdd"),
            (6, "DRSReplicaDel"),
            (12, "DRSCrackNames"),
            (16, "DRSDomainControllerInfo"),
            (17, "DRSAddEntry"),
        ],
    },
    Interface {
        uuid: "367abb81-9844-35f1-ad32-98f038001003",
        name: "svcctl",
        ops: &[
            (0, "CloseServiceHandle"),
            (1, "ControlService"),
            (2, "DeleteService"),
            (6, "QueryServiceStatus"),
            (11, "ChangeServiceConfigW"),
            (12, "CreateServiceW"),
            (14, "EnumServicesStatusW"),
            (15, "OpenSCManagerW"),
            (16, "OpenServiceW"),
            (19, "StartServiceW"),
            (24, "CreateServiceA"),
            (27, "OpenSCManagerA"),
            (31, "StartServiceA"),
        ],
    },
    Interface {
        uuid: "12345678-1234-abcd-ef00-01234567cffb",
        name: "netlogon",
        ops: &[
            (2, "NetrLogonSamLogon"),
            (4, "NetrServerReqChallenge"),
            (5, "NetrServerAuthenticate"),
            (6, "NetrServerPasswordSet"),
            (15, "NetrServerAuthenticate2"),
            (26, "NetrServerAuthenticate3"),
            (29, "NetrLogonGetDomainInfo"),
            (30, "NetrServerPasswordSet2"),
            (34, "DsrGetDcNameEx2"),
            (39, "NetrLogonSamLogonEx"),
        ],
    },
    Interface {
        uuid: "12345778-1234-abcd-ef00-0123456789ac",
        name: "samr",
        ops: &[
            (0, "SamrConnect"),
            (1, "SamrCloseHandle"),
            (5, "SamrLookupDomainInSamServer"),
            (6, "SamrEnumerateDomainsInSamServer"),
            (7, "SamrOpenDomain"),
            (8, "SamrQueryInformationDomain"),
            (11, "SamrEnumerateGroupsInDomain"),
            (13, "SamrEnumerateUsersInDomain"),
            (15, "SamrEnumerateAliasesInDomain"),
            (16, "SamrGetAliasMembership"),
            (17, "SamrLookupNamesInDomain"),
            (18, "SamrLookupIdsInDomain"),
            (19, "SamrOpenGroup"),
            (25, "SamrGetMembersInGroup"),
            (27, "SamrOpenAlias"),
            (33, "SamrGetMembersInAlias"),
            (34, "SamrOpenUser"),
            (36, "SamrQueryInformationUser"),
            (39, "SamrGetGroupsForUser"),
            (40, "SamrQueryDisplayInformation"),
            (46, "SamrQueryInformationDomain2"),
            (47, "SamrQueryInformationUser2"),
            (48, "SamrQueryDisplayInformation2"),
            (51, "SamrQueryDisplayInformation3"),
            (57, "SamrConnect2"),
            (62, "SamrConnect4"),
            (64, "SamrConnect5"),
            (65, "SamrRidToSid"),
        ],
    },
    Interface {
        uuid: "12345778-1234-abcd-ef00-0123456789ab",
        name: "lsarpc",
        ops: &[
            (0, "LsarClose"),
            (6, "LsarOpenPolicy"),
            (7, "LsarQueryInformationPolicy"),
            (11, "LsarEnumerateAccounts"),
            (13, "LsarEnumerateTrustedDomains"),
            (14, "LsarLookupNames"),
            (15, "LsarLookupSids"),
            (44, "LsarOpenPolicy2"),
            (45, "LsarGetUserName"),
            (46, "LsarQueryInformationPolicy2"),
            (50, "LsarEnumerateTrustedDomainsEx"),
            (57, "LsarLookupSids2"),
            (58, "LsarLookupNames2"),
            (68, "LsarLookupNames3"),
            (76, "LsarLookupSids3"),
            (77, "LsarLookupNames4"),
        ],
    },
    Interface {
        uuid: "4b324fc8-1670-01d3-1278-5a47bf6ee188",
        name: "srvsvc",
        ops: &[
            (8, "NetrConnectionEnum"),
            (9, "NetrFileEnum"),
            (12, "NetrSessionEnum"),
            (15, "NetrShareEnum"),
            (16, "NetrShareGetInfo"),
            (21, "NetrServerGetInfo"),
        ],
    },
    Interface {
        uuid: "6bffd098-a112-3610-9833-46c3f87e345a",
        name: "wkssvc",
        ops: &[(0, "NetrWkstaGetInfo"), (2, "NetrWkstaUserEnum")],
    },
    Interface {
        uuid: "e1af8308-5d1f-11c9-91a4-08002b14a0fa",
        name: "epmapper",
        ops: &[(2, "ept_lookup"), (3, "ept_map")],
    },
    Interface {
        uuid: "000001a0-0000-0000-c000-000000000046",
        name: "ISystemActivator",
        ops: &[(3, "RemoteGetClassObject"), (4, "RemoteCreateInstance")],
    },
    Interface {
        uuid: "4d9f4ab8-7d1c-11cf-861e-0020af6e7c57",
        name: "IRemoteActivation",
        ops: &[(0, "RemoteActivation")],
    },
    Interface {
        uuid: "99fcfec4-5260-101b-bbcb-00aa0021347a",
        name: "IOXIDResolver",
        ops: &[(3, "ServerAlive"), (5, "ServerAlive2")],
    },
    Interface {
        uuid: "f309ad18-d86a-11d0-a075-00c04fb68820",
        name: "IWbemLevel1Login",
        ops: &[(6, "NTLMLogin")],
    },
    Interface {
        uuid: "9556dc99-828c-11cf-a37e-00aa003240c7",
        name: "IWbemServices",
        ops: &[(20, "ExecQuery"), (24, "ExecMethod")],
    },
    Interface {
        uuid: "1ff70682-0a51-30e8-076d-740be8cee98b",
        name: "atsvc",
        ops: &[(0, "JobAdd"), (1, "JobDel"), (2, "JobEnum")],
    },
    Interface {
        uuid: "86d35949-83c9-4044-b424-db363231fd0c",
        name: "ITaskSchedulerService",
        ops: &[(1, "SchRpcRegisterTask"), (12, "SchRpcRun")],
    },
    Interface {
        uuid: "338cd001-2244-31f1-aaaa-900038001003",
        name: "winreg",
        ops: &[
            (2, "OpenHKLM"),
            (6, "BaseRegCreateKey"),
            (15, "BaseRegOpenKey"),
            (17, "BaseRegQueryValue"),
            (20, "BaseRegSaveKey"),
            (22, "BaseRegSetValue"),
        ],
    },
];

/// The well-known interface with this UUID.
pub fn interface(uuid: &Uuid) -> Option<&'static Interface> {
    let text = uuid.text();
    INTERFACES.iter().find(|i| i.uuid == text)
}

/// Name of operation `opnum` of an interface, if named.
pub fn operation(iface: &Interface, opnum: u16) -> Option<&'static str> {
    iface.ops.iter().find(|(n, _)| *n == opnum).map(|(_, s)| *s)
}

/// Netlogon NetrServerReqChallenge (4) and NetrServerAuthenticate (5),
/// Authenticate2 (15), Authenticate3 (26) requests: whether the client
/// challenge / credential (the 8 bytes after ComputerName, [MS-NRPC]
/// §3.5.4.4) is all zero. NDR, little-endian: PrimaryName is a unique
/// pointer to a conformant varying string, the other strings are
/// reference pointers (no referent on the wire).
pub fn netlogon_zero_credential(opnum: u16, stub: &[u8], le: bool) -> Option<bool> {
    if !matches!(opnum, 4 | 5 | 15 | 26) {
        return None;
    }
    // A conformant varying string at `at` (4-aligned): max, offset, actual, chars.
    let string = |at: usize| -> Option<usize> {
        let at = (at + 3) & !3;
        let actual = usize::try_from(u32_at(stub, at + 8, le)?).ok()?;
        at.checked_add(12)?.checked_add(actual.checked_mul(2)?)
    };
    let mut at = 0usize;
    if u32_at(stub, 0, le)? != 0 {
        at = string(4)?;
    } else {
        at += 4;
    }
    if opnum != 4 {
        at = string(at)?; // AccountName
        at = ((at + 1) & !1) + 2; // SecureChannelType (enum, 2 bytes)
    }
    at = string(at)?; // ComputerName
    let cred = stub.get(at..at + 8)?;
    Some(cred.iter().all(|b| *b == 0))
}

/// lsarpc LsarLookupSids (15), LsarLookupSids2 (57), LsarLookupSids3 (76)
/// requests: the number of SIDs asked for, the Entries of the
/// LSAPR_SID_ENUM_BUFFER that follows the 20-byte policy handle (none in
/// LookupSids3, [MS-LSAT] §3.1.4.9–11).
pub fn lsa_sid_count(opnum: u16, stub: &[u8], le: bool) -> Option<u32> {
    match opnum {
        15 | 57 => u32_at(stub, 20, le),
        76 => u32_at(stub, 0, le),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A little-endian PDU of type `ptype` with `body` after the header.
    pub(crate) fn pdu(ptype: u8, call_id: u32, body: &[u8]) -> Vec<u8> {
        let mut v = vec![5, 0, ptype, 0x03, 0x10, 0, 0, 0];
        v.extend(((HEADER + body.len()) as u16).to_le_bytes());
        v.extend(0u16.to_le_bytes());
        v.extend(call_id.to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    fn uuid_bytes(text: &str) -> Vec<u8> {
        let hex: String = text.chars().filter(|c| *c != '-').collect();
        let b: Vec<u8> = (0..16)
            .map(|k| u8::from_str_radix(&hex[2 * k..2 * k + 2], 16).unwrap())
            .collect();
        let mut v = vec![b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]];
        v.extend(&b[8..]);
        v
    }

    /// A bind offering `uuid` v`version` as context `id`.
    pub(crate) fn bind(call_id: u32, id: u16, uuid: &str, version: u16) -> Vec<u8> {
        let mut b = vec![0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0];
        b.extend(id.to_le_bytes());
        b.extend([1, 0]);
        b.extend(uuid_bytes(uuid));
        b.extend(version.to_le_bytes());
        b.extend(0u16.to_le_bytes());
        b.extend(uuid_bytes("8a885d04-1ceb-11c9-9fe8-08002b104860"));
        b.extend(2u32.to_le_bytes());
        pdu(BIND, call_id, &b)
    }

    /// A request on context `id` for `opnum` with `stub`.
    pub(crate) fn request(call_id: u32, id: u16, opnum: u16, stub: &[u8]) -> Vec<u8> {
        let mut b = (stub.len() as u32).to_le_bytes().to_vec();
        b.extend(id.to_le_bytes());
        b.extend(opnum.to_le_bytes());
        b.extend_from_slice(stub);
        pdu(REQUEST, call_id, &b)
    }

    fn ndr_string(v: &mut Vec<u8>, s: &str) {
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
        let units: Vec<u16> = s.encode_utf16().chain([0]).collect();
        for x in [units.len() as u32, 0, units.len() as u32] {
            v.extend(x.to_le_bytes());
        }
        for u in units {
            v.extend(u.to_le_bytes());
        }
    }

    /// NetrServerAuthenticate3's stub with credential `cred`.
    pub(crate) fn authenticate3(cred: [u8; 8]) -> Vec<u8> {
        let mut s = 0x0002_0000u32.to_le_bytes().to_vec();
        ndr_string(&mut s, "\\\\DC1");
        ndr_string(&mut s, "DC1$");
        while !s.len().is_multiple_of(2) {
            s.push(0);
        }
        s.extend(6u16.to_le_bytes());
        ndr_string(&mut s, "DC1");
        s.extend(cred);
        while !s.len().is_multiple_of(4) {
            s.push(0);
        }
        s.extend(0x212f_ffffu32.to_le_bytes());
        s
    }

    #[test]
    fn bind_request_and_names() {
        let b = bind(1, 0, "e3514235-4b06-11d1-ab04-00c04fc2dcd2", 4);
        let h = header(&b).unwrap();
        assert_eq!(
            (h.ptype, h.call_id, usize::from(h.frag_len)),
            (BIND, 1, b.len())
        );
        let Some(Body::Bind(items)) = body(&b, &h) else {
            panic!()
        };
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].uuid.text(), "e3514235-4b06-11d1-ab04-00c04fc2dcd2");
        let iface = interface(&items[0].uuid).unwrap();
        assert_eq!(iface.name, "drsuapi");
        assert_eq!(operation(iface, 3), Some("DRSGetNCChanges"));
        assert_eq!(operation(iface, 99), None);
        let r = request(2, 0, 3, b"stub");
        let h = header(&r).unwrap();
        assert_eq!(
            body(&r, &h),
            Some(Body::Request {
                context_id: 0,
                opnum: 3,
                stub: Some(b"stub".as_slice())
            })
        );
        for cut in 0..b.len() {
            if let Some(h) = header(&b[..cut]) {
                let _ = body(&b[..cut], &h);
            }
        }
        assert!(!looks_like_dcerpc(
            b"\x05\x00\x0b\x03\x10\x00\x00\x00\x08\x00"
        ));
        assert!(!looks_like_dcerpc(b"GET / HTTP/1.1\r\n\r\n"));
    }

    #[test]
    fn zerologon_credential() {
        assert_eq!(
            netlogon_zero_credential(26, &authenticate3([0; 8]), true),
            Some(true)
        );
        assert_eq!(
            netlogon_zero_credential(26, &authenticate3([1, 2, 3, 4, 5, 6, 7, 8]), true),
            Some(false)
        );
        assert_eq!(
            netlogon_zero_credential(2, &authenticate3([0; 8]), true),
            None
        );
        let s = authenticate3([0; 8]);
        for cut in 0..s.len() {
            let _ = netlogon_zero_credential(26, &s[..cut], true);
        }
    }
}
