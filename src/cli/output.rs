//! How commands print: aligned tables or one JSON document, colours only on a terminal.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

/// Where a command's results go. With `--json`, stdout carries exactly one document.
pub struct Output {
    pub json: bool,
    color: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        let color = !json
            && io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Output { json, color }
    }

    /// Print a JSON document (used when `--json` is on).
    pub fn json<T: Serialize>(&self, value: &T) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.line(&text)
    }

    /// Print a line of text on stdout.
    pub fn line(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        writeln!(out, "{text}")
    }

    /// Print either the JSON document or the human text.
    pub fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) -> io::Result<()> {
        if self.json {
            self.json(value)
        } else {
            self.line(human().trim_end_matches('\n'))
        }
    }

    /// Colour a status word: green for good, red for bad, yellow for in between.
    pub fn status(&self, word: &str) -> String {
        if !self.color {
            return word.to_string();
        }
        let code = match word {
            "enabled" | "closed" | "healthy" | "ok" | "up" | "active" => "32",
            "disabled" | "open" | "unhealthy" | "down" | "expired" | "error" | "auth_failed" => {
                "31"
            }
            _ => "33",
        };
        format!("\x1b[{code}m{word}\x1b[0m")
    }

    pub fn bold(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// A text table with aligned columns. Widths ignore ANSI colour codes.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: Vec<&'static str>) -> Self {
        Table {
            headers,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(visible_len(cell));
                }
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header).chain(self.rows.iter()) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < row.len() {
                    let pad = widths[i].saturating_sub(visible_len(cell)) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_ignores_colour() {
        let mut t = Table::new(vec!["ID", "STATUS", "NAME"]);
        t.row(vec![
            "a".into(),
            "\x1b[32menabled\x1b[0m".into(),
            "x".into(),
        ]);
        t.row(vec!["bbbb".into(), "off".into(), "y".into()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ID    STATUS   NAME");
        assert_eq!(lines[2], "bbbb  off      y");
        assert_eq!(visible_len(lines[1]), "a     enabled  x".len());
    }
}
