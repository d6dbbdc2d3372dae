//! The bench's feature cache: any file is read back as states of the right shape or ignored
//! (and then encoded again), never a panic.

/// Reads `data` as a cached feature file; the first byte is the example count asked for.
pub fn run(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let path = super::scratch::file("features.safetensors", rest);
    if let Some(states) = ddcl_bench::read_cached(&path, n as usize) {
        let (b, t, _) = states.hidden.dims3().expect("hidden is (B, T, D)");
        assert_eq!(states.mask.dims(), [b, t]);
        assert_eq!(b, n as usize);
    }
}
