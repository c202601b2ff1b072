//! Length-prefixed framing of a TCP byte stream, shared by the parsers whose
//! messages start with a header giving their length (NetBIOS session
//! service for SMB, DCE-RPC's common header, Kerberos's record mark): whole
//! frames in a segment are handed over in place; a frame split across
//! segments is buffered up to the part the parser reads; the rest of long
//! frames is skipped without being buffered; framing lost to a gap or a bad
//! header is recovered on the first segment that starts a frame again.

/// Framing state of one direction.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    /// The start of a frame not complete yet (≤ the part parsed).
    buf: Vec<u8>,
    /// Bytes of the current frame still to skip.
    skip: usize,
    /// Framing lost: wait for a segment that starts a frame.
    desync: bool,
}

/// How a protocol frames its messages.
pub(crate) trait Framing {
    /// Header bytes needed to know a frame's length.
    const HEADER: usize;
    /// (whole frame length, bytes of it to parse) from a complete header;
    /// `None` for a header that is not this protocol's.
    fn frame(header: &[u8]) -> Option<(usize, usize)>;
    /// Whether a segment starts a frame (to resynchronise on).
    fn starts_frame(data: &[u8]) -> bool;
}

impl Framer {
    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Feed stream bytes; `on_frame` receives each frame's parsed part (its
    /// header included). Returns the framing errors met.
    pub(crate) fn feed<F: Framing>(
        &mut self,
        mut data: &[u8],
        mut on_frame: impl FnMut(&[u8]),
    ) -> u64 {
        let mut errors = 0;
        loop {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = data.get(n..).unwrap_or(&[]);
            }
            if data.is_empty() {
                break;
            }
            if self.desync {
                if !F::starts_frame(data) {
                    break;
                }
                self.desync = false;
            }
            if self.buf.is_empty() && data.len() >= F::HEADER {
                // The header is whole in the segment: the frame may be too.
                let Some((total, parsed)) = F::frame(data) else {
                    self.desync = true;
                    errors += 1;
                    continue;
                };
                if data.len() >= parsed {
                    let (frame, rest) = data.split_at(parsed);
                    data = rest;
                    self.skip = total - parsed;
                    on_frame(frame);
                    continue;
                }
                self.buf.extend_from_slice(data);
                break;
            }
            // Complete the header, then the part parsed.
            if self.buf.len() < F::HEADER {
                let take = (F::HEADER - self.buf.len()).min(data.len());
                let (head, rest) = data.split_at(take);
                self.buf.extend_from_slice(head);
                data = rest;
                if self.buf.len() < F::HEADER {
                    break;
                }
            }
            let Some((total, parsed)) = F::frame(&self.buf) else {
                self.buf.clear();
                self.desync = true;
                errors += 1;
                continue;
            };
            let take = parsed.saturating_sub(self.buf.len()).min(data.len());
            let (head, rest) = data.split_at(take);
            self.buf.extend_from_slice(head);
            data = rest;
            if self.buf.len() < parsed {
                break;
            }
            self.skip = total - parsed;
            on_frame(&self.buf);
            self.buf.clear();
        }
        errors
    }

    /// `len` bytes missing: inside skipped data only shortens the skip;
    /// elsewhere framing is lost until a segment starts a frame again.
    pub(crate) fn gap(&mut self, len: u64) {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if self.buf.is_empty() && self.skip > len {
            self.skip -= len;
        } else {
            self.buf.clear();
            self.skip = 0;
            self.desync = true;
        }
    }

    /// Bytes buffered now.
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }
}
