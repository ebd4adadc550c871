//! The transactions clients submitted to this node, on disk until they are included: a
//! transaction the node acknowledged survives a crash of that node (geth keeps a journal of its
//! local transactions for the same reason). Gossiped transactions are not journaled here; the
//! node they were submitted to journaled them.
//!
//! The file is a sequence of records `u32_le(len) ‖ SHA-256(bytes)[0..4] ‖ bytes`. A record cut
//! short by a crash, or whose checksum fails, ends the journal: everything before it was
//! acknowledged, it was not.

use nvm_primitives::sha256;
use parking_lot::Mutex;
use std::{
    fs::{File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

/// Largest record the journal reads back (a transaction is far smaller).
const MAX_RECORD: usize = 1 << 20;

/// The append-only journal of locally submitted transactions.
pub struct TxJournal {
    path: PathBuf,
    /// The open file and how many records it holds.
    file: Mutex<(File, usize)>,
    /// Serialises fsyncs; holds the count of records known durable, so one fsync covers every
    /// append that was written before it started (group commit).
    synced: Mutex<usize>,
}

fn record(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 8);
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(&sha256(raw)[..4]);
    out.extend_from_slice(raw);
    out
}

/// The records of `bytes` up to the first torn or corrupt one.
fn parse(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 8 {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > MAX_RECORD || rest.len() < 8 + len {
            break;
        }
        let raw = &rest[8..8 + len];
        if sha256(raw)[..4] != rest[4..8] {
            break;
        }
        out.push(raw.to_vec());
        rest = &rest[8 + len..];
    }
    out
}

impl TxJournal {
    /// Opens (or creates) the journal at `path` and returns the transactions it holds; a torn
    /// tail is dropped and the file rewritten without it.
    pub fn open(path: &Path) -> io::Result<(Self, Vec<Vec<u8>>)> {
        let mut bytes = Vec::new();
        match File::open(path) {
            Ok(mut file) => {
                file.read_to_end(&mut bytes)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let records = parse(&bytes);
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let journal = Self {
            path: path.to_path_buf(),
            file: Mutex::new((file, records.len())),
            synced: Mutex::new(records.len()),
        };
        journal.rewrite(records.iter().map(Vec::as_slice))?;
        Ok((journal, records))
    }

    /// How many records the file holds (compaction drops the included ones).
    pub fn len(&self) -> usize {
        self.file.lock().1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends transactions and returns once they are durable.
    pub fn append<'a>(&self, raws: impl IntoIterator<Item = &'a [u8]>) -> io::Result<()> {
        let mut bytes = Vec::new();
        let mut count = 0;
        for raw in raws {
            bytes.extend(record(raw));
            count += 1;
        }
        if count == 0 {
            return Ok(());
        }
        let (written, file) = {
            let mut guard = self.file.lock();
            guard.0.write_all(&bytes)?;
            guard.1 += count;
            (guard.1, guard.0.try_clone()?)
        };
        let mut synced = self.synced.lock();
        if *synced < written {
            // Everything written before this point is covered, including other callers' appends.
            let covered = self.file.lock().1;
            file.sync_data()?;
            *synced = covered;
        }
        Ok(())
    }

    /// Replaces the journal with `raws`: written to a new file, synced, then renamed over the
    /// old one, so a crash leaves one or the other whole.
    pub fn rewrite<'a>(&self, raws: impl IntoIterator<Item = &'a [u8]>) -> io::Result<()> {
        let raws: Vec<&[u8]> = raws.into_iter().collect();
        self.compact(|_| Some(raws))
    }

    /// Rewrites the journal with what `pending` returns, given the journal's record count (`None`:
    /// leave it). No append runs meanwhile: one acknowledged while `pending` was computed
    /// cannot be lost to the rename.
    pub fn compact<R: AsRef<[u8]>>(
        &self,
        pending: impl FnOnce(usize) -> Option<Vec<R>>,
    ) -> io::Result<()> {
        let mut guard = self.file.lock();
        let mut synced = self.synced.lock();
        let Some(raws) = pending(guard.1) else { return Ok(()) };
        let temp = self.path.with_extension("journal.new");
        {
            let mut file = File::create(&temp)?;
            let mut buffer = io::BufWriter::new(&mut file);
            for raw in &raws {
                buffer.write_all(&record(raw.as_ref()))?;
            }
            buffer.flush()?;
            drop(buffer);
            file.sync_all()?;
        }
        std::fs::rename(&temp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        *guard = (OpenOptions::new().append(true).open(&self.path)?, raws.len());
        *synced = raws.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mempool.journal");
        let (journal, found) = TxJournal::open(&path).unwrap();
        assert!(found.is_empty());
        journal.append([&b"one"[..], &b"two"[..]]).unwrap();
        journal.append([&b"three"[..]]).unwrap();
        drop(journal);
        // A crash in the middle of the next record: its length is there, its bytes are not.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        drop(file);
        let (journal, found) = TxJournal::open(&path).unwrap();
        assert_eq!(found, vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
        assert_eq!(journal.len(), 3);
        // Compaction sees the record count and may decline.
        journal.compact::<Vec<u8>>(|records| (records != 3).then(Vec::new)).unwrap();
        assert_eq!(journal.len(), 3);
        journal.rewrite([&b"two"[..]]).unwrap();
        journal.append([&b"four"[..]]).unwrap();
        drop(journal);
        let (_, found) = TxJournal::open(&path).unwrap();
        assert_eq!(found, vec![b"two".to_vec(), b"four".to_vec()]);
    }

    #[test]
    fn a_corrupt_record_ends_the_journal() {
        let mut bytes = record(b"kept");
        let mut bad = record(b"flipped");
        bad[9] ^= 1;
        bytes.extend(bad);
        bytes.extend(record(b"after"));
        assert_eq!(parse(&bytes), vec![b"kept".to_vec()]);
    }

    proptest::proptest! {
        /// Any bytes parse without a panic into whole records; written records read back as
        /// they were, followed by whatever garbage.
        #[test]
        fn parse_is_total_and_reads_back_what_was_written(
            raws in proptest::collection::vec(proptest::collection::vec(0u8.., 0..64), 0..8),
            tail in proptest::collection::vec(0u8.., 0..16),
        ) {
            let mut bytes: Vec<u8> = raws.iter().flat_map(|r| record(r)).collect();
            bytes.extend(&tail);
            let found = parse(&bytes);
            proptest::prop_assert!(found.len() >= raws.len());
            proptest::prop_assert_eq!(&found[..raws.len()], &raws[..]);
            let _ = parse(&tail);
        }
    }
}
