//! Streaming pcap and pcapng reading with bounded memory.
//!
//! The reader hands out one [`RawPacket`] at a time, borrowed from a buffer
//! that grows only as far as the largest block needs (never past
//! [`MAX_BLOCK_BYTES`]), so reading a 10 GB file takes the memory of a
//! 10 KB one.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use netsec_model::{LinkType, RawPacket, Timestamp};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

use crate::error::CaptureError;
use crate::stats::ReadStats;

/// Initial read buffer.
const INITIAL_BUFFER_BYTES: usize = 1024 * 1024;
/// Largest block the reader will grow its buffer for. pcapng blocks carry
/// one packet each; 16 MiB is far above any real snap length (Wireshark's
/// maximum is 256 KiB) and bounds what a hostile length field can cost.
pub const MAX_BLOCK_BYTES: usize = 16 * 1024 * 1024;

/// gzip member magic (RFC 1952 §2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// zstd frame magic (RFC 8878 §3.1.1).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Container format of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap {
        /// Timestamps in nanoseconds (magic a1b23c4d) rather than microseconds.
        nanosecond: bool,
        /// Written big-endian.
        big_endian: bool,
        /// The modified (Kuznetzov, magic a1b2cd34) variant.
        modified: bool,
    },
    /// pcapng.
    PcapNg,
}

impl std::fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaptureFormat::Pcap { modified: true, .. } => f.write_str("pcap (modified)"),
            CaptureFormat::Pcap {
                nanosecond: true, ..
            } => f.write_str("pcap (ns)"),
            CaptureFormat::Pcap { .. } => f.write_str("pcap"),
            CaptureFormat::PcapNg => f.write_str("pcapng"),
        }
    }
}

/// Compression wrapped around a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// None.
    None,
    /// gzip (one or more members).
    Gzip,
    /// zstd.
    Zstd,
}

/// What the reader knows of one pcapng interface.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    /// Units per second of the timestamps (if_tsresol).
    resolution: u64,
    /// Seconds added to every timestamp (if_tsoffset).
    offset_secs: i64,
}

/// Where the current packet's bytes sit in the parser's buffer.
#[derive(Debug, Clone, Copy)]
struct PendingPacket {
    number: u64,
    ts: Timestamp,
    link_type: LinkType,
    interface: u32,
    orig_len: u32,
    start: usize,
    end: usize,
}

/// Reads a pcap or pcapng capture packet by packet.
///
/// ```no_run
/// # fn main() -> Result<(), netsec_capture::CaptureError> {
/// let mut reader = netsec_capture::CaptureReader::open("capture.pcapng".as_ref())?;
/// while let Some(packet) = reader.next_packet()? {
///     println!("{} {} bytes", packet.ts, packet.data.len());
/// }
/// # Ok(()) }
/// ```
pub struct CaptureReader {
    name: String,
    inner: Box<dyn PcapReaderIterator + Send>,
    compression: Compression,
    state: ReaderState,
    /// Bytes to consume before parsing the next block.
    consume_next: usize,
    /// Set after an error: every later call returns `Ok(None)`.
    done: bool,
}

/// What the reader remembers between blocks (kept apart from the parser so
/// a block borrowed from the parser can update it).
struct ReaderState {
    format: CaptureFormat,
    /// pcap: the one link type and snap length of the file.
    pcap_link: (LinkType, u32),
    /// pcapng: interfaces of the current section, in IDB order.
    interfaces: Vec<Interface>,
    /// Byte order of the current pcapng section.
    section_big_endian: bool,
    packets: u64,
    stats: ReadStats,
}

/// What one parsed block amounts to.
enum Seen {
    /// A packet; its bytes stay in the buffer until the next call.
    Packet(usize, PendingPacket),
    /// Not a packet (or a skipped one): consume and go on.
    Skip(usize),
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("name", &self.name)
            .field("format", &self.state.format)
            .field("packets", &self.state.packets)
            .finish()
    }
}

/// Peeks at the first bytes and wraps the stream in the right decompressor.
fn decompressed(
    reader: Box<dyn Read + Send>,
    name: &str,
) -> Result<(Box<dyn Read + Send>, Compression), CaptureError> {
    let mut buffered = BufReader::with_capacity(64 * 1024, reader);
    let head = buffered.fill_buf().map_err(|e| CaptureError::Io {
        file: name.to_string(),
        source: e,
    })?;
    if head.is_empty() {
        return Err(CaptureError::Empty {
            file: name.to_string(),
        });
    }
    if head.starts_with(&GZIP_MAGIC) {
        Ok((
            Box::new(flate2::read::MultiGzDecoder::new(buffered)),
            Compression::Gzip,
        ))
    } else if head.starts_with(&ZSTD_MAGIC) {
        let dec = ruzstd::decoding::StreamingDecoder::new(buffered).map_err(|e| {
            CaptureError::Corrupt {
                file: name.to_string(),
                packet: 0,
                offset: 0,
                reason: format!("zstd: {e}"),
            }
        })?;
        Ok((Box::new(dec), Compression::Zstd))
    } else {
        Ok((Box::new(buffered), Compression::None))
    }
}

impl CaptureReader {
    /// Open a capture file; `-` reads standard input. gzip and zstd are
    /// recognised by their magic bytes and decompressed on the fly.
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        let name = path.display().to_string();
        if name == "-" {
            return CaptureReader::from_reader(Box::new(std::io::stdin()), "<stdin>");
        }
        let file = File::open(path).map_err(|e| CaptureError::Io {
            file: name.clone(),
            source: e,
        })?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(CaptureError::NotACapture {
                file: name,
                reason: "is a directory".into(),
            });
        }
        CaptureReader::from_reader(Box::new(file), &name)
    }

    /// Read from any byte stream; `name` is used in messages.
    pub fn from_reader(
        reader: Box<dyn Read + Send>,
        name: &str,
    ) -> Result<CaptureReader, CaptureError> {
        let (reader, compression) = decompressed(reader, name)?;
        let inner = match pcap_parser::create_reader(INITIAL_BUFFER_BYTES, reader) {
            Ok(r) => r,
            Err(PcapError::Eof) => {
                return Err(CaptureError::Empty {
                    file: name.to_string(),
                })
            }
            Err(PcapError::ReadError) => {
                return Err(CaptureError::NotACapture {
                    file: name.to_string(),
                    reason: "read error while looking for a capture header".into(),
                })
            }
            Err(PcapError::Incomplete(_)) => {
                return Err(CaptureError::NotACapture {
                    file: name.to_string(),
                    reason: "too short for a capture header".into(),
                })
            }
            Err(_) => {
                return Err(CaptureError::NotACapture {
                    file: name.to_string(),
                    reason: "no pcap or pcapng header (magic bytes not recognised)".into(),
                })
            }
        };
        let stats = ReadStats {
            compression: Some(compression),
            ..ReadStats::default()
        };
        Ok(CaptureReader {
            name: name.to_string(),
            inner,
            compression,
            state: ReaderState {
                format: CaptureFormat::PcapNg,
                pcap_link: (LinkType::Ethernet, 0),
                interfaces: Vec::new(),
                section_big_endian: false,
                packets: 0,
                stats,
            },
            consume_next: 0,
            done: false,
        })
    }

    /// Container format (known once the header has been read, which
    /// [`CaptureReader::from_reader`] does).
    pub fn format(&self) -> CaptureFormat {
        self.state.format
    }

    /// Compression the input was wrapped in.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Counters so far.
    pub fn stats(&self) -> &ReadStats {
        &self.state.stats
    }

    /// Name used in messages (the path, or `<stdin>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn corrupt(&mut self, reason: String) -> CaptureError {
        self.done = true;
        CaptureError::Corrupt {
            file: self.name.clone(),
            packet: self.state.packets + 1,
            offset: self.inner.consumed() as u64,
            reason,
        }
    }

    fn truncated(&mut self) -> CaptureError {
        self.done = true;
        self.state.stats.truncated = true;
        CaptureError::Truncated {
            file: self.name.clone(),
            packets: self.state.packets,
            offset: self.inner.consumed() as u64,
        }
    }

    /// The next packet, or `Ok(None)` at the end of the input.
    ///
    /// A truncated file yields every whole packet, then one
    /// [`CaptureError::Truncated`] naming where it stopped; a corrupt one
    /// yields what precedes the damage, then one [`CaptureError::Corrupt`].
    /// After an error every call returns `Ok(None)`. Records whose lengths
    /// are impossible are skipped and counted in [`ReadStats::skipped_records`].
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        if self.consume_next > 0 {
            self.inner.consume(self.consume_next);
            self.consume_next = 0;
        }
        let pending = loop {
            match self.next_block()? {
                Step::Packet(p) => break p,
                Step::Continue => continue,
                Step::End => return Ok(None),
            }
        };
        let data = self
            .inner
            .data()
            .get(pending.start..pending.end)
            .unwrap_or(&[]);
        Ok(Some(RawPacket {
            number: pending.number,
            ts: pending.ts,
            link_type: pending.link_type,
            interface: pending.interface,
            orig_len: pending.orig_len,
            data,
        }))
    }

    fn next_block(&mut self) -> Result<Step, CaptureError> {
        let base = self.inner.data().as_ptr() as usize;
        let result = match self.inner.next() {
            Ok((offset, block)) => Ok(self.state.inspect(offset, block, base)),
            Err(PcapError::Eof) => Err(Failure::Eof),
            Err(PcapError::Incomplete(_)) => Err(Failure::Incomplete),
            Err(PcapError::BufferTooSmall) => Err(Failure::BufferTooSmall),
            Err(PcapError::UnexpectedEof) => Err(Failure::UnexpectedEof),
            Err(PcapError::ReadError) => Err(Failure::Read),
            Err(e) => Err(Failure::Parse(e.to_string())),
        };
        match result {
            Ok(Seen::Skip(offset)) => {
                self.inner.consume(offset);
                Ok(Step::Continue)
            }
            Ok(Seen::Packet(offset, p)) => {
                self.consume_next = offset;
                Ok(Step::Packet(p))
            }
            Err(Failure::Eof) => {
                self.done = true;
                Ok(Step::End)
            }
            Err(Failure::Incomplete) => {
                if self.inner.reader_exhausted() {
                    if self.inner.data().is_empty() {
                        self.done = true;
                        return Ok(Step::End);
                    }
                    return Err(self.truncated());
                }
                if self.inner.refill().is_err() {
                    return Err(self.corrupt("read error".into()));
                }
                Ok(Step::Continue)
            }
            Err(Failure::BufferTooSmall) => {
                let want = self
                    .inner
                    .data()
                    .len()
                    .saturating_mul(2)
                    .max(INITIAL_BUFFER_BYTES * 2);
                if want > MAX_BLOCK_BYTES || !self.inner.grow(want) {
                    return Err(self.corrupt(format!(
                        "block larger than {MAX_BLOCK_BYTES} bytes (a corrupt length field?)"
                    )));
                }
                if self.inner.refill().is_err() {
                    return Err(self.corrupt("read error".into()));
                }
                Ok(Step::Continue)
            }
            Err(Failure::UnexpectedEof) => Err(self.truncated()),
            Err(Failure::Read) => Err(self.corrupt("read error (or decompression error)".into())),
            Err(Failure::Parse(reason)) => Err(self.corrupt(reason)),
        }
    }
}

impl ReaderState {
    /// Look at one parsed block: remember headers and interfaces, turn
    /// packet blocks into a [`PendingPacket`] (the bytes stay in the buffer).
    fn inspect(&mut self, offset: usize, block: PcapBlockOwned<'_>, base: usize) -> Seen {
        let range_of = |data: &[u8]| {
            let start = (data.as_ptr() as usize).saturating_sub(base);
            (start, start + data.len())
        };
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.format = CaptureFormat::Pcap {
                    nanosecond: h.is_nanosecond_precision(),
                    big_endian: h.is_bigendian(),
                    modified: h.is_modified_format(),
                };
                let lt = LinkType::from_number(h.network.0 as u32);
                self.pcap_link = (lt, h.snaplen);
                self.stats.note_interface(lt);
                Seen::Skip(offset)
            }
            PcapBlockOwned::Legacy(b) => {
                let (link_type, snaplen) = self.pcap_link;
                let nanos = matches!(
                    self.format,
                    CaptureFormat::Pcap {
                        nanosecond: true,
                        ..
                    }
                );
                // A record that claims more captured bytes than were on the
                // wire, or than the file's snap length, lies about its size.
                if b.caplen > b.origlen || (snaplen >= 64 && b.caplen > snaplen) {
                    self.stats.skipped_records += 1;
                    return Seen::Skip(offset);
                }
                let frac = if nanos {
                    b.ts_usec
                } else {
                    b.ts_usec.saturating_mul(1000)
                };
                let ts = Timestamp::from_secs_nanos(i64::from(b.ts_sec), frac);
                let (start, end) = range_of(b.data);
                self.finish_packet(offset, ts, link_type, 0, b.origlen, start, end)
            }
            PcapBlockOwned::NG(block) => self.inspect_ng(offset, block, base),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_packet(
        &mut self,
        offset: usize,
        ts: Timestamp,
        link_type: LinkType,
        interface: u32,
        orig_len: u32,
        start: usize,
        end: usize,
    ) -> Seen {
        self.packets += 1;
        self.stats.packets += 1;
        self.stats.bytes += (end - start) as u64;
        self.stats.count_link(link_type);
        Seen::Packet(
            offset,
            PendingPacket {
                number: self.packets,
                ts,
                link_type,
                interface,
                orig_len,
                start,
                end,
            },
        )
    }

    fn inspect_ng(&mut self, offset: usize, block: Block<'_>, base: usize) -> Seen {
        let range_of = |data: &[u8]| {
            let start = (data.as_ptr() as usize).saturating_sub(base);
            (start, start + data.len())
        };
        match block {
            Block::SectionHeader(shb) => {
                self.format = CaptureFormat::PcapNg;
                // Interfaces are numbered per section (pcapng §4.2).
                self.interfaces.clear();
                self.section_big_endian = shb.big_endian();
                self.stats.sections += 1;
                self.stats.comments += count_comments(&shb.options);
                Seen::Skip(offset)
            }
            Block::InterfaceDescription(idb) => {
                let lt = LinkType::from_number(idb.linktype.0 as u32);
                let resolution = idb.ts_resolution().unwrap_or(1_000_000).max(1);
                self.interfaces.push(Interface {
                    link_type: lt,
                    snaplen: idb.snaplen,
                    resolution,
                    offset_secs: idb.ts_offset(),
                });
                self.stats.note_interface(lt);
                self.stats.comments += count_comments(&idb.options);
                Seen::Skip(offset)
            }
            Block::EnhancedPacket(epb) => {
                self.stats.comments += count_comments(&epb.options);
                let Some(iface) = self.interfaces.get(epb.if_id as usize).copied() else {
                    self.stats.skipped_records += 1;
                    self.stats.unknown_interface += 1;
                    return Seen::Skip(offset);
                };
                let ts = ng_timestamp(
                    (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low),
                    iface.resolution,
                    iface.offset_secs,
                );
                let (start, end) = range_of(epb.data);
                let end = end.min(start + epb.caplen as usize);
                self.finish_packet(
                    offset,
                    ts,
                    iface.link_type,
                    epb.if_id,
                    epb.origlen,
                    start,
                    end,
                )
            }
            Block::SimplePacket(spb) => {
                // SPBs belong to interface 0 and carry no timestamp (pcapng §4.4).
                let Some(iface) = self.interfaces.first().copied() else {
                    self.stats.skipped_records += 1;
                    self.stats.unknown_interface += 1;
                    return Seen::Skip(offset);
                };
                let (start, mut end) = range_of(spb.data);
                let caplen = if iface.snaplen == 0 {
                    spb.origlen
                } else {
                    spb.origlen.min(iface.snaplen)
                };
                end = end.min(start + caplen as usize);
                self.finish_packet(
                    offset,
                    Timestamp::ZERO,
                    iface.link_type,
                    0,
                    spb.origlen,
                    start,
                    end,
                )
            }
            Block::Unknown(ub) if ub.block_type == OBSOLETE_PACKET_BLOCK => {
                self.inspect_obsolete_packet(offset, ub.data, base)
            }
            Block::NameResolution(nrb) => {
                self.stats.comments += count_comments(&nrb.options);
                self.stats.other_blocks += 1;
                Seen::Skip(offset)
            }
            Block::InterfaceStatistics(isb) => {
                self.stats.comments += count_comments(&isb.options);
                self.stats.other_blocks += 1;
                Seen::Skip(offset)
            }
            Block::Custom(_)
            | Block::Unknown(_)
            | Block::DecryptionSecrets(_)
            | Block::SystemdJournalExport(_)
            | Block::ProcessInformation(_) => {
                self.stats.other_blocks += 1;
                Seen::Skip(offset)
            }
        }
    }

    /// The obsolete Packet Block (type 2, pcapng draft §4.5 of the IETF
    /// document): interface id (16 bits), drops count (16 bits), timestamp
    /// high and low, captured length, original length, data.
    fn inspect_obsolete_packet(&mut self, offset: usize, body: &[u8], base: usize) -> Seen {
        let big_endian = self.section_big_endian;
        let word = |i: usize| -> Option<u32> {
            let b: [u8; 4] = body.get(i..i + 4)?.try_into().ok()?;
            Some(if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        let half = |i: usize| -> Option<u16> {
            let b: [u8; 2] = body.get(i..i + 2)?.try_into().ok()?;
            Some(if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            })
        };
        let parsed = (|| {
            let if_id = half(0)?;
            let ts = (u64::from(word(4)?) << 32) | u64::from(word(8)?);
            let caplen = word(12)? as usize;
            let origlen = word(16)?;
            let data = body.get(20..20 + caplen)?;
            Some((if_id, ts, origlen, data))
        })();
        let Some((if_id, ts, origlen, data)) = parsed else {
            self.stats.skipped_records += 1;
            return Seen::Skip(offset);
        };
        let Some(iface) = self.interfaces.get(usize::from(if_id)).copied() else {
            self.stats.skipped_records += 1;
            self.stats.unknown_interface += 1;
            return Seen::Skip(offset);
        };
        let start = (data.as_ptr() as usize).saturating_sub(base);
        let end = start + data.len();
        let ts = ng_timestamp(ts, iface.resolution, iface.offset_secs);
        self.finish_packet(
            offset,
            ts,
            iface.link_type,
            u32::from(if_id),
            origlen,
            start,
            end,
        )
    }
}

/// pcapng block type of the obsolete Packet Block.
const OBSOLETE_PACKET_BLOCK: u32 = 0x0000_0002;

fn count_comments(options: &[pcap_parser::pcapng::PcapNGOption<'_>]) -> u64 {
    options
        .iter()
        .filter(|o| o.code == pcap_parser::pcapng::OptionCode::Comment)
        .count() as u64
}

/// A pcapng timestamp in `resolution` units per second, plus an offset in
/// seconds, as nanoseconds since the epoch.
fn ng_timestamp(units: u64, resolution: u64, offset_secs: i64) -> Timestamp {
    let secs = units / resolution;
    let rem = units % resolution;
    let nanos = (u128::from(rem) * 1_000_000_000 / u128::from(resolution)) as u32;
    Timestamp::from_secs_nanos((secs as i64).saturating_add(offset_secs), nanos)
}

enum Step {
    Packet(PendingPacket),
    Continue,
    End,
}

enum Failure {
    Eof,
    Incomplete,
    BufferTooSmall,
    UnexpectedEof,
    Read,
    Parse(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcapng_timestamps_honour_resolution_and_offset() {
        assert_eq!(
            ng_timestamp(1_500_000, 1_000_000, 0),
            Timestamp::from_secs_nanos(1, 500_000_000)
        );
        assert_eq!(
            ng_timestamp(3, 2, 10),
            Timestamp::from_secs_nanos(11, 500_000_000)
        );
        assert_eq!(
            ng_timestamp(1_000_000_123, 1_000_000_000, 0),
            Timestamp::from_secs_nanos(1, 123)
        );
    }
}
