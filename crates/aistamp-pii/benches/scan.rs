//! Criterion benchmarks of `Scanner::scan` on clean and PII-dense prose, at
//! two sizes to show that the cost is linear in the input.

mod support {
    pub(crate) mod corpus;
}

use aistamp_pii::Scanner;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use support::corpus;

fn scan(c: &mut Criterion) {
    let scanner = Scanner::new();
    let mut group = c.benchmark_group("scan");
    group.sample_size(20);
    for size in [1_000_000, 10_000_000] {
        let clean = corpus::clean(0x5eed, size);
        let (dense, _) = corpus::dense(0x5eed, size);
        for (name, text) in [("clean", &clean), ("dense", &dense)] {
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(BenchmarkId::new(name, size), text, |b, text| {
                b.iter(|| scanner.scan(text))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
