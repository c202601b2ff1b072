//! Decoding for netsec (crate docs with a runnable example: to be written by the owner of this crate).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
