//! Times the first `TestPki::new()` and the first leaf in a fresh process, as a crate that
//! depends on certlab sees them, then the same again (warm), and prints one line of numbers.

use std::time::Instant;

use certlab::TestPki;

fn main() {
    let start = Instant::now();
    let mut pki = TestPki::new();
    let first_pki = start.elapsed();
    let start = Instant::now();
    pki.server(["localhost"]).issue().expect("a leaf");
    let first_leaf = start.elapsed();
    let start = Instant::now();
    let mut again = TestPki::new();
    again.server(["localhost"]).issue().expect("a leaf");
    let warm = start.elapsed();
    println!(
        "first TestPki::new {:.2} ms, first leaf {:.2} ms, then both again {:.2} ms",
        first_pki.as_secs_f64() * 1e3,
        first_leaf.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3
    );
}
