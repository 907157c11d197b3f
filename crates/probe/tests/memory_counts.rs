//! `rss_bytes()` and `peak_rss_bytes()` see memory this process touches.

const TOUCHED: usize = 64 << 20;

#[test]
fn touched_memory_shows_in_the_peak() {
    let rss = probe::threads::rss_bytes().unwrap();
    let peak = probe::threads::peak_rss_bytes().unwrap();
    assert!(rss > 0 && peak >= rss);

    let mut block = vec![0u8; TOUCHED];
    for page in block.chunks_mut(4096) {
        page[0] = 1;
    }
    let touched = block
        .iter()
        .step_by(4096)
        .filter(|&&byte| byte == 1)
        .count();
    assert_eq!(touched, TOUCHED / 4096);
    assert!(probe::threads::rss_bytes().unwrap() >= TOUCHED as u64);
    drop(block);
    assert!(probe::threads::peak_rss_bytes().unwrap() >= TOUCHED as u64);
}
