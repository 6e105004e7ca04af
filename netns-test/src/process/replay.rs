//! The child's output, replayed in the parent through `print!` so libtest's capture holds it.
//!
//! ```ignore
//! let mut replay = Replay::default();
//! replay.push(b"half a li");
//! replay.push(b"ne\nand a partial one");
//! replay.finish(); // prints "half a line\n", then "and a partial one\n"
//! ```
//!
//! Whole lines at a time (so a multi-byte character is never split), in linear time: only new
//! bytes are searched for a newline, and a line longer than [`MAX_PENDING`] is passed on in
//! pieces cut at a character boundary.

/// The most bytes held back waiting for a newline.
const MAX_PENDING: usize = 64 * 1024;
/// How much of the end of the output is kept for the report page.
const TAIL: usize = 64 * 1024;

#[derive(Default)]
pub(super) struct Replay(Vec<u8>, Vec<u8>);

impl Replay {
    /// The last [`TAIL`] bytes or so of everything pushed (more when one push was bigger).
    pub(super) fn tail(&self) -> String {
        String::from_utf8_lossy(&self.1).into_owned()
    }

    pub(super) fn push(&mut self, bytes: &[u8]) {
        if self.1.len() + bytes.len() > 2 * TAIL {
            let drop = (self.1.len() + bytes.len()).saturating_sub(TAIL).min(self.1.len());
            self.1.drain(..drop);
        }
        self.1.extend_from_slice(bytes);
        let before = self.0.len();
        self.0.extend_from_slice(bytes);
        let cut = match bytes.iter().rposition(|&b| b == b'\n') {
            Some(i) => before + i + 1,
            None if self.0.len() > MAX_PENDING => match std::str::from_utf8(&self.0) {
                Ok(_) => self.0.len(),
                // An incomplete character at the end waits for its other bytes.
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => self.0.len(),
            },
            None => return,
        };
        print!("{}", String::from_utf8_lossy(&self.0[..cut]));
        self.0.drain(..cut);
    }

    /// Prints what is left (a last line without newline), with a newline.
    pub(super) fn finish(&mut self) {
        if !self.0.is_empty() {
            println!("{}", String::from_utf8_lossy(&self.0));
            self.0.clear();
        }
    }
}
