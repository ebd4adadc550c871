//! Child processes with a deadline: a client script or CLI call that hangs is killed (with every
//! process it started) and reported with what it printed, instead of holding the suite.

use std::{
    io::Read,
    os::unix::process::CommandExt,
    process::{Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// What a bounded process printed, and how it ended (`None`: killed at its deadline).
pub struct Finished {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Runs `command` to its end, or kills it and every process it started after `within`.
/// Standard input is closed; standard output and error are collected.
pub fn run_within(command: &mut Command, within: Duration) -> std::io::Result<Finished> {
    // Its own process group, so that a `node --test` and the workers it starts die together.
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let group = child.id() as i32;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Also after a normal exit: a straggler it left behind would keep the pipes open.
    // SAFETY: kill(2) with a negative pid signals the process group we created above.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let _ = child.wait();
    let collect = |rx: mpsc::Receiver<String>| {
        rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| "(output not closed)".into())
    };
    Ok(Finished { status, stdout: collect(stdout), stderr: collect(stderr) })
}

/// Reads a pipe to its end on a thread of its own; the text arrives on the channel.
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}

/// Polls `probe` every `every` until it gives a value; `None` once `within` has passed.
pub fn poll<T>(
    within: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}
