//! What the root crate's benchmarks share (a module of each, not a benchmark of its own).

/// The median of `v` (sorted in place): the middle sample, or the mean of the two middle ones.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    }
}
