//! Runnable programs that use the netsec crates as libraries; see the
//! `[[example]]` targets (`cargo run -p netsec-examples --example list_flows -- FILE`).

#![forbid(unsafe_code)]
