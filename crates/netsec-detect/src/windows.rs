//! Windows domain attacks, from DCE-RPC and Kerberos events (netsec-proto's
//! parsers: DCE-RPC over TCP and SMB named pipes, Kerberos over UDP/TCP 88).
//!
//! | kind | what | ATT&CK |
//! |---|---|---|
//! | `dcsync` | drsuapi DRSGetNCChanges requested by a host that is not a domain controller | T1003.006 |
//! | `dcshadow` | drsuapi DRSAddEntry / DRSReplicaAdd requested by a host that is not a domain controller | T1207 |
//! | `remote_service_execution` | svcctl CreateServiceW/A, ChangeServiceConfigW, StartServiceW/A to another host | T1569.002, T1021.002, T1543.003 |
//! | `wmi_dcom_execution` | DCOM activation (ISystemActivator, IRemoteActivation) or WMI (IWbemLevel1Login, IWbemServices) bound or called on another host | T1021.003, T1047 |
//! | `domain_enumeration` | samr / lsarpc / srvsvc / wkssvc enumeration and lookup calls (or SIDs looked up) from one host to another | T1087.002, T1069.002, T1135, T1033, T1049, T1482 |
//! | `kerberos_password_spraying` | KDC_ERR_PREAUTH_FAILED answered to one client for many principals | T1110.003 |
//! | `asrep_roasting` | AS-REQs without pre-authentication asking only RC4/DES for many principals, or one answered with an AS-REP | T1558.004 |
//! | `kerberoasting` | TGS-REQs asking only RC4/DES for many service principals (or RC4 service tickets issued to one client) | T1558.003 |
//! | `zerologon` | netlogon NetrServerReqChallenge / NetrServerAuthenticate* with an all-zero client credential | T1210 |
//! | `kerberos_rc4_downgrade` | AS/TGS requests offering no AES encryption type, or replies in RC4 to a client that offered AES | T1558, T1562.001 |
//!
//! Domain controllers are the hosts listed in `domain_controllers` and the
//! hosts seen answering Kerberos (any reply or KRB-ERROR) or drsuapi calls;
//! `dcsync` and `dcshadow` name only sources that are neither.
//!
//! Confidence (`sat(x) = 1 − e^(−x)`): dcsync `0.7 + 0.3 × sat(requests /
//! min_getncchanges)`; dcshadow 0.8; service execution 0.9 with a
//! CreateServiceW/A, else 0.6; DCOM/WMI 0.8 when a WMI interface is used,
//! 0.5 for activation alone; enumeration `sat(max(calls / min_calls, SIDs /
//! min_sid_lookups)) × (0.5 + 0.5 × min(distinct operations, 4) / 4)`; spraying `sat(principals / min)`;
//! AS-REP roasting 0.9 once an AS-REP answered a request without
//! pre-authentication, else `0.7 × sat(principals / min)`; Kerberoasting
//! `sat(services / min) × (0.7, or 1.0 once an RC4 ticket was issued)`;
//! Zerologon `0.5 + 0.5 × sat(attempts / 10)`; RC4 downgrade 0.5, 0.7 once
//! a reply used RC4.
//!
//! Blind spots: SMB3-encrypted sessions hide the named-pipe calls (impacket
//! encrypts every SMB3 session a server allows); sealed (packet-privacy) RPC
//! hides the stubs — netlogon credentials, SID counts — but not the
//! interface or operation; SMB1 named pipes are not read; Kerberos armoring (FAST) hides the requested
//! principal; a DC replicating before it answers any Kerberos in the capture
//! is taken for a non-DC until listed in `domain_controllers`.

use std::net::IpAddr;

use netsec_model::{
    Analyzer, AppEvent, Comparison, DceRpcEvent, Direction, Duration, EntityRole, EntityValue,
    EventContext, Finding, FindingCategory, FindingSink, FlowRef, Interests, KerberosEvent,
    Severity, TimeRange, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::evidence::{saturate, FlowSample, Growth};
use crate::scope::NetworkConfig;
use std::hash::BuildHasher;

use crate::table::{BoundedTable, CappedSet, FixedState};

const PRODUCER: &str = "netsec-detect/windows";
/// Distinct items (principals, operations) counted exactly per activity.
const MAX_ITEMS: usize = 256;
/// Items named in a finding's evidence at most.
const SHOWN_ITEMS: usize = 20;
/// Heap of one activity (an estimate: a few items and flows).
const ACTIVITY_HEAP: usize = 2048;
/// Kerberos encryption types that are AES (RFC 3962, RFC 8009).
const AES: [i32; 4] = [17, 18, 19, 20];
/// RC4-HMAC (RFC 4757).
const RC4: i32 = 23;

/// Windows domain attack settings (`[windows]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowsConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Most activities (and learned domain controllers) tracked at once.
    pub capacity: usize,
    /// An activity idle this long is over.
    pub window_secs: f64,
    /// Known domain controllers (more are learned from Kerberos and drsuapi answers).
    pub domain_controllers: Vec<IpAddr>,
    /// DRSGetNCChanges requests from a non-DC.
    pub min_getncchanges: u64,
    /// Service creation / start calls on another host.
    pub min_service_calls: u64,
    /// DCOM activation or WMI binds/calls on another host.
    pub min_dcom_calls: u64,
    /// Enumeration and lookup calls from one host to another.
    pub min_enumeration_calls: u64,
    /// SIDs asked to be resolved (LsarLookupSids*) by one host of another: RID cycling.
    pub min_sid_lookups: u64,
    /// Distinct principals answered PREAUTH_FAILED to one client.
    pub min_spray_principals: u64,
    /// Distinct principals asked for without pre-authentication, RC4/DES only.
    pub min_asrep_principals: u64,
    /// Distinct service principals asked for with RC4/DES only.
    pub min_roast_services: u64,
    /// Netlogon authentications with an all-zero credential.
    pub min_zerologon_attempts: u64,
    /// Kerberos requests offering no AES encryption type.
    pub min_rc4_requests: u64,
}

impl Default for WindowsConfig {
    fn default() -> Self {
        WindowsConfig {
            enabled: true,
            capacity: 50_000,
            window_secs: 3600.0,
            domain_controllers: Vec::new(),
            min_getncchanges: 1,
            min_service_calls: 1,
            min_dcom_calls: 1,
            min_enumeration_calls: 8,
            min_sid_lookups: 100,
            min_spray_principals: 5,
            min_asrep_principals: 5,
            min_roast_services: 3,
            min_zerologon_attempts: 1,
            min_rc4_requests: 1,
        }
    }
}

/// The activities this detector reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    DcSync,
    DcShadow,
    Service,
    Dcom,
    Enumeration,
    Spray,
    AsRep,
    Kerberoast,
    Zerologon,
    Rc4,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::DcSync => "dcsync",
            Kind::DcShadow => "dcshadow",
            Kind::Service => "remote_service_execution",
            Kind::Dcom => "wmi_dcom_execution",
            Kind::Enumeration => "domain_enumeration",
            Kind::Spray => "kerberos_password_spraying",
            Kind::AsRep => "asrep_roasting",
            Kind::Kerberoast => "kerberoasting",
            Kind::Zerologon => "zerologon",
            Kind::Rc4 => "kerberos_rc4_downgrade",
        }
    }

    /// What the count is of (the measurement's name and unit).
    fn measure(self) -> (&'static str, &'static str) {
        match self {
            Kind::DcSync => ("getncchanges_requests", "requests"),
            Kind::DcShadow => ("replication_change_requests", "requests"),
            Kind::Service => ("service_calls", "calls"),
            Kind::Dcom => ("dcom_wmi_calls", "calls"),
            Kind::Enumeration => ("enumeration_calls", "calls"),
            Kind::Spray => ("principals_failed", "principals"),
            Kind::AsRep => ("principals_without_preauth", "principals"),
            Kind::Kerberoast => ("service_principals_rc4", "principals"),
            Kind::Zerologon => ("zero_credential_attempts", "attempts"),
            Kind::Rc4 => ("requests_without_aes", "requests"),
        }
    }

    /// Whether the count is of distinct items (principals) or of calls.
    fn counts_items(self) -> bool {
        matches!(self, Kind::Spray | Kind::AsRep | Kind::Kerberoast)
    }

    fn category(self) -> FindingCategory {
        match self {
            Kind::Service | Kind::Dcom => FindingCategory::LateralMovement,
            Kind::Enumeration => FindingCategory::Reconnaissance,
            Kind::Rc4 => FindingCategory::Misconfiguration,
            _ => FindingCategory::CredentialAccess,
        }
    }

    fn severity(self) -> Severity {
        match self {
            Kind::DcSync | Kind::DcShadow | Kind::Zerologon => Severity::Critical,
            Kind::Service | Kind::Spray | Kind::AsRep | Kind::Kerberoast => Severity::High,
            Kind::Dcom | Kind::Enumeration | Kind::Rc4 => Severity::Medium,
        }
    }
}

/// One activity: a kind, from a source to a target (a DC, a member host).
#[derive(Debug, Clone)]
struct Activity {
    time: TimeRange,
    /// Calls or requests counted.
    calls: u64,
    /// SIDs asked to be resolved (enumeration).
    sids: u64,
    /// Distinct principals or operation names, by hash.
    items: CappedSet<u64>,
    /// The first [`SHOWN_ITEMS`] of them, for the evidence.
    names: Vec<String>,
    /// The strongest sign seen (an AS-REP delivered, an RC4 ticket issued,
    /// a service created, a WMI interface used).
    strong: u64,
    /// Connections seen (client and server endpoints), to sample each once.
    conns: CappedSet<(IpAddr, u16, IpAddr, u16)>,
    flows: FlowSample,
    growth: Growth,
}

type Key = (Kind, IpAddr, IpAddr);

/// Detects Windows domain attacks from DCE-RPC and Kerberos events.
#[derive(Debug)]
pub struct WindowsDetector {
    config: WindowsConfig,
    network: NetworkConfig,
    activities: BoundedTable<Key, Activity>,
    /// Hosts seen acting as domain controllers.
    dcs: BoundedTable<IpAddr, ()>,
    /// Per (client, principal hash): whether its latest AS-REQ lacked
    /// pre-authentication (an AS-REP to it is then a roastable answer).
    no_preauth: BoundedTable<(IpAddr, u64), bool>,
    /// The principal of each client endpoint's latest AS-REQ, for errors
    /// that do not repeat it (a KRB-ERROR's cname is optional).
    last_asreq: BoundedTable<(IpAddr, u16), String>,
    /// Whether each client endpoint's latest AS/TGS request offered AES.
    offered_aes: BoundedTable<(IpAddr, u16), bool>,
    hasher: FixedState,
}

/// The flow reference of an event (its client and server from its direction).
fn flow_of(ctx: &EventContext) -> FlowRef {
    let (client, server) = match ctx.direction {
        Direction::ToServer => (ctx.src, ctx.dst),
        Direction::ToClient => (ctx.dst, ctx.src),
    };
    FlowRef {
        community_id: ctx.community_id.clone(),
        flow_id: ctx.flow_id,
        client,
        server,
        transport: ctx.transport,
        time: TimeRange::at(ctx.ts),
    }
}

/// Enumeration and lookup operations: interface, opnum, the name
/// netsec-proto gives it, ATT&CK technique.
const ENUMERATION: &[(&str, u16, &str, &str)] = &[
    ("samr", 6, "SamrEnumerateDomainsInSamServer", "T1087.002"),
    ("samr", 11, "SamrEnumerateGroupsInDomain", "T1069.002"),
    ("samr", 13, "SamrEnumerateUsersInDomain", "T1087.002"),
    ("samr", 15, "SamrEnumerateAliasesInDomain", "T1069.002"),
    ("samr", 16, "SamrGetAliasMembership", "T1069.002"),
    ("samr", 25, "SamrGetMembersInGroup", "T1069.002"),
    ("samr", 33, "SamrGetMembersInAlias", "T1069.002"),
    ("samr", 36, "SamrQueryInformationUser", "T1087.002"),
    ("samr", 39, "SamrGetGroupsForUser", "T1069.002"),
    ("samr", 40, "SamrQueryDisplayInformation", "T1087.002"),
    ("samr", 47, "SamrQueryInformationUser2", "T1087.002"),
    ("samr", 48, "SamrQueryDisplayInformation2", "T1087.002"),
    ("samr", 51, "SamrQueryDisplayInformation3", "T1087.002"),
    ("lsarpc", 11, "LsarEnumerateAccounts", "T1087.002"),
    ("lsarpc", 13, "LsarEnumerateTrustedDomains", "T1482"),
    ("lsarpc", 15, "LsarLookupSids", "T1087.002"),
    ("lsarpc", 50, "LsarEnumerateTrustedDomainsEx", "T1482"),
    ("lsarpc", 57, "LsarLookupSids2", "T1087.002"),
    ("lsarpc", 76, "LsarLookupSids3", "T1087.002"),
    ("srvsvc", 8, "NetrConnectionEnum", "T1049"),
    ("srvsvc", 9, "NetrFileEnum", "T1135"),
    ("srvsvc", 12, "NetrSessionEnum", "T1033"),
    ("srvsvc", 15, "NetrShareEnum", "T1135"),
    ("wkssvc", 2, "NetrWkstaUserEnum", "T1033"),
];

/// DCOM and WMI interfaces.
const DCOM: [&str; 4] = [
    "ISystemActivator",
    "IRemoteActivation",
    "IWbemLevel1Login",
    "IWbemServices",
];

impl WindowsDetector {
    /// A detector with these settings.
    pub fn new(config: WindowsConfig, network: NetworkConfig) -> Self {
        let window = Duration::from_secs_f64(config.window_secs);
        WindowsDetector {
            activities: BoundedTable::new(config.capacity, window).with_heap(ACTIVITY_HEAP),
            dcs: BoundedTable::new(config.capacity, window),
            no_preauth: BoundedTable::new(config.capacity, window),
            last_asreq: BoundedTable::new(config.capacity, window).with_heap(32),
            offered_aes: BoundedTable::new(config.capacity, window),
            hasher: FixedState::default(),
            config,
            network,
        }
    }

    fn is_dc(&self, ip: IpAddr) -> bool {
        self.config.domain_controllers.contains(&ip) || self.dcs.get(&ip).is_some()
    }

    fn threshold(&self, kind: Kind) -> u64 {
        let c = &self.config;
        match kind {
            Kind::DcSync => c.min_getncchanges,
            Kind::DcShadow => c.min_getncchanges,
            Kind::Service => c.min_service_calls,
            Kind::Dcom => c.min_dcom_calls,
            Kind::Enumeration => c.min_enumeration_calls,
            Kind::Spray => c.min_spray_principals,
            Kind::AsRep => c.min_asrep_principals,
            Kind::Kerberoast => c.min_roast_services,
            Kind::Zerologon => c.min_zerologon_attempts,
            Kind::Rc4 => c.min_rc4_requests,
        }
        .max(1)
    }

    /// Count one observation of `kind` from `src` to `dst` (`sids` SIDs
    /// looked up by the call, for enumeration); report when due.
    #[allow(clippy::too_many_arguments)]
    fn observe(
        &mut self,
        kind: Kind,
        src: IpAddr,
        dst: IpAddr,
        ctx: &EventContext,
        item: Option<&str>,
        strong: bool,
        sids: u64,
        out: &mut dyn FindingSink,
    ) {
        if self.network.is_allowed(src, Some(dst)) {
            return;
        }
        let threshold = self.threshold(kind);
        let min_sids = self.config.min_sid_lookups.max(1);
        let hash = item.map(|i| self.hasher.hash_one(i));
        let a = self
            .activities
            .touch((kind, src, dst), ctx.ts, || Activity {
                time: TimeRange::at(ctx.ts),
                calls: 0,
                sids: 0,
                items: CappedSet::default(),
                names: Vec::new(),
                strong: 0,
                conns: CappedSet::default(),
                flows: FlowSample::default(),
                growth: Growth::default(),
            });
        a.time.extend(ctx.ts);
        a.calls += 1;
        a.sids += sids;
        if strong {
            a.strong += 1;
        }
        let flow = flow_of(ctx);
        let conn = (
            flow.client.ip,
            flow.client.port,
            flow.server.ip,
            flow.server.port,
        );
        if a.conns.insert(conn, MAX_ITEMS) {
            a.flows.add(flow);
        }
        if let (Some(i), Some(h)) = (item, hash) {
            if a.items.insert(h, MAX_ITEMS) && a.names.len() < SHOWN_ITEMS {
                a.names.push(i.to_string());
            }
        }
        let value = a.value(kind);
        // A strong sign (an AS-REP delivered, an RC4 ticket) is reported at once.
        let crossed = value >= threshold
            || (strong && kind == Kind::AsRep)
            || (kind == Kind::Enumeration && a.sids >= min_sids);
        if crossed && a.growth.due(value.max(1) + a.strong + a.sids) {
            let snapshot = a.clone();
            out.finding(self.finding(kind, src, dst, &snapshot));
        }
    }

    fn finding(&self, kind: Kind, src: IpAddr, dst: IpAddr, a: &Activity) -> Finding {
        let value = a.value(kind);
        let min = self.threshold(kind);
        let ratio = value as f64 / min as f64;
        let items = &a.names;
        let distinct = a.items.count();
        let confidence = match kind {
            Kind::DcSync => 0.7 + 0.3 * saturate(ratio, 1.0),
            Kind::DcShadow => 0.8,
            Kind::Service => {
                if items.iter().any(|i| i.starts_with("CreateService")) {
                    0.9
                } else {
                    0.6
                }
            }
            Kind::Dcom => {
                if items.iter().any(|i| i.starts_with("IWbem")) {
                    0.8
                } else {
                    0.5
                }
            }
            Kind::Enumeration => {
                let sids = a.sids as f64 / self.config.min_sid_lookups.max(1) as f64;
                saturate(ratio.max(sids), 1.0) * (0.5 + 0.5 * (distinct.min(4) as f64) / 4.0)
            }
            Kind::Spray => saturate(ratio, 1.0),
            Kind::AsRep => {
                if a.strong > 0 {
                    0.9
                } else {
                    0.7 * saturate(ratio, 1.0)
                }
            }
            Kind::Kerberoast => saturate(ratio, 1.0) * if a.strong > 0 { 1.0 } else { 0.7 },
            Kind::Zerologon => 0.5 + 0.5 * saturate(value as f64 / 10.0, 1.0),
            Kind::Rc4 => {
                if a.strong > 0 {
                    0.7
                } else {
                    0.5
                }
            }
        };
        let (measure, unit) = kind.measure();
        let shown: Vec<&str> = items.iter().map(String::as_str).collect();
        let title = match kind {
            Kind::DcSync => format!("DCSync: {src} (not a domain controller) asked {dst} to replicate directory changes"),
            Kind::DcShadow => format!("DCShadow: {src} (not a domain controller) pushed replication changes to {dst}"),
            Kind::Service => format!("Remote service execution: {src} created or started a service on {dst}"),
            Kind::Dcom => format!("DCOM/WMI execution attempt from {src} on {dst}"),
            Kind::Enumeration => format!("Domain enumeration: {src} listed users, groups, shares or sessions of {dst}"),
            Kind::Spray => format!("Kerberos password spraying from {src}: {value} accounts failed pre-authentication"),
            Kind::AsRep => format!("AS-REP roasting from {src}: {value} accounts asked for without pre-authentication"),
            Kind::Kerberoast => format!("Kerberoasting from {src}: RC4 service tickets asked for {value} service principals"),
            Kind::Zerologon => format!("Zerologon: {src} authenticated to netlogon on {dst} with an all-zero credential"),
            Kind::Rc4 => format!("Kerberos downgraded to RC4: {src} offered no AES encryption type"),
        };
        let mut finding = Finding::new(
            kind.name(),
            title,
            kind.category(),
            self.network.severity_for(Some(dst), kind.severity()),
            confidence,
            a.time,
            PRODUCER,
        )
        .with_id(format!("{src}->{dst}"))
        .with_mitre(mitre(kind, items))
        .with_entity(EntityRole::Source, EntityValue::Host { ip: src })
        .with_entity(EntityRole::Target, EntityValue::Host { ip: dst });
        // The measures beside their thresholds; one below its threshold (the
        // finding crossed another) is given as a plain value.
        let min_sids = self.config.min_sid_lookups.max(1);
        finding = measured(finding, measure, value, unit, min);
        if kind == Kind::Enumeration {
            finding = measured(finding, "sids_looked_up", a.sids, "SIDs", min_sids);
        }
        finding = finding
            .with_value("calls", a.calls as f64, "calls")
            .with_summary(format!(
                "{src} → {dst}: {} {measure} (threshold {min}){} in {:.0} s; {}",
                value,
                if kind == Kind::Enumeration {
                    format!(", {} SIDs looked up (threshold {min_sids})", a.sids)
                } else {
                    String::new()
                },
                a.time.duration().as_secs_f64(),
                shown.join(", ")
            ));
        if !shown.is_empty() {
            let key = if kind.counts_items() {
                "principals"
            } else {
                "operations"
            };
            finding = finding.with_fact(key, shown.join(","));
        }
        if a.strong > 0 {
            let what = match kind {
                Kind::AsRep => "as_rep_delivered",
                Kind::Kerberoast => "rc4_service_tickets",
                Kind::Rc4 => "rc4_replies",
                _ => "strong_signs",
            };
            finding = finding.with_value(what, a.strong as f64, "messages");
        }
        if kind.counts_items() || kind == Kind::Rc4 {
            // The accounts asked for (the first ten), as entities.
            for name in items.iter().take(10) {
                finding = finding.with_entity(
                    EntityRole::Related,
                    EntityValue::Account {
                        name: name.clone(),
                        realm: None,
                    },
                );
            }
        }
        if matches!(kind, Kind::DcSync | Kind::DcShadow) {
            finding = finding.with_fact("source_is_domain_controller", "false");
        }
        a.flows.attach(finding)
    }

    fn rpc(&mut self, d: &DceRpcEvent, out: &mut dyn FindingSink) {
        let ctx = &d.ctx;
        let iface = d.interface.as_deref().unwrap_or("");
        if ctx.direction == Direction::ToClient {
            // A drsuapi answer: its sender is a domain controller.
            if iface == "drsuapi" && d.ptype == "response" {
                self.dcs.touch(ctx.src.ip, ctx.ts, || ());
            }
            return;
        }
        let (src, dst) = (ctx.src.ip, ctx.dst.ip);
        if src == dst {
            return;
        }
        if d.ptype == "bind" || d.ptype == "alter_context" {
            for c in &d.contexts {
                if let Some(name) = c.name.as_deref().filter(|n| DCOM.contains(n)) {
                    self.observe(Kind::Dcom, src, dst, ctx, Some(name), false, 0, out);
                }
            }
            return;
        }
        if d.ptype != "request" {
            return;
        }
        let Some(op) = d.opnum else { return };
        let opname = d.operation.as_deref();
        match (iface, op) {
            ("drsuapi", 3) if !self.is_dc(src) => {
                self.observe(Kind::DcSync, src, dst, ctx, opname, false, 0, out)
            }
            ("drsuapi", 5 | 17) if !self.is_dc(src) => {
                self.observe(Kind::DcShadow, src, dst, ctx, opname, false, 0, out)
            }
            ("svcctl", 11 | 12 | 19 | 24 | 31) => {
                self.observe(Kind::Service, src, dst, ctx, opname, false, 0, out)
            }
            ("netlogon", 4 | 5 | 15 | 26) if d.zero_credential == Some(true) => {
                self.observe(Kind::Zerologon, src, dst, ctx, opname, false, 0, out)
            }
            (i, _) if DCOM.contains(&i) => {
                self.observe(Kind::Dcom, src, dst, ctx, Some(i), false, 0, out)
            }
            (i, o)
                if ENUMERATION
                    .iter()
                    .any(|(ei, eo, _, _)| *ei == i && *eo == o) =>
            {
                let sids = u64::from(d.sid_count.unwrap_or(0));
                self.observe(Kind::Enumeration, src, dst, ctx, opname, false, sids, out)
            }
            _ => {}
        }
    }

    fn kerberos(&mut self, k: &KerberosEvent, out: &mut dyn FindingSink) {
        let ctx = &k.ctx;
        let is_request = matches!(k.msg_type, 10 | 12);
        let (client, kdc) = if is_request {
            (ctx.src.ip, ctx.dst.ip)
        } else {
            // Replies and errors come from the KDC: a domain controller.
            self.dcs.touch(ctx.src.ip, ctx.ts, || ());
            (ctx.dst.ip, ctx.src.ip)
        };
        let principal = k.client.as_deref();
        let weak = !k.etypes.is_empty() && !k.etypes.iter().any(|e| AES.contains(e));
        // Requests: remember whether this client endpoint offered AES.
        // Replies: an RC4 enc-part to a client that offered AES is the KDC's
        // downgrade (an account or a KDC without AES keys, or tampering).
        let endpoint = if is_request {
            (client, ctx.src.port)
        } else {
            (client, ctx.dst.port)
        };
        if is_request && !k.etypes.is_empty() {
            *self.offered_aes.touch(endpoint, ctx.ts, || false) = !weak;
        }
        let downgraded = !is_request
            && k.reply_etype == Some(RC4)
            && self.offered_aes.get(&endpoint).copied().unwrap_or(false);
        match k.msg_type {
            10 => {
                if let Some(p) = principal {
                    let key = (client, self.hasher.hash_one(p));
                    *self.no_preauth.touch(key, ctx.ts, || false) = !k.pa_enc_timestamp;
                    let endpoint = (client, ctx.src.port);
                    let last = self.last_asreq.touch(endpoint, ctx.ts, String::new);
                    if last != p {
                        p.clone_into(last);
                    }
                }
                if weak {
                    self.observe(Kind::Rc4, client, kdc, ctx, principal, false, 0, out);
                    if !k.pa_enc_timestamp {
                        self.observe(Kind::AsRep, client, kdc, ctx, principal, false, 0, out);
                    }
                }
            }
            12 if weak => {
                self.observe(
                    Kind::Rc4,
                    client,
                    kdc,
                    ctx,
                    k.server.as_deref(),
                    false,
                    0,
                    out,
                );
                if let Some(s) = k.server.as_deref().filter(|s| !is_krbtgt(s)) {
                    self.observe(Kind::Kerberoast, client, kdc, ctx, Some(s), false, 0, out);
                }
            }
            11 => {
                // An AS-REP answering a request without pre-authentication:
                // its enc-part can be cracked offline.
                let roasted = principal.is_some_and(|p| {
                    self.no_preauth
                        .get(&(client, self.hasher.hash_one(p)))
                        .copied()
                        .unwrap_or(false)
                });
                if roasted {
                    self.observe(Kind::AsRep, client, kdc, ctx, principal, true, 0, out);
                }
                let rc4_client = k.reply_etype == Some(RC4)
                    && self.activities.get(&(Kind::Rc4, client, kdc)).is_some();
                if rc4_client || downgraded {
                    self.observe(Kind::Rc4, client, kdc, ctx, principal, true, 0, out);
                }
            }
            13 => {
                if downgraded {
                    let who = k.server.as_deref();
                    self.observe(Kind::Rc4, client, kdc, ctx, who, true, 0, out);
                }
                if let Some(s) = k.server.as_deref().filter(|s| !is_krbtgt(s)) {
                    if k.ticket_etype == Some(RC4) {
                        self.observe(Kind::Kerberoast, client, kdc, ctx, Some(s), true, 0, out);
                    }
                }
            }
            30 if k.error_code == Some(24) => {
                let asked = self.last_asreq.get(&(client, ctx.dst.port)).cloned();
                let who = principal.or(asked.as_deref());
                self.observe(Kind::Spray, client, kdc, ctx, who, false, 0, out);
            }
            _ => {}
        }
    }

    fn flush(&mut self, all: bool, now: Timestamp, out: &mut dyn FindingSink) {
        for ((kind, src, dst), mut a) in self.activities.ended(all, now) {
            let value = a.value(kind);
            if a.growth.settle(value.max(1) + a.strong + a.sids) {
                out.finding(self.finding(kind, src, dst, &a));
            }
        }
    }
}

impl Activity {
    /// The measure compared with the threshold: distinct principals for the
    /// roasting and spraying kinds, calls for the others.
    fn value(&self, kind: Kind) -> u64 {
        if kind.counts_items() {
            self.items.count()
        } else {
            self.calls
        }
    }
}

/// `value` beside its threshold when it reaches it, else as a plain value.
fn measured(finding: Finding, name: &str, value: u64, unit: &str, min: u64) -> Finding {
    if value >= min {
        finding.with_measurement(
            name,
            value as f64,
            unit,
            Comparison::GreaterOrEqual,
            min as f64,
        )
    } else {
        finding.with_value(name, value as f64, unit)
    }
}

fn is_krbtgt(principal: &str) -> bool {
    principal
        .split('/')
        .next()
        .is_some_and(|p| p.eq_ignore_ascii_case("krbtgt"))
}

fn mitre(kind: Kind, items: &[String]) -> Vec<String> {
    let ids: &[&str] = match kind {
        Kind::DcSync => &["T1003.006"],
        Kind::DcShadow => &["T1207"],
        Kind::Service => &["T1569.002", "T1021.002", "T1543.003"],
        Kind::Dcom => {
            if items.iter().any(|i| i.starts_with("IWbem")) {
                &["T1047", "T1021.003"]
            } else {
                &["T1021.003", "T1047"]
            }
        }
        Kind::Enumeration => {
            let mut ids: Vec<String> = Vec::new();
            for i in items {
                let found = ENUMERATION
                    .iter()
                    .find(|(_, _, n, _)| n == i)
                    .map(|(_, _, _, t)| *t);
                if let Some(t) = found {
                    if !ids.iter().any(|x| x == t) {
                        ids.push(t.to_string());
                    }
                }
            }
            if ids.is_empty() {
                ids.push("T1087.002".to_string());
            }
            return ids;
        }
        Kind::Spray => &["T1110.003"],
        Kind::AsRep => &["T1558.004"],
        Kind::Kerberoast => &["T1558.003"],
        Kind::Zerologon => &["T1210"],
        Kind::Rc4 => &["T1558", "T1562.001"],
    };
    ids.iter().map(|s| s.to_string()).collect()
}

impl Analyzer for WindowsDetector {
    fn name(&self) -> &'static str {
        "windows"
    }

    fn interests(&self) -> Interests {
        Interests {
            events: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        crate::table::footprint(&[
            &self.activities,
            &self.dcs,
            &self.no_preauth,
            &self.last_asreq,
            &self.offered_aes,
        ])
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        crate::table::share_budget(
            &mut [
                &mut self.activities,
                &mut self.dcs,
                &mut self.no_preauth,
                &mut self.last_asreq,
                &mut self.offered_aes,
            ],
            bytes,
        );
    }

    fn on_event(&mut self, event: &AppEvent, out: &mut dyn FindingSink) {
        match event {
            AppEvent::DceRpc(d) => self.rpc(d, out),
            AppEvent::Kerberos(k) => self.kerberos(k, out),
            _ => {}
        }
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        self.flush(false, now, out);
        self.dcs.expire(now);
        self.no_preauth.expire(now);
        self.last_asreq.expire(now);
        self.offered_aes.expire(now);
    }

    fn finish(&mut self, out: &mut dyn FindingSink) {
        self.flush(true, Timestamp::ZERO, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::ep;
    use netsec_model::{Endpoint, Transport};

    const CLIENT: u32 = 0x0a00_0042; // 10.0.0.66
    const DC: u32 = 0x0a00_000a; // 10.0.0.10
    const DC2: u32 = 0x0a00_000b; // 10.0.0.11

    fn ctx(src: Endpoint, dst: Endpoint, dir: Direction, ts: f64) -> EventContext {
        EventContext {
            ts: Timestamp::from_secs_f64(ts),
            packet_number: 1,
            flow_id: None,
            community_id: Some("1:test".into()),
            src,
            dst,
            transport: Transport::Tcp,
            direction: dir,
        }
    }

    fn request(from: u32, to: u32, iface: &str, opnum: u16, op: &str) -> AppEvent {
        AppEvent::DceRpc(DceRpcEvent {
            ctx: ctx(ep(from, 50000), ep(to, 49667), Direction::ToServer, 1.0),
            ptype: "request".into(),
            call_id: 2,
            pipe: None,
            context_id: Some(0),
            interface: Some(iface.into()),
            opnum: Some(opnum),
            operation: Some(op.into()),
            contexts: Vec::new(),
            results: Vec::new(),
            status: None,
            zero_credential: None,
            sid_count: None,
        })
    }

    fn krb(msg_type: u8, to_kdc: bool, who: &str, etypes: &[i32], ts: f64) -> KerberosEvent {
        let (c, k) = (ep(CLIENT, 50001), ep(DC, 88));
        let (src, dst, dir) = if to_kdc {
            (c, k, Direction::ToServer)
        } else {
            (k, c, Direction::ToClient)
        };
        KerberosEvent {
            ctx: ctx(src, dst, dir, ts),
            msg_type,
            msg_name: String::new(),
            realm: Some("LAB.TEST".into()),
            client: Some(who.into()),
            server: Some("krbtgt/LAB.TEST".into()),
            etypes: etypes.to_vec(),
            ticket_etype: None,
            reply_etype: None,
            pa_enc_timestamp: false,
            error_code: None,
        }
    }

    fn run(events: &[AppEvent], config: WindowsConfig) -> Vec<Finding> {
        let mut d = WindowsDetector::new(config, NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for e in events {
            d.on_event(e, &mut out);
        }
        d.finish(&mut out);
        out
    }

    #[test]
    fn dcshadow_from_a_non_dc_but_not_from_a_learned_dc() {
        // DC2 answers Kerberos first: it is a DC, its replication is normal.
        let mut dc2_reply = krb(11, false, "alice", &[], 0.5);
        dc2_reply.ctx.src = ep(DC2, 88);
        let events = vec![
            AppEvent::Kerberos(dc2_reply),
            request(DC2, DC, "drsuapi", 5, "DRSReplicaAdd"),
            request(DC2, DC, "drsuapi", 3, "DRSGetNCChanges"),
            request(CLIENT, DC, "drsuapi", 17, "DRSAddEntry"),
            request(CLIENT, DC, "drsuapi", 5, "DRSReplicaAdd"),
        ];
        let out = run(&events, WindowsConfig::default());
        let kinds: Vec<(&str, &str)> = out
            .iter()
            .map(|f| (f.kind.as_str(), f.id.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("dcshadow", "dcshadow:10.0.0.66->10.0.0.10"),
                ("dcshadow", "dcshadow:10.0.0.66->10.0.0.10")
            ]
        );
        let last = &out[1];
        assert_eq!(last.mitre, vec!["T1207"]);
        assert_eq!(last.severity, Severity::Critical);
        assert!(last
            .evidence
            .facts
            .iter()
            .any(|(k, v)| k == "operations" && v == "DRSAddEntry,DRSReplicaAdd"));
    }

    #[test]
    fn an_as_rep_to_a_request_without_preauth_is_roasting_at_once() {
        // roastme asked without pre-auth, RC4 only, and answered: one principal suffices.
        let mut rep = krb(11, false, "roastme", &[], 2.0);
        rep.reply_etype = Some(RC4);
        let events = vec![
            AppEvent::Kerberos(krb(10, true, "roastme", &[23], 1.0)),
            AppEvent::Kerberos(rep),
        ];
        let out = run(&events, WindowsConfig::default());
        let roast: Vec<&Finding> = out.iter().filter(|f| f.kind == "asrep_roasting").collect();
        assert!(!roast.is_empty());
        assert!((roast[roast.len() - 1].confidence.value() - 0.9).abs() < 1e-9);
        // A user who pre-authenticated after PREAUTH_REQUIRED is not roasted.
        let mut second = krb(10, true, "alice", &[23], 1.5);
        second.pa_enc_timestamp = true;
        let events = vec![
            AppEvent::Kerberos(krb(10, true, "alice", &[23], 1.0)),
            AppEvent::Kerberos(second),
            AppEvent::Kerberos(krb(11, false, "alice", &[], 2.0)),
        ];
        let out = run(&events, WindowsConfig::default());
        assert!(out.iter().all(|f| f.kind != "asrep_roasting"), "{out:?}");
    }

    #[test]
    fn rc4_service_tickets_make_kerberoasting_certain() {
        let mut events = Vec::new();
        for (k, spn) in ["MSSQLSvc/a:1433", "HTTP/b", "cifs/c"].iter().enumerate() {
            let mut req = krb(12, true, "alice", &[23], k as f64);
            req.server = Some((*spn).into());
            events.push(AppEvent::Kerberos(req));
            let mut rep = krb(13, false, "alice", &[], k as f64 + 0.1);
            rep.server = Some((*spn).into());
            rep.ticket_etype = Some(RC4);
            events.push(AppEvent::Kerberos(rep));
        }
        let out = run(&events, WindowsConfig::default());
        let roast: Vec<&Finding> = out.iter().filter(|f| f.kind == "kerberoasting").collect();
        let last = roast[roast.len() - 1];
        assert!((last.confidence.value() - saturate(1.0, 1.0)).abs() < 1e-9);
        assert!(last
            .evidence
            .measurements
            .iter()
            .any(|m| m.name == "rc4_service_tickets" && m.value == 3.0));
        // AES requests for the same services are no roasting.
        let aes: Vec<AppEvent> = events
            .iter()
            .filter_map(|e| match e {
                AppEvent::Kerberos(k) if k.msg_type == 12 => {
                    let mut k = k.clone();
                    k.etypes = vec![18, 17, 23];
                    Some(AppEvent::Kerberos(k))
                }
                _ => None,
            })
            .collect();
        assert!(run(&aes, WindowsConfig::default()).is_empty());
    }

    #[test]
    fn spraying_errors_without_cname_take_the_request_principal() {
        let mut events = Vec::new();
        for (i, user) in ["u1", "u2", "u3", "u4", "u5"].iter().enumerate() {
            let mut req = krb(10, true, user, &[18, 17], i as f64);
            req.pa_enc_timestamp = true;
            let mut err = krb(30, false, user, &[], i as f64 + 0.1);
            err.client = None;
            err.error_code = Some(24);
            events.push(AppEvent::Kerberos(req));
            events.push(AppEvent::Kerberos(err));
        }
        let out = run(&events, WindowsConfig::default());
        let spray: Vec<&Finding> = out
            .iter()
            .filter(|f| f.kind == "kerberos_password_spraying")
            .collect();
        assert!(!spray.is_empty(), "{out:?}");
        let last = spray[spray.len() - 1];
        assert!(last
            .evidence
            .facts
            .iter()
            .any(|(k, v)| k == "principals" && v == "u1,u2,u3,u4,u5"));
    }

    #[test]
    fn an_rc4_reply_to_a_client_offering_aes_is_a_downgrade() {
        let mut req = krb(10, true, "carol", &[18, 17, 23], 1.0);
        req.pa_enc_timestamp = true;
        let mut rep = krb(11, false, "carol", &[], 1.1);
        rep.reply_etype = Some(RC4);
        let events = vec![
            AppEvent::Kerberos(req.clone()),
            AppEvent::Kerberos(rep.clone()),
        ];
        let out = run(&events, WindowsConfig::default());
        let kinds: Vec<&str> = out.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(kinds, vec!["kerberos_rc4_downgrade"]);
        assert!((out[0].confidence.value() - 0.7).abs() < 1e-9);
        // An AES reply to the same request is nothing.
        rep.reply_etype = Some(18);
        let events = vec![AppEvent::Kerberos(req), AppEvent::Kerberos(rep)];
        assert!(run(&events, WindowsConfig::default()).is_empty());
    }

    #[test]
    fn allow_listed_sources_and_state_bounds() {
        let net = NetworkConfig {
            allow_sources: vec!["10.0.0.66/32".parse().unwrap_or_else(|_| unreachable!())],
            ..NetworkConfig::default()
        };
        let mut d = WindowsDetector::new(WindowsConfig::default(), net);
        let mut out: Vec<Finding> = Vec::new();
        d.on_event(
            &request(CLIENT, DC, "drsuapi", 3, "DRSGetNCChanges"),
            &mut out,
        );
        assert!(out.is_empty());
        // 10 000 sources, each one zero-credential call: the table stays within capacity.
        let config = WindowsConfig {
            capacity: 100,
            ..WindowsConfig::default()
        };
        let mut d = WindowsDetector::new(config, NetworkConfig::default());
        for i in 0..10_000u32 {
            let mut e = request(
                0x0a01_0000 + i,
                DC,
                "netlogon",
                26,
                "NetrServerAuthenticate3",
            );
            if let AppEvent::DceRpc(r) = &mut e {
                r.zero_credential = Some(true);
            }
            d.on_event(&e, &mut out);
        }
        assert!(d.activities.len() <= 100);
        assert_eq!(out.len(), 10_000);
    }
}
