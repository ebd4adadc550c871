//! The transactions clients submitted to this node, on disk until they are included: a
//! transaction the node acknowledged survives a crash of that node (geth keeps a journal of its
//! local transactions for the same reason). Gossiped transactions are not journaled here; the
//! node they were submitted to journaled them.
//!
//! The file is a sequence of records `u32_le(len) ‖ SHA-256(bytes)[0..4] ‖ bytes`. A record cut
//! short by a crash, or whose checksum fails, ends the journal: everything before it was
//! acknowledged, it was not.
//!
//! What an acknowledgement survives is the node's choice ([`JournalSync`]): the process being
//! killed needs only the record handed to the OS (a `write`: the kernel keeps it whatever becomes
//! of the process); a power loss needs it on the disk (an `fsync`, shared by every appender
//! waiting at the time).

use nvm_primitives::sha256;
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::{
    fs::{File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

/// Largest record the journal reads back (a transaction is far smaller).
const MAX_RECORD: usize = 1 << 20;

/// What a transaction the node acknowledged survives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalSync {
    /// The node's process being killed (kill -9, a panic, an OOM kill): each record is written
    /// to the OS before the acknowledgement, no fsync. A dev node's: anvil keeps nothing at all.
    ProcessCrash,
    /// A power loss or kernel crash too: records are fsynced (group commit) before the
    /// acknowledgement. A validator's.
    PowerLoss,
}

/// The append-only journal of locally submitted transactions.
///
/// One lock guards everything (the file, the counters, who is syncing), so no two paths can
/// take locks in different orders. The fsync itself runs outside the lock: one appender syncs
/// on behalf of every record written before it started, the others wait on `synced` for it
/// (group commit). Compaction keeps the lock for its whole rewrite, so no append runs meanwhile.
pub struct TxJournal {
    path: PathBuf,
    sync: JournalSync,
    state: Mutex<State>,
    /// Notified whenever a sync ends (appenders waiting for theirs check again).
    synced: Condvar,
}

struct State {
    file: Arc<File>,
    /// Bytes and records the current file holds.
    bytes: u64,
    records: usize,
    /// Records ever written since the journal was opened: a sequence that compaction does not
    /// reset, so an appender can tell whether its records are covered.
    written: u64,
    /// How far the sequence is known durable.
    durable: u64,
    /// An appender is syncing (outside the lock); the others wait for it.
    syncing: bool,
    /// Appends and the fsyncs they took (fewer syncs than appends: group commit worked).
    appends: u64,
    syncs: u64,
    /// An fsync failed: what was written since may not be on disk, and a later fsync can report
    /// success without it (the kernel drops the dirty pages). Nothing is acknowledged until a
    /// rewrite puts a whole, synced file in place.
    failed: Option<io::ErrorKind>,
}

impl State {
    fn check(&self) -> io::Result<()> {
        match self.failed {
            Some(kind) => Err(io::Error::new(
                kind,
                "an earlier fsync of the transaction journal failed; waiting for a rewrite",
            )),
            None => Ok(()),
        }
    }
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
    /// tail is dropped and the file rewritten without it. Appends are acknowledged as `sync`
    /// says.
    pub fn open(path: &Path, sync: JournalSync) -> io::Result<(Self, Vec<Vec<u8>>)> {
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
        let state = State {
            file: Arc::new(file),
            bytes: 0,
            records: 0,
            written: 0,
            durable: 0,
            syncing: false,
            appends: 0,
            syncs: 0,
            failed: None,
        };
        let journal = Self {
            path: path.to_path_buf(),
            sync,
            state: Mutex::new(state),
            synced: Condvar::new(),
        };
        journal.rewrite(records.iter().map(Vec::as_slice))?;
        Ok((journal, records))
    }

    /// How many records the file holds (compaction drops the included ones).
    pub fn len(&self) -> usize {
        self.state.lock().records
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends so far and the fsyncs they needed.
    pub fn sync_counts(&self) -> (u64, u64) {
        let state = self.state.lock();
        (state.appends, state.syncs)
    }

    /// Appends transactions and returns once they survive what [`JournalSync`] says.
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
        let mut state = self.state.lock();
        state.check()?;
        if let Err(e) = (&*state.file).write_all(&bytes) {
            // A partial record would end the journal at reopening, hiding every later one.
            let _ = state.file.set_len(state.bytes);
            return Err(e);
        }
        state.bytes += bytes.len() as u64;
        state.records += count;
        state.written += count as u64;
        state.appends += 1;
        let mine = state.written;
        match self.sync {
            JournalSync::ProcessCrash => Ok(()),
            JournalSync::PowerLoss => self.wait_durable(&mut state, mine),
        }
    }

    /// Returns once the records up to `mine` in the sequence are durable: synced by this caller
    /// (covering every record written so far) or by another one, or rewritten by compaction.
    fn wait_durable(&self, state: &mut MutexGuard<'_, State>, mine: u64) -> io::Result<()> {
        while state.durable < mine {
            state.check()?;
            if state.syncing {
                self.synced.wait(state);
                continue;
            }
            state.syncing = true;
            state.syncs += 1;
            let covers = state.written;
            let file = state.file.clone();
            let result = MutexGuard::unlocked(state, || file.sync_data());
            state.syncing = false;
            // A compaction meanwhile rewrote and synced everything written before it.
            let superseded = !Arc::ptr_eq(&file, &state.file);
            match result {
                Ok(()) => state.durable = state.durable.max(covers),
                Err(_) if superseded => {}
                Err(e) => {
                    state.failed = Some(e.kind());
                    self.synced.notify_all();
                    return Err(e);
                }
            }
            self.synced.notify_all();
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
    /// cannot be lost to the rename. `pending` must return every record appended so far that
    /// is still needed (the mempool's local transactions: marked before they are appended).
    pub fn compact<R: AsRef<[u8]>>(
        &self,
        pending: impl FnOnce(usize) -> Option<Vec<R>>,
    ) -> io::Result<()> {
        let mut state = self.state.lock();
        let Some(raws) = pending(state.records) else { return Ok(()) };
        let temp = self.path.with_extension("journal.new");
        let mut bytes = 0;
        {
            let mut file = File::create(&temp)?;
            let mut buffer = io::BufWriter::new(&mut file);
            for raw in &raws {
                let record = record(raw.as_ref());
                buffer.write_all(&record)?;
                bytes += record.len() as u64;
            }
            buffer.flush()?;
            drop(buffer);
            file.sync_all()?;
        }
        std::fs::rename(&temp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        state.file = Arc::new(OpenOptions::new().append(true).open(&self.path)?);
        state.bytes = bytes;
        state.records = raws.len();
        // Every record written so far is now either in the synced file or no longer needed.
        state.durable = state.written;
        state.failed = None;
        self.synced.notify_all();
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
        let (journal, found) = TxJournal::open(&path, JournalSync::PowerLoss).unwrap();
        assert!(found.is_empty());
        journal.append([&b"one"[..], &b"two"[..]]).unwrap();
        journal.append([&b"three"[..]]).unwrap();
        drop(journal);
        // A crash in the middle of the next record: its length is there, its bytes are not.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        drop(file);
        let (journal, found) = TxJournal::open(&path, JournalSync::PowerLoss).unwrap();
        assert_eq!(found, vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
        assert_eq!(journal.len(), 3);
        // Compaction sees the record count and may decline.
        journal.compact::<Vec<u8>>(|records| (records != 3).then(Vec::new)).unwrap();
        assert_eq!(journal.len(), 3);
        journal.rewrite([&b"two"[..]]).unwrap();
        journal.append([&b"four"[..]]).unwrap();
        drop(journal);
        let (_, found) = TxJournal::open(&path, JournalSync::PowerLoss).unwrap();
        assert_eq!(found, vec![b"two".to_vec(), b"four".to_vec()]);
    }

    /// Against a process crash, an acknowledgement needs the record written, not synced: none of
    /// the appends fsyncs, and every record is there when the journal is opened again.
    #[test]
    fn a_process_crash_journal_acknowledges_without_an_fsync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mempool.journal");
        let (journal, _) = TxJournal::open(&path, JournalSync::ProcessCrash).unwrap();
        for i in 0..100u8 {
            journal.append([&[i][..]]).unwrap();
        }
        assert_eq!(journal.sync_counts(), (100, 0));
        // The process dies without closing anything (nothing flushed but what `write` handed
        // to the OS).
        std::mem::forget(journal);
        let (_, found) = TxJournal::open(&path, JournalSync::ProcessCrash).unwrap();
        assert_eq!(found, (0..100u8).map(|i| vec![i]).collect::<Vec<_>>());
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

    /// Appenders on many threads and a compactor in a loop, for a bounded time, the way the
    /// node drives the journal (RPC threads append, the commit loop compacts): every append
    /// returns (no lock cycle, checked by the deadlock detector and a deadline), and every
    /// acknowledged record still pending is in the file when it is opened again.
    #[test]
    fn appenders_racing_a_compactor_neither_block_nor_lose_records() {
        use std::{
            collections::BTreeSet,
            sync::mpsc,
            time::{Duration, Instant},
        };
        assert!(crate::watch_for_deadlocks(), "test builds detect lock cycles");
        const APPENDERS: u32 = 8;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mempool.journal");
        let journal = Arc::new(TxJournal::open(&path, JournalSync::PowerLoss).unwrap().0);
        // The mempool's part: a record is marked pending before it is appended, and included
        // ones leave the pool (compaction may drop them).
        let pending = Arc::new(Mutex::new(BTreeSet::<Vec<u8>>::new()));
        let stop_at = Instant::now() + Duration::from_millis(1_500);
        let (done, finished) = mpsc::channel();
        for thread in 0..APPENDERS {
            let (journal, pending, done) = (journal.clone(), pending.clone(), done.clone());
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let mut n = 0u32;
                while Instant::now() < stop_at {
                    let batch: Vec<Vec<u8>> = (0..1 + n % 4)
                        .map(|i| [thread.to_le_bytes(), (n + i).to_le_bytes()].concat())
                        .collect();
                    n += 1 + n % 4;
                    pending.lock().extend(batch.iter().cloned());
                    journal.append(batch.iter().map(Vec::as_slice)).unwrap();
                    acknowledged.extend(batch);
                }
                done.send(acknowledged).unwrap();
            });
        }
        {
            let (journal, pending, done) = (journal.clone(), pending.clone(), done.clone());
            std::thread::spawn(move || {
                let mut compactions = 0u32;
                while Instant::now() < stop_at {
                    journal
                        .compact(|_| {
                            let mut pending = pending.lock();
                            // Every other pending record was included in a block meanwhile.
                            let included: Vec<Vec<u8>> =
                                pending.iter().step_by(2).cloned().collect();
                            for raw in &included {
                                pending.remove(raw);
                            }
                            Some(pending.iter().cloned().collect::<Vec<_>>())
                        })
                        .unwrap();
                    compactions += 1;
                }
                assert!(compactions > 10, "the compactor ran {compactions} times");
                done.send(Vec::new()).unwrap();
            });
        }
        drop(done);
        let mut acknowledged = Vec::new();
        for _ in 0..=APPENDERS {
            let records = finished
                .recv_timeout(Duration::from_secs(20))
                .expect("an appender or the compactor is stuck (deadlock)");
            acknowledged.extend(records);
        }
        assert!(acknowledged.len() > 1_000, "only {} records appended", acknowledged.len());
        let (appends, syncs) = journal.sync_counts();
        assert!(syncs < appends, "group commit: {syncs} fsyncs for {appends} appends");
        drop(journal);
        let (_, found) = TxJournal::open(&path, JournalSync::PowerLoss).unwrap();
        let found: BTreeSet<Vec<u8>> = found.into_iter().collect();
        let pending = pending.lock();
        for raw in acknowledged.iter().filter(|raw| pending.contains(*raw)) {
            assert!(found.contains(raw), "acknowledged record {} lost", hex::encode(raw));
        }
        let appended: BTreeSet<&Vec<u8>> = acknowledged.iter().collect();
        assert!(found.iter().all(|raw| appended.contains(raw)), "a record nobody appended");
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
