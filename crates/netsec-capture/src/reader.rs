//! Streaming pcap and pcapng reading with bounded memory.
//!
//! The reader hands out one [`RawPacket`] at a time, borrowed from a buffer
//! that grows only as far as the largest block needs (never past
//! [`MAX_BLOCK_BYTES`]), so reading a 10 GB file takes the memory of a
//! 10 MB one.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use netsec_model::{LinkType, RawPacket, Timestamp};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

use crate::blocks::{ChunkedBlocks, CHUNK_BYTES};
use crate::error::CaptureError;
use crate::stats::ReadStats;

/// Largest block the reader will grow its buffer for. pcapng blocks carry
/// one packet each; 16 MiB is far above any real snap length (Wireshark's
/// maximum is 256 KiB) and bounds what a hostile length field can cost.
pub const MAX_BLOCK_BYTES: usize = 16 * 1024 * 1024;
/// Interfaces remembered per pcapng section. Interface ids are 32 bits, so a
/// hostile file could describe billions; later IDBs are counted and ignored.
pub const MAX_INTERFACES: usize = 4096;

/// gzip member magic (RFC 1952 §2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// zstd frame magic (RFC 8878 §3.1.1).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// pcapng Section Header Block type (pcapng §4.1), the same in both byte orders.
const SHB_TYPE: u32 = 0x0A0D_0D0A;
/// pcapng obsolete Packet Block type (pcapng appendix, "Packet Block (obsolete!)").
const OBSOLETE_PACKET_BLOCK: u32 = 0x0000_0002;
/// Default pcapng timestamp resolution: microseconds (pcapng §4.2, if_tsresol).
const DEFAULT_NG_RESOLUTION: u64 = 1_000_000;

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
    inner: ChunkedBlocks,
    compression: Compression,
    /// Where the last packet returned sits in `inner`'s current chunk.
    last_packet: std::ops::Range<usize>,
    /// The last I/O error of the input, which pcap-parser reports only as "read error".
    input_error: Arc<Mutex<Option<String>>>,
    /// Current capacity of the parser's buffer.
    capacity: usize,
    state: ReaderState,
    /// Bytes to consume before parsing the next block.
    consume_next: usize,
    /// Set after the end or an error: every later call returns `Ok(None)`.
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
    /// A header of a version this reader does not understand.
    Unsupported {
        format: &'static str,
        major: u16,
        minor: u16,
    },
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

/// The input after decompression; keeps the last I/O error so that a failure
/// pcap-parser reports only as "read error" can be named (a corrupt gzip
/// member, a failing disk), and retries interrupted reads.
struct InputStream {
    inner: Box<dyn Read + Send>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl Read for InputStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if let Ok(mut slot) = self.last_error.lock() {
                        *slot = Some(e.to_string());
                    }
                    return Err(e);
                }
                ok => return ok,
            }
        }
    }
}

/// Appends from `reader` to `head` until it holds `want` bytes or the input ends.
fn read_until(reader: &mut dyn Read, head: &mut Vec<u8>, want: usize) -> io::Result<()> {
    let mut chunk = [0u8; 4096];
    while head.len() < want {
        let room = (want - head.len()).min(chunk.len());
        let n = match reader.read(&mut chunk[..room]) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        head.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    Ok(())
}

fn u16_at(data: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let b: [u8; 2] = data.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

fn u32_at(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// Bytes needed to hold the whole capture header at the start of `head`:
/// 24 for pcap, the Section Header Block's length for pcapng.
fn header_len(head: &[u8]) -> usize {
    if u32_at(head, 0, false) == Some(SHB_TYPE) {
        // The byte-order magic 1A2B3C4D tells how to read the length (pcapng §4.1).
        let big_endian = head.get(8..12) == Some(&[0x1a, 0x2b, 0x3c, 0x4d][..]);
        u32_at(head, 4, big_endian).map_or(12, |n| (n as usize).clamp(12, MAX_BLOCK_BYTES))
    } else {
        24
    }
}

/// The input ready for pcap-parser.
struct PreparedInput {
    /// Decompressed, with the whole capture header at its front.
    stream: Box<dyn Read + Send>,
    compression: Compression,
    /// Where [`InputStream`] leaves its last error.
    last_error: Arc<Mutex<Option<String>>>,
    /// The first (decompressed) bytes, for messages.
    first_bytes: Vec<u8>,
}

/// Looks at the first bytes, wraps the stream in the right decompressor, and
/// reads the capture header whole (a pipe may deliver it a few bytes at a
/// time; pcap-parser wants it in its first read).
fn prepare_input(
    mut reader: Box<dyn Read + Send>,
    name: &str,
) -> Result<PreparedInput, CaptureError> {
    let io_err = |e: io::Error| CaptureError::Io {
        file: name.to_string(),
        source: e,
    };
    let mut magic = Vec::with_capacity(4);
    read_until(&mut reader, &mut magic, 4).map_err(io_err)?;
    if magic.is_empty() {
        return Err(CaptureError::Empty {
            file: name.to_string(),
        });
    }
    let compression = if magic.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if magic.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    };
    let raw = io::BufReader::with_capacity(64 * 1024, Cursor::new(magic).chain(reader));
    let decoded: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Compression::Zstd => {
            Box::new(ruzstd::decoding::StreamingDecoder::new(raw).map_err(|e| {
                CaptureError::Corrupt {
                    file: name.to_string(),
                    packet: 1,
                    offset: 0,
                    reason: format!("zstd: {e}"),
                }
            })?)
        }
    };
    let last_error = Arc::new(Mutex::new(None));
    let mut stream = InputStream {
        inner: decoded,
        last_error: Arc::clone(&last_error),
    };
    let mut head = Vec::with_capacity(64);
    read_until(&mut stream, &mut head, 12).map_err(io_err)?;
    let want = header_len(&head);
    read_until(&mut stream, &mut head, want).map_err(io_err)?;
    if head.is_empty() {
        return Err(CaptureError::Empty {
            file: name.to_string(),
        });
    }
    Ok(PreparedInput {
        first_bytes: head.iter().take(64).copied().collect(),
        stream: Box::new(Cursor::new(head).chain(stream)),
        compression,
        last_error,
    })
}

/// The first bytes of an unrecognised input, for the error message.
fn describe_head(head: &[u8]) -> String {
    // pcap-parser reads the modified (Kuznetzov) format little-endian only.
    if head.starts_with(&[0xa1, 0xb2, 0xcd, 0x34]) {
        return "big-endian modified (Kuznetzov) pcap is not supported".into();
    }
    let shown: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let printable = head
        .iter()
        .take(64)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    format!(
        "no pcap or pcapng magic; starts with {}{}",
        shown.join(" "),
        if printable { " (text)" } else { "" }
    )
}

impl CaptureReader {
    /// Open a capture file; `-` reads standard input. gzip and zstd are
    /// recognised by their magic bytes and decompressed on the fly; then
    /// pcap or pcapng by theirs.
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
        let PreparedInput {
            stream: reader,
            compression,
            last_error: input_error,
            first_bytes,
        } = prepare_input(reader, name)?;
        let not_a_capture = |reason: String| CaptureError::NotACapture {
            file: name.to_string(),
            reason,
        };
        let inner = match ChunkedBlocks::new(reader) {
            Ok(r) => r,
            Err(PcapError::Eof) => {
                return Err(CaptureError::Empty {
                    file: name.to_string(),
                })
            }
            Err(PcapError::ReadError) => {
                let reason = input_error
                    .lock()
                    .ok()
                    .and_then(|e| e.clone())
                    .unwrap_or_else(|| "read error".into());
                return Err(CaptureError::Io {
                    file: name.to_string(),
                    source: io::Error::other(reason),
                });
            }
            Err(PcapError::Incomplete(_)) => {
                return Err(not_a_capture(format!(
                    "{} bytes, too short for a capture header",
                    first_bytes.len()
                )))
            }
            Err(PcapError::HeaderNotRecognized) => {
                return Err(not_a_capture(describe_head(&first_bytes)))
            }
            Err(e) => return Err(not_a_capture(e.to_string())),
        };
        let stats = ReadStats {
            compression: Some(compression),
            ..ReadStats::default()
        };
        let mut reader = CaptureReader {
            name: name.to_string(),
            inner,
            compression,
            input_error,
            capacity: CHUNK_BYTES,
            last_packet: 0..0,
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
        };
        reader.read_file_header()?;
        Ok(reader)
    }

    /// Reads the pcap header or the first Section Header Block, so that
    /// [`CaptureReader::format`] is known and an unsupported version is
    /// refused before any packet.
    fn read_file_header(&mut self) -> Result<(), CaptureError> {
        let base = self.inner.data().as_ptr() as usize;
        let seen = match self.inner.next() {
            Ok((offset, block)) => self.state.inspect(offset, block, base),
            Err(_) => {
                let head = self.inner.data();
                return Err(CaptureError::NotACapture {
                    file: self.name.clone(),
                    reason: describe_head(head),
                });
            }
        };
        match seen {
            Seen::Skip(offset) => {
                self.inner.consume_noshift(offset);
                Ok(())
            }
            Seen::Unsupported {
                format,
                major,
                minor,
            } => Err(CaptureError::UnsupportedVersion {
                file: self.name.clone(),
                format,
                major,
                minor,
            }),
            Seen::Packet(..) => Err(CaptureError::NotACapture {
                file: self.name.clone(),
                reason: "a packet before the capture header".into(),
            }),
        }
    }

    /// Container format.
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

    /// Bytes of the (decompressed) input consumed so far: the offset of the
    /// block after the last packet returned, for progress reports.
    pub fn offset(&self) -> u64 {
        (self.inner.consumed() + self.consume_next) as u64
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
            packet: self.state.packets + 1,
            offset: self.inner.consumed() as u64,
        }
    }

    fn read_failure(&mut self) -> CaptureError {
        let reason = self
            .input_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .unwrap_or_else(|| "read error".into());
        let what = match self.compression {
            Compression::None => "read error",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        };
        self.corrupt(format!("{what}: {reason}"))
    }

    /// The next packet, or `Ok(None)` at the end of the input.
    ///
    /// Packet numbers count from 1 across the whole input (every section).
    /// `interface` is the index of the packet's interface description within
    /// its pcapng section (as TShark's `frame.interface_id`; 0 for pcap).
    /// Simple Packet Blocks carry no time: their packets have
    /// [`Timestamp::ZERO`].
    /// A truncated file yields every whole packet, then one
    /// [`CaptureError::Truncated`] naming where it stopped; a corrupt one
    /// yields what precedes the damage, then one [`CaptureError::Corrupt`].
    /// After an error every call returns `Ok(None)`. Records whose lengths
    /// are impossible (captured length above the snap length or the
    /// original length, a packet longer than its pcapng block) and pcapng
    /// blocks pcap-parser cannot parse but whose framing is intact are
    /// skipped and counted in [`ReadStats::skipped_malformed`].
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        if self.consume_next > 0 {
            self.inner.consume_noshift(self.consume_next);
            self.consume_next = 0;
        }
        let pending = match self.next_pcap_record() {
            Some(p) => p,
            None => loop {
                match self.next_block()? {
                    Step::Packet(p) => break p,
                    Step::Continue => continue,
                    Step::End => return Ok(None),
                }
            },
        };
        let at = self.inner.chunk_offset();
        self.last_packet = at + pending.start..at + pending.end;
        let data = self
            .inner
            .data()
            .get(pending.start..pending.end)
            .unwrap_or_default();
        Ok(Some(RawPacket {
            number: pending.number,
            ts: pending.ts,
            link_type: pending.link_type,
            interface: pending.interface,
            orig_len: pending.orig_len,
            data,
        }))
    }

    /// Read the input on a helper thread from now on, ahead of parsing
    /// (for multi-threaded pipelines: it takes the kernel's copy of the
    /// input off the parsing thread). Packets, errors and statistics are
    /// exactly as without it.
    pub fn read_ahead(&mut self) {
        self.inner.read_ahead();
    }

    /// The shared chunk of input holding the last packet
    /// [`CaptureReader::next_packet`] returned, and where in it the
    /// packet's bytes are. Another thread may keep the chunk (an `Arc`) and
    /// read the packet from it after the reader has moved on: the reader
    /// never writes to a chunk someone else holds.
    pub fn last_packet_chunk(&self) -> (&Arc<Vec<u8>>, std::ops::Range<usize>) {
        (self.inner.chunk(), self.last_packet.clone())
    }

    /// The common case of a pcap file, on the hot path: a whole record with
    /// honest lengths at the parse position, taken straight from
    /// pcap-parser's record parser without the general block machinery
    /// (block enum, inspection, error recovery). Anything else, including
    /// a record split across chunks, is left to [`Self::next_block`].
    fn next_pcap_record(&mut self) -> Option<PendingPacket> {
        let CaptureFormat::Pcap {
            nanosecond,
            big_endian,
            modified: false,
        } = self.state.format
        else {
            return None;
        };
        let data = self.inner.data();
        let parsed = if big_endian {
            pcap_parser::parse_pcap_frame_be(data)
        } else {
            pcap_parser::parse_pcap_frame(data)
        };
        let (rest, record) = parsed.ok()?;
        let (link_type, snaplen) = self.state.pcap_link;
        // The same checks as the general path (ReaderState::inspect): a
        // record that lies about its length goes there to be counted.
        if record.caplen > record.origlen || (snaplen >= 64 && record.caplen > snaplen) {
            return None;
        }
        let frac = if nanosecond {
            record.ts_usec
        } else {
            record.ts_usec.saturating_mul(1000)
        };
        let ts = Timestamp::from_secs_nanos(i64::from(record.ts_sec), frac);
        let (start, end) = range_in(data.as_ptr() as usize, record.data);
        let offset = data.len() - rest.len();
        match self
            .state
            .finish_packet(offset, ts, link_type, 0, record.origlen, start, end)
        {
            Seen::Packet(offset, p) => {
                self.consume_next = offset;
                Some(p)
            }
            _ => None,
        }
    }

    fn next_block(&mut self) -> Result<Step, CaptureError> {
        let base = self.inner.data().as_ptr() as usize;
        let failure = match self.inner.next() {
            Ok((offset, block)) => match self.state.inspect(offset, block, base) {
                Seen::Skip(offset) => {
                    self.inner.consume_noshift(offset);
                    return Ok(Step::Continue);
                }
                Seen::Packet(offset, p) => {
                    self.consume_next = offset;
                    return Ok(Step::Packet(p));
                }
                Seen::Unsupported {
                    format,
                    major,
                    minor,
                } => {
                    self.done = true;
                    return Err(CaptureError::UnsupportedVersion {
                        file: self.name.clone(),
                        format,
                        major,
                        minor,
                    });
                }
            },
            Err(PcapError::Eof) => {
                self.done = true;
                return Ok(Step::End);
            }
            Err(PcapError::ReadError) => Failure::Read,
            Err(PcapError::Incomplete(_) | PcapError::BufferTooSmall) => Failure::Incomplete,
            Err(PcapError::UnexpectedEof) => Failure::Exhausted,
            Err(e) => Failure::Parse(e.to_string()),
        };
        self.recover(failure)
    }

    /// After pcap-parser could not return a block: read more, grow the
    /// buffer for a large block, skip a malformed block whose framing is
    /// intact, or give up with a named error.
    fn recover(&mut self, failure: Failure) -> Result<Step, CaptureError> {
        if matches!(failure, Failure::Read) {
            return Err(self.read_failure());
        }
        let framed = self.state.framed_len(self.inner.data());
        let available = self.inner.data().len();
        match framed {
            Frame::Bad(ref reason) => return Err(self.corrupt(reason.clone())),
            Frame::Len(len) if len > MAX_BLOCK_BYTES => {
                return Err(self.corrupt(format!(
                    "record of {len} bytes, above the {MAX_BLOCK_BYTES}-byte limit (a corrupt length field?)"
                )))
            }
            Frame::Len(len) if available >= len => {
                // The whole block is here, yet it does not parse.
                return match self.state.skippable(self.inner.data(), len) {
                    Ok(()) => {
                        self.state.stats.skipped_malformed += 1;
                        self.inner.consume_noshift(len);
                        Ok(Step::Continue)
                    }
                    Err(reason) => {
                        let detail = match failure {
                            Failure::Parse(e) => format!("{reason} ({e})"),
                            _ => reason,
                        };
                        Err(self.corrupt(detail))
                    }
                };
            }
            Frame::Len(len) => {
                if len > self.capacity {
                    let want = len.next_power_of_two().min(MAX_BLOCK_BYTES).max(len);
                    if self.inner.grow(want) {
                        self.capacity = want;
                    }
                }
            }
            Frame::Unknown => {}
        }
        if let Failure::Parse(ref reason) = failure {
            // With a sane length, read on until the block is whole and skip it.
            if !matches!(framed, Frame::Len(_)) || self.inner.reader_exhausted() {
                return Err(self.corrupt(reason.clone()));
            }
        }
        if matches!(failure, Failure::Exhausted) || self.inner.reader_exhausted() {
            if available == 0 {
                self.done = true;
                return Ok(Step::End);
            }
            return Err(self.truncated());
        }
        if self.inner.refill().is_err() {
            return Err(self.read_failure());
        }
        Ok(Step::Continue)
    }
}

/// What the bytes at the parse position say about the length of the next
/// record, read without pcap-parser.
enum Frame {
    /// Too few bytes to tell.
    Unknown,
    /// The record's length, headers included.
    Len(usize),
    /// A length that cannot be (framing lost).
    Bad(String),
}

impl ReaderState {
    /// The length the record header at the start of `data` announces.
    fn framed_len(&self, data: &[u8]) -> Frame {
        match self.format {
            CaptureFormat::Pcap {
                big_endian,
                modified,
                ..
            } => {
                // Record header: ts_sec, ts_frac, caplen, origlen; the
                // modified format adds ifindex, protocol, pkt_type, pad (8 bytes).
                let header = if modified { 24 } else { 16 };
                match u32_at(data, 8, big_endian) {
                    Some(caplen) => Frame::Len((caplen as usize).saturating_add(header)),
                    None => Frame::Unknown,
                }
            }
            CaptureFormat::PcapNg => {
                let Some(block_type) = u32_at(data, 0, self.section_big_endian) else {
                    return Frame::Unknown;
                };
                let big_endian = if block_type == SHB_TYPE {
                    match data.get(8..12) {
                        Some([0x1a, 0x2b, 0x3c, 0x4d]) => true,
                        Some([0x4d, 0x3c, 0x2b, 0x1a]) => false,
                        Some(_) => {
                            return Frame::Bad("section header with no byte-order magic".into())
                        }
                        None => return Frame::Unknown,
                    }
                } else {
                    self.section_big_endian
                };
                match u32_at(data, 4, big_endian) {
                    // pcapng §3.1: a block is at least 12 bytes, a multiple of 4.
                    Some(len) if len < 12 || len % 4 != 0 => Frame::Bad(format!(
                        "block length {len} is not a multiple of 4 of at least 12"
                    )),
                    Some(len) => Frame::Len(len as usize),
                    None => Frame::Unknown,
                }
            }
        }
    }

    /// Whether a whole block of `len` bytes that pcap-parser refused can be
    /// stepped over: only pcapng blocks other than a section header, whose
    /// trailing length repeats the leading one.
    fn skippable(&self, data: &[u8], len: usize) -> Result<(), String> {
        match self.format {
            CaptureFormat::Pcap { .. } => Err("malformed record".into()),
            CaptureFormat::PcapNg => {
                let lead = u32_at(data, 4, self.section_big_endian);
                let trail = u32_at(data, len.saturating_sub(4), self.section_big_endian);
                if u32_at(data, 0, self.section_big_endian) == Some(SHB_TYPE) {
                    Err("malformed section header".into())
                } else if lead != trail {
                    Err(format!(
                        "block lengths disagree ({} then {})",
                        lead.unwrap_or(0),
                        trail.unwrap_or(0)
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Look at one parsed block: remember headers and interfaces, turn
    /// packet blocks into a [`PendingPacket`] (the bytes stay in the buffer).
    fn inspect(&mut self, offset: usize, block: PcapBlockOwned<'_>, base: usize) -> Seen {
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.format = CaptureFormat::Pcap {
                    nanosecond: h.is_nanosecond_precision(),
                    big_endian: h.is_bigendian(),
                    modified: h.is_modified_format(),
                };
                self.stats.format = Some(self.format);
                // libpcap reads major version 2 only (savefile.c).
                if h.version_major != 2 {
                    return Seen::Unsupported {
                        format: "pcap",
                        major: h.version_major,
                        minor: h.version_minor,
                    };
                }
                // The low 16 bits are the link type; the high bits may carry
                // an FCS length (pcap file format draft, LinkType and additional information).
                let lt = LinkType::from_number(h.network.0 as u32 & 0xffff);
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
                // (Snap lengths below 64 are themselves bogus and not trusted.)
                if b.caplen > b.origlen || (snaplen >= 64 && b.caplen > snaplen) {
                    self.stats.skipped_malformed += 1;
                    return Seen::Skip(offset);
                }
                let frac = if nanos {
                    b.ts_usec
                } else {
                    b.ts_usec.saturating_mul(1000)
                };
                let ts = Timestamp::from_secs_nanos(i64::from(b.ts_sec), frac);
                let (start, end) = range_in(base, b.data);
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
        self.stats.bytes += end.saturating_sub(start) as u64;
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

    fn interface(&mut self, id: u32) -> Option<Interface> {
        let iface = self.interfaces.get(id as usize).copied();
        if iface.is_none() {
            self.stats.skipped_malformed += 1;
            self.stats.unknown_interface += 1;
        }
        iface
    }

    fn inspect_ng(&mut self, offset: usize, block: Block<'_>, base: usize) -> Seen {
        match block {
            Block::SectionHeader(shb) => {
                self.format = CaptureFormat::PcapNg;
                self.stats.format = Some(self.format);
                // Wireshark reads major version 1 only (pcapng §4.1: a
                // different major version means an incompatible format).
                if shb.major_version != 1 {
                    return Seen::Unsupported {
                        format: "pcapng",
                        major: shb.major_version,
                        minor: shb.minor_version,
                    };
                }
                // Interfaces are numbered per section (pcapng §4.2).
                self.interfaces.clear();
                self.section_big_endian = shb.big_endian();
                self.stats.sections += 1;
                self.stats.comments += count_comments(&shb.options);
                Seen::Skip(offset)
            }
            Block::InterfaceDescription(idb) => {
                let lt = LinkType::from_number(u32::from(idb.linktype.0 as u16));
                self.stats.note_interface(lt);
                self.stats.comments += count_comments(&idb.options);
                if self.interfaces.len() >= MAX_INTERFACES {
                    self.stats.skipped_malformed += 1;
                    return Seen::Skip(offset);
                }
                self.interfaces.push(Interface {
                    link_type: lt,
                    snaplen: idb.snaplen,
                    resolution: ng_resolution(idb.if_tsresol).unwrap_or(DEFAULT_NG_RESOLUTION),
                    offset_secs: idb.if_tsoffset,
                });
                Seen::Skip(offset)
            }
            Block::EnhancedPacket(epb) => {
                let comments = count_comments(&epb.options);
                self.stats.comments += comments;
                self.stats.packet_comments += comments;
                let Some(iface) = self.interface(epb.if_id) else {
                    return Seen::Skip(offset);
                };
                // pcapng §4.3: the captured length is at most the original
                // length and the interface's snap length (0: no limit).
                if epb.caplen > epb.origlen || (iface.snaplen != 0 && epb.caplen > iface.snaplen) {
                    self.stats.skipped_malformed += 1;
                    return Seen::Skip(offset);
                }
                let ts = ng_timestamp(
                    (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low),
                    iface.resolution,
                    iface.offset_secs,
                );
                let (start, end) = range_in(base, epb.data);
                let end = end.min(start.saturating_add(epb.caplen as usize));
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
                let Some(iface) = self.interface(0) else {
                    return Seen::Skip(offset);
                };
                let (start, end) = range_in(base, spb.data);
                // Captured length: the original length cut to the snap length
                // (0 means no limit), within the block's padded data.
                let caplen = if iface.snaplen == 0 {
                    spb.origlen
                } else {
                    spb.origlen.min(iface.snaplen)
                };
                let end = end.min(start.saturating_add(caplen as usize));
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
            // pcap-parser keeps an unknown block's type as read little-endian.
            Block::Unknown(ub)
                if ub.block_type == OBSOLETE_PACKET_BLOCK
                    || (self.section_big_endian
                        && ub.block_type.swap_bytes() == OBSOLETE_PACKET_BLOCK) =>
            {
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

    /// The obsolete Packet Block (type 2, pcapng appendix A): interface id
    /// (16 bits), drops count (16 bits), timestamp high and low, captured
    /// length, original length, data, options.
    fn inspect_obsolete_packet(&mut self, offset: usize, body: &[u8], base: usize) -> Seen {
        let big_endian = self.section_big_endian;
        let parsed = (|| {
            let if_id = u16_at(body, 0, big_endian)?;
            let ts = (u64::from(u32_at(body, 4, big_endian)?) << 32)
                | u64::from(u32_at(body, 8, big_endian)?);
            let caplen = u32_at(body, 12, big_endian)? as usize;
            let origlen = u32_at(body, 16, big_endian)?;
            let data = body.get(20..20usize.checked_add(caplen)?)?;
            Some((if_id, ts, origlen, data))
        })();
        let Some((if_id, ts, origlen, data)) = parsed else {
            self.stats.skipped_malformed += 1;
            return Seen::Skip(offset);
        };
        let Some(iface) = self.interface(u32::from(if_id)) else {
            return Seen::Skip(offset);
        };
        let (start, end) = range_in(base, data);
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

/// Where `data` (a slice of the parser's buffer) lies relative to `base`,
/// the start of that buffer.
fn range_in(base: usize, data: &[u8]) -> (usize, usize) {
    let start = (data.as_ptr() as usize).saturating_sub(base);
    (start, start.saturating_add(data.len()))
}

fn count_comments(options: &[pcap_parser::pcapng::PcapNGOption<'_>]) -> u64 {
    options
        .iter()
        .filter(|o| o.code == pcap_parser::pcapng::OptionCode::Comment)
        .count() as u64
}

/// Units per second for an if_tsresol value (pcapng §4.2): with the high
/// bit clear a negative power of 10, with it set a negative power of 2.
/// `None` when the value does not fit 64 bits.
///
/// (pcap-parser 0.17's `ts_resolution()` refuses every power of 2, so this
/// is done here.)
fn ng_resolution(tsresol: u8) -> Option<u64> {
    let exponent = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exponent)
    } else {
        1u64.checked_shl(exponent).filter(|_| exponent < 64)
    }
}

/// A pcapng timestamp in `resolution` units per second, plus an offset in
/// seconds, as nanoseconds since the epoch.
fn ng_timestamp(units: u64, resolution: u64, offset_secs: i64) -> Timestamp {
    let resolution = resolution.max(1);
    let secs = i64::try_from(units / resolution).unwrap_or(i64::MAX);
    let rem = units % resolution;
    let nanos = u32::try_from(u128::from(rem) * 1_000_000_000 / u128::from(resolution))
        .unwrap_or(999_999_999);
    Timestamp::from_secs_nanos(secs.saturating_add(offset_secs), nanos)
}

enum Step {
    Packet(PendingPacket),
    Continue,
    End,
}

enum Failure {
    /// More bytes are needed (the block may also need a larger buffer).
    Incomplete,
    /// More bytes are needed but the input has ended.
    Exhausted,
    /// The input failed to read (or to decompress).
    Read,
    /// pcap-parser refused the bytes.
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
            ng_timestamp(1_000_000_123, 1_000_000_000, -1),
            Timestamp::from_secs_nanos(0, 123)
        );
        assert_eq!(
            ng_timestamp(u64::MAX, 1, i64::MAX).secs(),
            i64::MAX / 1_000_000_000
        );
    }

    #[test]
    fn tsresol_powers_of_ten_and_two() {
        assert_eq!(ng_resolution(6), Some(1_000_000));
        assert_eq!(ng_resolution(9), Some(1_000_000_000));
        assert_eq!(ng_resolution(0x80 | 10), Some(1024));
        assert_eq!(ng_resolution(0x80 | 63), Some(1 << 63));
        assert_eq!(ng_resolution(20), None);
        assert_eq!(ng_resolution(0x80 | 64), None);
        // 2^-10 s units: 1536 units are 1.5 s.
        assert_eq!(
            ng_timestamp(1536, ng_resolution(0x80 | 10).unwrap_or(1), 0),
            Timestamp::from_secs_nanos(1, 500_000_000)
        );
    }

    #[test]
    fn header_length_of_pcapng_follows_the_byte_order_magic() {
        let le = [0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a];
        let be = [0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 28, 0x1a, 0x2b, 0x3c, 0x4d];
        assert_eq!(header_len(&le), 28);
        assert_eq!(header_len(&be), 28);
        assert_eq!(header_len(&[0xd4, 0xc3, 0xb2, 0xa1]), 24);
    }
}
