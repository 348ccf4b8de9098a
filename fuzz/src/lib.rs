//! Helpers shared by the fuzz targets: cutting an input into pieces, so a
//! target can check that a push parser gives the same result however its
//! bytes arrive.

/// A small deterministic generator seeded from the input itself, so a crash
/// file reproduces the exact cuts that found it.
pub struct Rng(u64);

impl Rng {
    pub fn from_bytes(data: &[u8]) -> Self {
        // FNV-1a: cheap, and any change to the input changes the cuts.
        Self(data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)))
    }

    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// `data` cut at up to `max_cuts` random points (empty pieces included).
pub fn random_pieces<'a>(data: &'a [u8], rng: &mut Rng, max_cuts: u64) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = (0..=rng.below(max_cuts + 1)).map(|_| rng.below(data.len() as u64 + 1) as usize).collect();
    cuts.sort_unstable();
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        out.push(&data[start..cut]);
        start = cut;
    }
    out.push(&data[start..]);
    out
}

/// Ways to deliver `data`: whole first, then at a few random cuts, at many,
/// and one byte at a time for short inputs (for long ones that would cost
/// most of the executions, and the many-cuts delivery covers the same
/// boundaries over a run).
pub fn deliveries(data: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut rng = Rng::from_bytes(data);
    let mut out = vec![vec![data], random_pieces(data, &mut rng, 8), random_pieces(data, &mut rng, 128)];
    if data.len() <= 256 {
        out.push(data.chunks(1).collect());
    }
    out
}

/// A provider stream decoder fed `data` whole and cut every other way: the
/// parts, with the end of the body and any decoding failure, must not
/// depend on where the body was cut.
pub fn check_provider_decoder<D: headstart::provider::StreamDecoder>(data: &[u8], new: impl Fn() -> D) {
    let decode = |pieces: &[&[u8]]| {
        let mut dec = new();
        let mut parts = Vec::new();
        for piece in pieces {
            parts.extend(dec.feed(piece));
        }
        parts.extend(dec.end());
        (parts, dec.failure())
    };
    let deliveries = deliveries(data);
    let (whole, rest) = deliveries.split_first().expect("the whole input comes first");
    let want = decode(whole);
    for pieces in rest {
        assert_eq!(decode(pieces), want, "cut into {pieces:?}");
    }
}
