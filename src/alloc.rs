//! Settings for mimalloc, the binaries' global allocator.

/// mimalloc's option number for the purge delay (`mi_option_purge_delay` in mimalloc.h, v2
/// and v3 alike; the Rust bindings do not name it).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc's option number for the arena reservation size, in KiB (`mi_option_arena_reserve`,
/// v2 and v3 alike).
const ARENA_RESERVE: libmimalloc_sys::mi_option_t = 23;

/// Reserves address space in 64 MiB arenas instead of mimalloc's 1 GiB default, so that the
/// process's data size (what RLIMIT_DATA counts) follows what it uses: a node of ~40 MB then
/// shows ~100 MB of data instead of ~1.1 GB, and `memory_limit_mb` can be set tight.
/// Call first thing in `main`.
pub fn small_arenas() {
    // SAFETY: sets one integer option.
    unsafe { libmimalloc_sys::mi_option_set(ARENA_RESERVE, 64 * 1024) };
}

/// Keeps freed pages mapped instead of returning them to the OS a second after the free.
/// A train step (and a node's policy call) frees and reallocates the same multi-megabyte
/// buffers every few milliseconds; each purge made the kernel fault and zero those pages
/// again (2 MB huge pages here), a few per digit train step and ~5 % of its time. The cost
/// is that the process keeps its peak heap, which training and the node reach within their
/// first steps anyway. Call first thing in `main`.
pub fn keep_freed_pages() {
    // SAFETY: sets one integer option; valid at any time.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
}

/// Caps this process's data memory (heap and private mappings, RLIMIT_DATA) at `mb` MiB, so
/// that a peer claiming huge DDS samples (RustDDS allocates what a forged DATA_FRAG's sample
/// size says) ends this process with an allocation failure instead of exhausting the machine.
pub fn limit_data_mb(mb: usize) -> std::io::Result<()> {
    let bytes = (mb as u64).saturating_mul(1 << 20) as libc::rlim_t;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write one plain struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_DATA, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // Never above the hard limit the process was given (raising it needs privileges).
    lim.rlim_cur = bytes.min(lim.rlim_max);
    if unsafe { libc::setrlimit(libc::RLIMIT_DATA, &lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The purge delay now in effect, in milliseconds (-1: never).
pub fn purge_delay_ms() -> i64 {
    // SAFETY: reads one integer option.
    unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) as i64 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn purge_delay_is_the_option_we_set() {
        // mimalloc's documented default is 10 ms (v2) or 1000 ms (v3): a wrong option number
        // would read some other option's value instead.
        let before = super::purge_delay_ms();
        assert!(
            before == 10 || before == 1000 || before == -1,
            "read {before}"
        );
        super::keep_freed_pages();
        assert_eq!(super::purge_delay_ms(), -1);
    }

    #[test]
    fn arena_reserve_is_the_option_we_set() {
        // The documented default is 1 GiB, in KiB; another option would read otherwise.
        // SAFETY: reads and sets one integer option.
        let before = unsafe { libmimalloc_sys::mi_option_get(super::ARENA_RESERVE) };
        assert!(before == 1 << 20 || before == 64 * 1024, "read {before}");
        super::small_arenas();
        let after = unsafe { libmimalloc_sys::mi_option_get(super::ARENA_RESERVE) };
        assert_eq!(after, 64 * 1024);
    }
}
