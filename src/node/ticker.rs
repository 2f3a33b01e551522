//! The executor's clock: deadline scheduling at a fixed rate (sleep most of the way, spin the
//! rest), counting the ticks a stall skipped. The node's executor and the bare timer of
//! `ndp bench jitter` (the machine's own stalls, measured with the same code) share it.

use std::time::{Duration, Instant};

/// How long to sleep before spinning to a deadline: OS sleeps overshoot by tens of us.
const SPIN_MARGIN: Duration = Duration::from_micros(150);

pub struct Ticker {
    period: Duration,
    deadline: Instant,
}

/// What one wait saw.
pub struct Wake {
    /// Whole periods that had already passed when the tick's work ended (skipped ticks).
    pub skipped: u64,
    /// How late the wake-up came after its deadline.
    pub lateness: Duration,
}

impl Ticker {
    /// The first deadline one period from now.
    pub fn new(period: Duration) -> Self {
        Ticker {
            period,
            deadline: Instant::now() + period,
        }
    }

    /// The nominal start of the tick being worked on (the deadline it woke at).
    pub fn tick_start(&self) -> Instant {
        self.deadline - self.period
    }

    /// Waits for the next deadline. A tick whose work ran past whole periods skips them (they
    /// are counted, not made up in a burst).
    pub fn wait(&mut self) -> Wake {
        let late = Instant::now().saturating_duration_since(self.deadline);
        let mut skipped = 0;
        if late > self.period {
            skipped = (late.as_nanos() / self.period.as_nanos()) as u64;
            self.deadline += self.period * skipped as u32;
        }
        let wait = self.deadline.saturating_duration_since(Instant::now());
        if wait > SPIN_MARGIN {
            std::thread::sleep(wait - SPIN_MARGIN);
        }
        while Instant::now() < self.deadline {
            std::hint::spin_loop();
        }
        let lateness = Instant::now().saturating_duration_since(self.deadline);
        self.deadline += self.period;
        Wake { skipped, lateness }
    }
}

/// Real-time scheduling (SCHED_FIFO at `priority`) for the calling thread, as ros2_control
/// asks for its update thread.
pub fn realtime(priority: i32) -> std::io::Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: sets the scheduling policy of the calling thread from a plain struct.
    let rc = unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Pins the calling thread (the executor) to `cpu` and every other thread of the process to
/// the other CPUs; threads started later inherit their creator's CPUs, so they stay off it too.
/// The executor then never waits for another thread's kernel work on its CPU (without full
/// kernel preemption a page fault or an munmap there runs to its end before a real-time thread
/// gets the CPU).
pub fn isolate_on(cpu: usize) -> std::io::Result<()> {
    // SAFETY: sysconf reads a number.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    if n < 2 || cpu >= n {
        return Err(std::io::Error::other(format!(
            "needs a CPU other than {cpu} for the rest and {cpu} < {n} CPUs online"
        )));
    }
    let set = |only: bool| {
        // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write within it.
        let mut s: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for c in 0..n {
            if (c == cpu) == only {
                unsafe { libc::CPU_SET(c, &mut s) };
            }
        }
        s
    };
    let (mine, rest) = (set(true), set(false));
    // SAFETY: gettid has no arguments.
    let me = unsafe { libc::gettid() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    for entry in std::fs::read_dir("/proc/self/task")? {
        let Some(tid) = entry?
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<i32>().ok())
        else {
            continue;
        };
        let s = if tid == me { &mine } else { &rest };
        // SAFETY: sets the affinity of one thread of this process from a valid cpu_set_t.
        if unsafe { libc::sched_setaffinity(tid, size, s) } != 0 {
            let e = std::io::Error::last_os_error();
            // A thread that ended meanwhile is not an error.
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(e);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_skips_whole_periods_and_the_next_deadline_stays_on_the_grid() {
        let period = Duration::from_millis(2);
        let mut t = Ticker::new(period);
        let start = t.tick_start();
        assert_eq!(t.wait().skipped, 0);
        // Work that overruns by more than two periods.
        std::thread::sleep(period * 3 + period / 2);
        let w = t.wait();
        assert!(w.skipped >= 2, "skipped {}", w.skipped);
        // Deadlines stay on start + n * period.
        let since = t.tick_start() - start;
        assert_eq!(since.as_nanos() % period.as_nanos(), 0, "{since:?}");
    }

    fn affinity(tid: i32) -> Vec<usize> {
        // SAFETY: reads one thread's affinity into a plain cpu_set_t.
        unsafe {
            let mut s: libc::cpu_set_t = std::mem::zeroed();
            libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut s);
            (0..64).filter(|&c| libc::CPU_ISSET(c, &s)).collect()
        }
    }

    #[test]
    fn isolation_gives_the_executor_its_cpu_and_the_others_the_rest() {
        // SAFETY: sysconf reads a number.
        let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) } as usize;
        assert!(isolate_on(n).is_err(), "a CPU that is not there is refused");
        if n < 2 {
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let other = std::thread::spawn(move || {
            // SAFETY: gettid has no arguments.
            tx.send(unsafe { libc::gettid() }).unwrap();
            std::thread::park();
        });
        let other_tid = rx.recv().unwrap();
        let exec = std::thread::spawn(move || {
            isolate_on(n - 1).unwrap();
            affinity(0)
        })
        .join()
        .unwrap();
        assert_eq!(exec, [n - 1]);
        assert!(!affinity(other_tid).contains(&(n - 1)));
        assert!(!affinity(other_tid).is_empty());
        other.thread().unpark();
        other.join().unwrap();
        // Every CPU again for this test process's threads.
        let all: Vec<usize> = (0..n).collect();
        for e in std::fs::read_dir("/proc/self/task").unwrap() {
            let tid: i32 = e.unwrap().file_name().to_str().unwrap().parse().unwrap();
            // SAFETY: sets one thread's affinity from a plain cpu_set_t.
            unsafe {
                let mut s: libc::cpu_set_t = std::mem::zeroed();
                for &c in &all {
                    libc::CPU_SET(c, &mut s);
                }
                libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &s);
            }
        }
    }
}
