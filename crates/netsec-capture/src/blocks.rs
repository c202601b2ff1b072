//! The reader's input buffer: pcap-parser's block parsers over reference-
//! counted chunks of the input, so that packets can be handed to other
//! threads without copying their bytes.
//!
//! pcap-parser's own streaming readers keep one private buffer that each
//! refill overwrites. [`ChunkedBlocks`] implements the same
//! [`PcapReaderIterator`] contract with the same parsers, but its buffer is an
//! `Arc<Vec<u8>>`: a refill moves on to a fresh chunk (recycled once nobody
//! holds it) and leaves the previous one intact for whoever still reads
//! packets out of it. Memory stays bounded: chunks are recycled, and callers
//! bound how many they keep.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread;

use pcap_parser::nom::{self, Needed};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
    LegacyPcapBlock, PcapBlockOwned, PcapError, PcapHeader,
};

/// Bytes read per chunk (grown for a larger block).
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// Chunks kept for reuse.
const SPARE_CHUNKS: usize = 8;
/// Read ahead: room left before the data of each chunk, where the end of
/// the previous chunk (a record cut in two) is put back in front.
const HEADROOM: usize = 64 * 1024;
/// Read ahead: chunks filled and waiting.
const CHUNKS_AHEAD: usize = 2;

/// A chunk the read-ahead thread filled: the buffer, and how many bytes it
/// read after [`HEADROOM`] (0 at the end of the input).
type Filled = io::Result<(Vec<u8>, usize)>;

/// Where refills come from.
enum Source {
    /// `read(2)` on this thread, into the chunk.
    Direct(Box<dyn Read + Send>),
    /// Chunks a helper thread has already read (see [`ChunkedBlocks::read_ahead`]).
    Ahead {
        filled: Receiver<Filled>,
        /// Buffers going back to the helper for reuse.
        empty: SyncSender<Vec<u8>>,
    },
}

type LegacyParser = fn(&[u8]) -> nom::IResult<&[u8], LegacyPcapBlock<'_>, PcapError<&[u8]>>;

/// What the input holds, as its first bytes say.
enum Layout {
    /// pcap: the header (returned as the first block) and the record parser
    /// for its byte order and variant.
    Legacy {
        header: PcapHeader,
        parse: LegacyParser,
    },
    /// pcapng: the byte order of the current section.
    Ng { big_endian: bool },
}

/// A [`PcapReaderIterator`] whose buffer is a shared chunk of the input.
pub struct ChunkedBlocks {
    input: Source,
    chunk: Arc<Vec<u8>>,
    /// Bytes of `chunk` read from the input.
    valid: usize,
    /// Parse position in `chunk`.
    pos: usize,
    consumed: usize,
    exhausted: bool,
    /// Size of the chunks allocated from now on.
    chunk_len: usize,
    /// Chunks handed on, reused once no one else holds them.
    spare: Vec<Arc<Vec<u8>>>,
    layout: Layout,
}

/// Read once into `buf`, retrying interrupted reads; 0 at the end.
fn read_some(input: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

impl ChunkedBlocks {
    /// Read the first chunk and recognise pcap or pcapng, with the errors
    /// pcap-parser's `create_reader` gives.
    pub fn new(mut input: Box<dyn Read + Send>) -> Result<ChunkedBlocks, PcapError<&'static [u8]>> {
        let mut first = vec![0u8; CHUNK_BYTES];
        let valid = read_some(&mut input, &mut first).map_err(|_| PcapError::ReadError)?;
        if valid == 0 {
            return Err(PcapError::Eof);
        }
        let head = first.get(..valid).unwrap_or_default();
        let layout = if parse_sectionheaderblock(head).is_ok() {
            Layout::Ng { big_endian: false }
        } else {
            match parse_pcap_header(head) {
                Ok((_, header)) => {
                    let parse: LegacyParser = if header.is_modified_format() {
                        parse_pcap_frame_modified
                    } else if header.is_bigendian() {
                        parse_pcap_frame_be
                    } else {
                        parse_pcap_frame
                    };
                    Layout::Legacy { header, parse }
                }
                Err(nom::Err::Incomplete(Needed::Size(n))) => {
                    return Err(PcapError::Incomplete(n.into()))
                }
                Err(nom::Err::Incomplete(Needed::Unknown)) => return Err(PcapError::Incomplete(0)),
                Err(_) => return Err(PcapError::HeaderNotRecognized),
            }
        };
        Ok(ChunkedBlocks {
            input: Source::Direct(input),
            chunk: Arc::new(first),
            valid,
            pos: 0,
            consumed: 0,
            exhausted: false,
            chunk_len: CHUNK_BYTES,
            spare: Vec::new(),
            layout,
        })
    }

    /// The chunk the unparsed data sits in (and every packet returned since
    /// the last refill).
    pub fn chunk(&self) -> &Arc<Vec<u8>> {
        &self.chunk
    }

    /// Offset of the parse position in [`ChunkedBlocks::chunk`].
    pub fn chunk_offset(&self) -> usize {
        self.pos
    }

    /// From now on a helper thread reads the input: the next chunks are
    /// being read while this thread parses the current one, so the kernel's
    /// copy (a third of a single-threaded run on a warm page cache) moves
    /// off the parsing thread. Chunks come over by hand-off, not copied;
    /// only a record cut by a chunk boundary is copied, into the headroom
    /// in front of the next chunk. Memory stays bounded: at most
    /// `CHUNKS_AHEAD` chunks wait, and buffers are returned for reuse.
    pub fn read_ahead(&mut self) {
        let Source::Direct(input) = &mut self.input else {
            return;
        };
        let mut input = std::mem::replace(input, Box::new(io::empty()));
        if self.exhausted {
            return;
        }
        let (filled_tx, filled) = sync_channel::<Filled>(CHUNKS_AHEAD);
        let (empty, empty_rx) = sync_channel::<Vec<u8>>(SPARE_CHUNKS + CHUNKS_AHEAD);
        let spawned = thread::Builder::new()
            .name("netsec-read-ahead".into())
            .spawn(move || loop {
                let mut buf = empty_rx
                    .try_recv()
                    .unwrap_or_else(|_| vec![0u8; HEADROOM + CHUNK_BYTES]);
                let mut n = 0;
                let space = buf.get_mut(HEADROOM..).unwrap_or_default();
                while n < space.len() {
                    match read_some(&mut input, space.get_mut(n..).unwrap_or_default()) {
                        Ok(0) => break,
                        Ok(k) => n += k,
                        Err(e) => {
                            let _ = filled_tx.send(Err(e));
                            return;
                        }
                    }
                }
                // The parser hung up, or this was the end: stop either way.
                if filled_tx.send(Ok((buf, n))).is_err() || n == 0 {
                    return;
                }
            });
        // If the thread could not start, the input went with it: the
        // channel is closed and the next refill fails with a read error.
        drop(spawned);
        self.input = Source::Ahead { filled, empty };
    }

    /// Refill from the read-ahead thread: the next chunk becomes current,
    /// with the unparsed end of this one copied into its headroom.
    fn refill_ahead(&mut self) -> Result<(), PcapError<&[u8]>> {
        let Source::Ahead { filled, empty } = &self.input else {
            return Err(PcapError::ReadError);
        };
        let (mut buf, n) = match filled.recv() {
            Ok(Ok(f)) => f,
            Ok(Err(_)) => return Err(PcapError::ReadError),
            // The helper hangs up only after sending the end of the input
            // (after which nothing refills) or an error; gone without
            // either, it could not start or died: fail, never cut short
            // in silence.
            Err(_) => return Err(PcapError::ReadError),
        };
        if n == 0 {
            self.exhausted = true;
            return Ok(());
        }
        let carry = self.valid.saturating_sub(self.pos);
        let rest = self.chunk.get(self.pos..self.valid).unwrap_or_default();
        let (start, end) = if carry <= HEADROOM {
            let start = HEADROOM - carry;
            if let Some(dst) = buf.get_mut(start..HEADROOM) {
                dst.copy_from_slice(rest);
            }
            (start, HEADROOM + n)
        } else {
            // A record longer than the headroom spans chunks: join them.
            let mut joined = Vec::with_capacity(carry + n);
            joined.extend_from_slice(rest);
            joined.extend_from_slice(buf.get(HEADROOM..HEADROOM + n).unwrap_or_default());
            let _ = empty.try_send(std::mem::replace(&mut buf, joined));
            (0, buf.len())
        };
        let previous = std::mem::replace(&mut self.chunk, Arc::new(buf));
        self.pos = start;
        self.valid = end;
        // Give back every buffer no one holds any more.
        self.spare.push(previous);
        let mut i = 0;
        while i < self.spare.len() {
            if self.spare.get(i).is_some_and(|c| Arc::strong_count(c) == 1) {
                let free = self.spare.swap_remove(i);
                if let Ok(b) = Arc::try_unwrap(free) {
                    if b.len() == HEADROOM + CHUNK_BYTES {
                        let _ = empty.try_send(b);
                    }
                }
            } else {
                i += 1;
            }
        }
        if self.spare.len() > SPARE_CHUNKS {
            self.spare.remove(0);
        }
        Ok(())
    }

    /// A buffer of at least `len` bytes no one else holds: the current chunk
    /// if it is not shared, a spare one that came back, or a new one.
    fn fresh_buffer(&mut self, len: usize) -> Vec<u8> {
        if let Some(i) = self
            .spare
            .iter()
            .position(|c| Arc::strong_count(c) == 1 && c.len() >= len)
        {
            let reusable = self.spare.swap_remove(i);
            if let Ok(buf) = Arc::try_unwrap(reusable) {
                return buf;
            }
        }
        vec![0u8; len]
    }
}

/// A parse that ran out of bytes: the end of the input, or of the chunk.
fn incomplete<'a>(needed: Needed, at_end: bool) -> PcapError<&'a [u8]> {
    if at_end {
        return PcapError::UnexpectedEof;
    }
    match needed {
        Needed::Size(n) => PcapError::Incomplete(n.into()),
        Needed::Unknown => PcapError::Incomplete(0),
    }
}

impl PcapReaderIterator for ChunkedBlocks {
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&[u8]>> {
        if let Layout::Legacy { header, .. } = &self.layout {
            if self.consumed == 0 {
                return Ok((header.size(), PcapBlockOwned::from(header.clone())));
            }
        }
        let at_end = self.exhausted;
        let data = self.chunk.get(self.pos..self.valid).unwrap_or_default();
        if data.is_empty() && at_end {
            return Err(PcapError::Eof);
        }
        match &mut self.layout {
            Layout::Legacy { parse, .. } => match parse(data) {
                Ok((rest, block)) => Ok((data.len() - rest.len(), PcapBlockOwned::from(block))),
                Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
                Err(nom::Err::Incomplete(n)) => Err(incomplete(n, at_end)),
            },
            Layout::Ng { big_endian } => {
                let parse = if *big_endian {
                    parse_block_be
                } else {
                    parse_block_le
                };
                match parse(data) {
                    Ok((rest, block)) => {
                        if let Block::SectionHeader(shb) = &block {
                            *big_endian = shb.big_endian();
                        }
                        Ok((data.len() - rest.len(), PcapBlockOwned::from(block)))
                    }
                    Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
                    Err(nom::Err::Incomplete(n)) => Err(incomplete(n, at_end)),
                }
            }
        }
    }

    fn consume(&mut self, offset: usize) {
        self.consume_noshift(offset);
    }

    fn consume_noshift(&mut self, offset: usize) {
        let step = offset.min(self.valid.saturating_sub(self.pos));
        self.pos += step;
        self.consumed += step;
    }

    fn consumed(&self) -> usize {
        self.consumed
    }

    /// Move the unparsed bytes to the front of a chunk no one else holds
    /// (this one, when it is not shared) and read after them.
    fn refill(&mut self) -> Result<(), PcapError<&[u8]>> {
        if self.exhausted {
            return Ok(());
        }
        if matches!(self.input, Source::Ahead { .. }) {
            return self.refill_ahead();
        }
        let carry = self.valid.saturating_sub(self.pos);
        let len = self.chunk_len.max(carry + CHUNK_BYTES / 4);
        if let Some(buf) = Arc::get_mut(&mut self.chunk).filter(|b| b.len() >= len) {
            buf.copy_within(self.pos..self.valid, 0);
        } else {
            let mut buf = self.fresh_buffer(len);
            if let (Some(dst), Some(src)) =
                (buf.get_mut(..carry), self.chunk.get(self.pos..self.valid))
            {
                dst.copy_from_slice(src);
            }
            let previous = std::mem::replace(&mut self.chunk, Arc::new(buf));
            if Arc::strong_count(&previous) > 1 {
                if self.spare.len() >= SPARE_CHUNKS {
                    self.spare.remove(0);
                }
                self.spare.push(previous);
            }
        }
        self.pos = 0;
        self.valid = carry;
        let Some(buf) = Arc::get_mut(&mut self.chunk) else {
            return Err(PcapError::ReadError);
        };
        let space = buf.get_mut(carry..).unwrap_or_default();
        let Source::Direct(input) = &mut self.input else {
            return Err(PcapError::ReadError);
        };
        let n = read_some(input, space).map_err(|_| PcapError::ReadError)?;
        self.exhausted = n == 0;
        self.valid += n;
        Ok(())
    }

    fn position(&self) -> usize {
        self.pos
    }

    fn grow(&mut self, new_size: usize) -> bool {
        self.chunk_len = self.chunk_len.max(new_size);
        true
    }

    fn data(&self) -> &[u8] {
        self.chunk.get(self.pos..self.valid).unwrap_or_default()
    }

    fn reader_exhausted(&self) -> bool {
        self.exhausted
    }
}
