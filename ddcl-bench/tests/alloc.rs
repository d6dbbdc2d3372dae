//! The counting allocator behind the speed section's heap column.

#[global_allocator]
static ALLOC: ddcl_bench::CountingAlloc = ddcl_bench::CountingAlloc;

#[test]
fn the_peak_counts_what_was_live_since_the_reset() {
    let before = vec![1u8; 1 << 20];
    let base = ddcl_bench::reset_heap_peak();
    let big = vec![7u8; 10 << 20];
    drop(big);
    let peak = ddcl_bench::heap_peak_since_reset().expect("installed");
    let grown = peak - base;
    // 10 MiB at least; other test-harness threads may allocate a little meanwhile
    assert!((10 << 20..11 << 20).contains(&grown), "{grown}");
    // a new measurement starts at the live heap, which no longer holds the 10 MiB
    let base2 = ddcl_bench::reset_heap_peak();
    assert!(base2 < base + (1 << 20));
    assert_eq!(before.len(), 1 << 20);
}
