//! HTTP/1.x identification and head parsing on real captures. Expected
//! values come from each suricata-verify test's `test.yaml` or, where the
//! yaml checks rules only, from tshark (`testdata/expected/*.json`).

mod app_pcap;

use app_pcap::{app_data, events, run, run_with_chunks, suricata_verify, testdata, FlowRun};
use netsec_model::{AppEvent, AppProto, HttpEvent, HttpMessage};

fn http(runs: Vec<FlowRun>) -> Vec<HttpEvent> {
    events(runs)
        .into_iter()
        .filter_map(|e| match e {
            AppEvent::Http(h) => Some(h),
            _ => None,
        })
        .collect()
}

fn requests(h: &[HttpEvent]) -> Vec<(String, String, Option<String>)> {
    h.iter()
        .filter_map(|e| match &e.message {
            HttpMessage::Request {
                method, uri, host, ..
            } => Some((method.to_string(), uri.clone(), host.clone())),
            _ => None,
        })
        .collect()
}

fn statuses(h: &[HttpEvent]) -> Vec<u16> {
    h.iter()
        .filter_map(|e| match &e.message {
            HttpMessage::Response { status, .. } => Some(*status),
            _ => None,
        })
        .collect()
}

#[test]
fn all_headers_in_order() {
    // http-all-headers: one transaction; request_headers[0] Host www.ethereal.com,
    // 9 request and 9 response headers, response_headers[5] Content-Length 18070.
    let h = http(run(&suricata_verify("http-all-headers.pcap")));
    assert_eq!(h.len(), 2);
    let (req, resp) = (&h[0], &h[1]);
    assert_eq!(req.headers.len(), 9);
    assert_eq!(req.headers.field(0), Some(("host", "www.ethereal.com")));
    let HttpMessage::Request { user_agent, .. } = &req.message else {
        panic!("request first");
    };
    assert_eq!(
        user_agent.as_deref(),
        Some("Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.6) Gecko/20040113")
    );
    assert_eq!(resp.headers.len(), 9);
    assert_eq!(resp.headers.field(5), Some(("content-length", "18070")));
    let HttpMessage::Response {
        status,
        reason,
        server,
        content_type,
        content_length,
    } = &resp.message
    else {
        panic!("response second");
    };
    assert_eq!((*status, reason.as_ref()), (200, "OK"));
    assert_eq!(server.as_deref(), Some("Apache"));
    assert_eq!(
        content_type.as_deref(),
        Some("text/html; charset=ISO-8859-1")
    );
    assert_eq!(*content_length, Some(18070));
    assert_eq!(resp.version, "1.1");
}

#[test]
fn keep_alive_posts_with_bodies() {
    // http-post-file: three POSTs and three responses on one connection (tshark).
    for chunk in [0, 1, 17] {
        let runs = run_with_chunks(&suricata_verify("http-post-file.pcap"), chunk);
        let flows = runs
            .iter()
            .filter(|r| r.proto.is_some_and(|p| p.0 == AppProto::Http))
            .count();
        let h = http(runs);
        let r = requests(&h);
        assert_eq!(
            r.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
            vec![
                "/api/v4/users/login",
                "/api/v4/uploads",
                "/api/v4/uploads/is8j4b6s7i839eo38axwmx5pnr"
            ],
            "chunk {chunk}"
        );
        assert!(r
            .iter()
            .all(|r| r.0 == "POST" && r.2.as_deref() == Some("localhost:8065")));
        assert_eq!(statuses(&h), vec![200, 201, 200], "chunk {chunk}");
        assert_eq!(flows, 1);
    }
}

#[test]
fn repeated_content_length_uses_the_last() {
    // http-multiple-cl: Content-Length 11 then 93; tshark (and netsec) frame the
    // body with the last one, which swallows the second request: 2 requests.
    let h = http(run(&suricata_verify("http-multiple-cl.pcap")));
    let r = requests(&h);
    assert_eq!(
        r.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        vec!["/which.php", "/bad.php"]
    );
    assert_eq!(statuses(&h), vec![501]);
}

#[test]
fn uri_with_space_ipv6_host_and_http10() {
    // http-uri-spaces: the uri keeps " afterspace".
    let h = http(run(&suricata_verify("http-uri-spaces.pcap")));
    assert_eq!(requests(&h)[0].1, "/uri afterspace");
    assert_eq!(statuses(&h), vec![400]);
    // http-ipv6: http.hostname "[::1]" (the Host header carries the port).
    let h = http(run(&suricata_verify("http-ipv6.pcap")));
    assert_eq!(requests(&h)[0].2.as_deref(), Some("[::1]:8000"));
    // http-response-line: "HTTP/1.0 200 OK".
    let h = http(run(&suricata_verify("http-response-line.pcap")));
    let resp = h
        .iter()
        .find(|e| statuses(std::slice::from_ref(e)) == [200])
        .unwrap();
    assert_eq!(resp.version, "1.0");
    assert!(matches!(&resp.message, HttpMessage::Response { reason, .. } if reason == "OK"));
}

#[test]
fn one_sided_and_sample() {
    // bug-2491-01: only the client side, three requests (tshark).
    let h = http(run(&suricata_verify("bug-2491-01.pcap")));
    let r = requests(&h);
    assert_eq!(r.len(), 3);
    assert!(r
        .iter()
        .all(|r| r.2.as_deref() == Some("col.stb.s-msn.com")));
    // sample.pcap: two requests to www.example.lab over plain HTTP (tshark).
    let h = http(run(&testdata("sample.pcap")));
    let r = requests(&h);
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|r| r.2.as_deref() == Some("www.example.lab")));
    assert_eq!(statuses(&h).len(), 2);
}

#[test]
fn evasive_transfer_encoding_on_head_request() {
    // http-chunked: "Transfer-Encoding: ,\tchunked," on a HEAD with Content-Length 0;
    // the header values are kept as sent.
    let h = http(run(&suricata_verify("http-chunked.pcap")));
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].headers.get("transfer-encoding"), Some(",\tchunked,"));
    assert_eq!(requests(&h)[0].0, "HEAD");
}

#[test]
fn keep_alive_with_every_body_framing() {
    // http-keepalive-chunked (recorded by tests/data/app/record-http-keepalive.sh):
    // eight requests on one connection; Content-Length and chunked bodies (with
    // extensions and trailers, both directions) hide decoy request and status
    // lines that must not be taken for messages; HEAD, 204 and 304 carry none.
    for chunk in [0, 1, 3, 100] {
        let runs = run_with_chunks(&app_data("http-keepalive-chunked.pcap"), chunk);
        assert!(runs.iter().all(|r| r.malformed == 0));
        let h = http(runs);
        let r: Vec<String> = requests(&h)
            .into_iter()
            .map(|r| format!("{} {}", r.0, r.1))
            .collect();
        assert_eq!(
            r,
            vec![
                "GET /length",
                "GET /chunked",
                "HEAD /head",
                "POST /form",
                "POST /upload",
                "GET /empty",
                "GET /cached",
                "GET /last"
            ],
            "chunk {chunk}"
        );
        assert_eq!(
            statuses(&h),
            vec![200, 200, 200, 201, 201, 204, 304, 200],
            "chunk {chunk}"
        );
        let head = h
            .iter()
            .find_map(|e| match &e.message {
                HttpMessage::Response {
                    content_length: Some(12345),
                    server,
                    ..
                } => Some(server.clone()),
                _ => None,
            })
            .unwrap();
        assert!(head.unwrap().starts_with("netsec-test/1.0"));
        let ua = h.iter().find_map(|e| match &e.message {
            HttpMessage::Request { user_agent, .. } => user_agent.clone(),
            _ => None,
        });
        assert_eq!(ua.as_deref(), Some("netsec-keepalive-test/1.0"));
    }
}
