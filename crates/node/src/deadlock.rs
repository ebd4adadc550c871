//! Lock cycles found while tests run: with the `deadlock-detection` feature, parking_lot tracks
//! which thread holds and waits for which lock, and a checker thread aborts the whole process
//! (after printing every thread of the cycle with its backtrace) as soon as a cycle appears, so a
//! deadlock fails the test that hit it instead of hanging it. Without the feature, nothing runs.
//!
//! parking_lot's search misses a cycle that other threads are also waiting on (a "tail": its
//! depth-first search only reports a back edge onto a thread, and entering the cycle from a
//! waiting thread first reaches it through a lock), so the node's tests bound their waits too,
//! and the stall watcher (`nvm_consensus::watch_for_stalls`) reports whatever still hangs.

/// How often the checker looks for a cycle.
#[cfg(feature = "deadlock-detection")]
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Starts the checker (once per process; later calls do nothing). Returns whether this build
/// detects deadlocks.
pub fn watch_for_deadlocks() -> bool {
    #[cfg(feature = "deadlock-detection")]
    {
        static STARTED: std::sync::Once = std::sync::Once::new();
        STARTED.call_once(|| {
            let spawned =
                std::thread::Builder::new().name("nvm-deadlock-check".into()).spawn(check_forever);
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start the deadlock checker");
            }
        });
        true
    }
    #[cfg(not(feature = "deadlock-detection"))]
    false
}

#[cfg(feature = "deadlock-detection")]
fn check_forever() {
    loop {
        std::thread::sleep(CHECK_EVERY);
        let cycles = parking_lot::deadlock::check_deadlock();
        if cycles.is_empty() {
            continue;
        }
        let mut report = format!("{} lock cycle(s) found:\n", cycles.len());
        for (i, threads) in cycles.iter().enumerate() {
            for thread in threads {
                report.push_str(&format!(
                    "cycle {i}, thread {:?}:\n{:?}\n",
                    thread.thread_id(),
                    thread.backtrace()
                ));
            }
        }
        tracing::error!("{report}");
        // Straight to the file descriptor: a test harness captures `eprintln!`, and its buffer
        // dies with the process.
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "DEADLOCK: {report}");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use parking_lot::Mutex;
    use std::{
        io::Read,
        process::{Command, Stdio},
        sync::Arc,
        time::{Duration, Instant},
    };

    /// Set in the child process that deadlocks on purpose.
    const CHILD: &str = "NVM_DEADLOCK_CHILD";

    /// Two threads taking two locks in opposite orders: the checker must abort the process and
    /// name the cycle (the test runs itself as a child process, which is the one that dies).
    #[test]
    fn a_lock_cycle_aborts_the_process_and_names_its_threads() {
        if std::env::var_os(CHILD).is_some() {
            assert!(super::watch_for_deadlocks());
            let (a, b) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
            let (a2, b2) = (a.clone(), b.clone());
            let other = std::thread::spawn(move || {
                let _b = b2.lock();
                std::thread::sleep(Duration::from_millis(100));
                let _a = a2.lock();
            });
            let _a = a.lock();
            std::thread::sleep(Duration::from_millis(100));
            let _b = b.lock();
            let _ = other.join();
            return;
        }
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "deadlock::tests::a_lock_cycle_aborts_the_process_and_names_its_threads",
            ])
            .env(CHILD, "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the deadlocked child was not stopped by the checker within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert!(!status.success(), "the deadlocked child exited normally");
        assert!(stderr.contains("DEADLOCK: 1 lock cycle(s) found"), "{stderr}");
        assert!(stderr.matches("cycle 0, thread").count() == 2, "{stderr}");
    }
}
