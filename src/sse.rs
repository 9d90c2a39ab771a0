//! An incremental Server-Sent Events parser: feed it bytes as they arrive, get whole
//! events out. Memory is bounded: a line longer than the limit is dropped, not kept.

/// One event: its `event:` name (empty when absent) and its joined `data:` lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    pub event: String,
    pub data: String,
}

/// Feed bytes in any split; complete events come out in order.
#[derive(Debug)]
pub struct SseParser {
    line: Vec<u8>,
    event: String,
    data: String,
    has_data: bool,
    max_line: usize,
    overflow: bool,
    skip_lf: bool,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new(16 * 1024 * 1024)
    }
}

impl SseParser {
    /// `max_line` bounds how much of one line is kept.
    pub fn new(max_line: usize) -> Self {
        SseParser {
            line: Vec::new(),
            event: String::new(),
            data: String::new(),
            has_data: false,
            max_line,
            overflow: false,
            skip_lf: false,
        }
    }

    /// Parse `chunk`, calling `on_event` for each event it completes. Lines that lie
    /// whole in the chunk are read in place; only a line cut by the chunk's end is
    /// copied, to be completed by the next one.
    pub fn feed(&mut self, chunk: &[u8], mut on_event: impl FnMut(Event)) {
        let mut rest = chunk;
        while let Some((&first, after)) = rest.split_first() {
            if std::mem::take(&mut self.skip_lf) && first == b'\n' {
                rest = after; // the LF of a CRLF
                continue;
            }
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                // An unfinished line: keep it (up to the limit) for the next chunk.
                if self.line.len() + rest.len() > self.max_line {
                    self.overflow = true;
                    self.line.clear();
                } else if !self.overflow {
                    self.line.extend_from_slice(rest);
                }
                return;
            };
            let (head, tail) = rest.split_at(end);
            self.skip_lf = tail[0] == b'\r';
            rest = &tail[1..];
            if std::mem::take(&mut self.overflow) || self.line.len() + head.len() > self.max_line {
                self.line.clear(); // too long: dropped whole
            } else if self.line.is_empty() {
                self.line_done(head, &mut on_event);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(head);
                self.line_done(&line, &mut on_event);
                line.clear();
                self.line = line;
            }
        }
    }

    fn line_done(&mut self, line: &[u8], on_event: &mut impl FnMut(Event)) {
        if line.is_empty() {
            if self.has_data || !self.event.is_empty() {
                on_event(Event {
                    event: std::mem::take(&mut self.event),
                    data: std::mem::take(&mut self.data),
                });
            }
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            return; // comment
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<Event> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, |e| out.push(e));
        }
        out
    }

    #[test]
    fn events_across_splits_and_line_endings() {
        let whole = b"event: message_start\ndata: {\"a\":1}\n\n: ping comment\r\ndata: x\r\ndata: y\r\n\r\ndata: [DONE]\n\n";
        let expected = parse_all(&[whole]);
        assert_eq!(
            expected,
            vec![
                Event {
                    event: "message_start".into(),
                    data: "{\"a\":1}".into()
                },
                Event {
                    event: "".into(),
                    data: "x\ny".into()
                },
                Event {
                    event: "".into(),
                    data: "[DONE]".into()
                },
            ]
        );
        for split in 1..whole.len() {
            let (a, b) = whole.split_at(split);
            assert_eq!(parse_all(&[a, b]), expected, "split at {split}");
        }
    }

    #[test]
    fn overlong_lines_are_dropped() {
        let mut p = SseParser::new(8);
        let mut out = Vec::new();
        p.feed(b"data: 0123456789abcdef\n\ndata: ok\n\n", |e| out.push(e));
        assert_eq!(
            out,
            vec![Event {
                event: "".into(),
                data: "ok".into()
            }]
        );
    }
}
