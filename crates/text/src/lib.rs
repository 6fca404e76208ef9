//! Chinese text for dangjian: near-duplicate detection of meeting minutes
//! (DOMAIN.md §5, "identical content: minutes copied between meetings or
//! branches").
//!
//! Method: MinHash over character shingles with LSH banding.
//! - Text is normalised first: NFKC (full-width letters, digits and the
//!   ideographic space become their ordinary forms), lower case, and every
//!   character that is not a letter or digit (punctuation, spaces, line
//!   breaks) dropped, so re-punctuating or re-spacing a copy changes nothing.
//! - Shingles are runs of [`SHINGLE`] characters. Characters, not words:
//!   Chinese has no spaces, and a segmenter's choice would change with one
//!   edited character; 3-grams are robust to that and need no dictionary.
//!   Reordering paragraphs keeps almost every shingle (only those across
//!   the seams change), so a reordered copy is still found.
//! - [`Signature`] keeps the minimum of [`HASHES`] hash functions over the
//!   shingle set; the share of equal positions estimates the Jaccard
//!   similarity of the two shingle sets.
//! - [`Signature::band_keys`] cuts it into [`BANDS`] bands of [`ROWS`]; two
//!   texts share at least one band key with probability `1 - (1 - J^ROWS)^BANDS`
//!   (J = 0.8: 95 %, J = 0.85: 99 %, J = 0.3: 0.7 %), so a store indexes the
//!   keys and a check reads the few candidates sharing one, not every text.
//!
//! Rejected: SimHash (a 64-bit fingerprint whose Hamming distance tracks
//! cosine similarity of weighted features; its bit tables need several
//! permuted copies to search and its threshold is harder to explain than
//! "80 % of the text is shared"); word shingles through jieba (segmentation
//! noise around edits, a large dictionary in the binary, no gain for copies).
//!
//! Everything here is pure and deterministic: the hash functions are fixed
//! ([`xxhash_rust::xxh3`] with constant seeds), so stored signatures stay
//! comparable across releases. Changing [`SHINGLE`], [`HASHES`] or the
//! seeds needs every stored signature recomputed ([`SCHEME`] names them).

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// Characters per shingle.
pub const SHINGLE: usize = 3;
/// Hash functions in a signature.
pub const HASHES: usize = 60;
/// LSH bands; [`BANDS`] × [`ROWS`] = [`HASHES`].
pub const BANDS: usize = 10;
/// Signature positions per band.
pub const ROWS: usize = 6;
/// Texts with fewer normalised characters get no signature: a line like
/// "会议按期召开，全体党员参加" recurs honestly in many records, and a few
/// shingles cannot tell a copy from a formula.
pub const MIN_CHARS: usize = 20;
/// Estimated similarity from which two minutes are "nearly identical".
pub const DUPLICATE_THRESHOLD: f64 = 0.8;
/// Names the scheme of stored signatures (stored beside them).
pub const SCHEME: &str = "minhash-c3-60x10";
/// Bytes of [`Signature::to_bytes`].
pub const SIGNATURE_BYTES: usize = HASHES * 4;

const _: () = assert!(BANDS * ROWS == HASHES);

/// The normalised characters of `text`: NFKC, lower case, letters and
/// digits only.
pub fn normalize(text: &str) -> Vec<char> {
    text.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The set of shingle hashes of `text` (empty for an empty text; a text
/// shorter than [`SHINGLE`] is one shingle).
pub fn shingles(text: &str) -> HashSet<u64> {
    let chars = normalize(text);
    let mut out = HashSet::new();
    if chars.is_empty() {
        return out;
    }
    let mut buf = [0u8; SHINGLE * 4];
    let width = SHINGLE.min(chars.len());
    for w in chars.windows(width) {
        let mut n = 0;
        for c in w {
            n += c.encode_utf8(&mut buf[n..]).len();
        }
        out.insert(xxh3_64(&buf[..n]));
    }
    out
}

/// Exact Jaccard similarity of the shingle sets of two texts (the
/// reference the signature estimates; 1.0 for two empty texts).
pub fn jaccard(a: &str, b: &str) -> f64 {
    let (a, b) = (shingles(a), shingles(b));
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let inter = a.intersection(&b).count();
    inter as f64 / (a.len() + b.len() - inter) as f64
}

/// Odd multipliers and offsets of the [`HASHES`] hash functions
/// `h_i(x) = a_i·x + b_i (mod 2^64)`, upper 32 bits; fixed for ever.
fn coefficients() -> &'static [(u64, u64); HASHES] {
    static C: std::sync::OnceLock<[(u64, u64); HASHES]> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let mut c = [(0u64, 0u64); HASHES];
        for (i, slot) in c.iter_mut().enumerate() {
            let a = xxh3_64_with_seed(b"dangjian-minhash-a", i as u64) | 1;
            let b = xxh3_64_with_seed(b"dangjian-minhash-b", i as u64);
            *slot = (a, b);
        }
        c
    })
}

/// A MinHash signature of a text's shingle set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature(pub [u32; HASHES]);

impl Signature {
    /// The signature of `text`, or `None` when it has fewer than
    /// [`MIN_CHARS`] normalised characters.
    pub fn of(text: &str) -> Option<Signature> {
        if normalize(text).len() < MIN_CHARS {
            return None;
        }
        Some(Self::of_shingles(&shingles(text)))
    }

    /// The signature of a shingle set (not empty).
    pub fn of_shingles(set: &HashSet<u64>) -> Signature {
        let mut min = [u32::MAX; HASHES];
        let coef = coefficients();
        for &x in set {
            for (m, &(a, b)) in min.iter_mut().zip(coef.iter()) {
                let h = (a.wrapping_mul(x).wrapping_add(b) >> 32) as u32;
                if h < *m {
                    *m = h;
                }
            }
        }
        Signature(min)
    }

    /// Estimated Jaccard similarity: the share of equal positions.
    pub fn similarity(&self, other: &Signature) -> f64 {
        let eq = self
            .0
            .iter()
            .zip(other.0.iter())
            .filter(|(a, b)| a == b)
            .count();
        eq as f64 / HASHES as f64
    }

    /// Nearly identical: estimated similarity at least [`DUPLICATE_THRESHOLD`].
    pub fn near_duplicate_of(&self, other: &Signature) -> bool {
        self.similarity(other) >= DUPLICATE_THRESHOLD
    }

    /// One key per band (band number and its rows hashed together), for an
    /// index; two signatures are candidates when they share any key.
    pub fn band_keys(&self) -> [i64; BANDS] {
        let mut out = [0i64; BANDS];
        let mut buf = [0u8; 1 + ROWS * 4];
        for (band, key) in out.iter_mut().enumerate() {
            buf[0] = band as u8;
            for (j, v) in self.0[band * ROWS..(band + 1) * ROWS].iter().enumerate() {
                buf[1 + j * 4..5 + j * 4].copy_from_slice(&v.to_le_bytes());
            }
            *key = xxh3_64(&buf) as i64;
        }
        out
    }

    /// Little-endian bytes, [`SIGNATURE_BYTES`] long.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// The signature stored by [`Signature::to_bytes`]; `None` for any other length.
    pub fn from_bytes(b: &[u8]) -> Option<Signature> {
        if b.len() != SIGNATURE_BYTES {
            return None;
        }
        let mut s = [0u32; HASHES];
        for (v, c) in s.iter_mut().zip(b.chunks_exact(4)) {
            *v = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Some(Signature(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTES: &str = "2026年3月15日下午，第一党支部在三楼会议室召开支部党员大会，应到党员12名，实到11名，1名请假。\n\
        会议由支部书记王建国主持。首先，全体党员集中学习了党的二十大报告关于全面从严治党的论述，书记结合本单位实际作了辅导。\n\
        其次，会议听取了张明同志的入党积极分子培养考察情况汇报，与会党员逐一发表意见，一致同意将其列为发展对象。\n\
        最后，会议研究了下季度主题党日活动安排，决定四月组织党员赴革命纪念馆开展现场教学，并安排志愿服务。\n\
        书记强调，各位党员要按时足额交纳党费，积极参加组织生活，发挥先锋模范作用。会议于下午五时结束。";

    const OTHER: &str = "4月20日上午，机关第三党支部开展主题党日活动，组织党员到社区开展垃圾分类宣传志愿服务。\n\
        活动前，支部副书记李华传达了上级关于加强基层治理的通知精神，并就分组分工作出安排。\n\
        党员们分成三个小组，分别在小区入口、菜市场和学校门口设点，向居民发放宣传册三百余份。\n\
        活动结束后召开了简短的交流会，大家谈体会、找差距，表示要把志愿服务常态化。";

    #[test]
    fn identical_minutes_are_duplicates() {
        let a = Signature::of(MINUTES).expect("long enough");
        let b = Signature::of(MINUTES).expect("long enough");
        assert_eq!(a.similarity(&b), 1.0);
        assert!(a.near_duplicate_of(&b));
        assert_eq!(a.band_keys(), b.band_keys());
    }

    #[test]
    fn punctuation_spaces_and_full_width_forms_do_not_matter() {
        let copy = MINUTES
            .replace('，', ",")
            .replace('。', ". ")
            .replace("12", "１２")
            .replace('\n', "\n\n   ");
        assert_eq!(normalize(&copy), normalize(MINUTES));
        assert_eq!(Signature::of(&copy), Signature::of(MINUTES));
    }

    #[test]
    fn small_edits_stay_near_duplicates() {
        // A copy with the date, the names and a number changed.
        let edited = MINUTES
            .replace("3月15日", "6月18日")
            .replace("王建国", "刘德明")
            .replace("实到11名，1名请假", "实到12名");
        let j = jaccard(MINUTES, &edited);
        assert!(j > 0.85, "exact Jaccard {j}");
        let (a, b) = (
            Signature::of(MINUTES).expect("sig"),
            Signature::of(&edited).expect("sig"),
        );
        assert!(a.near_duplicate_of(&b), "estimated {}", a.similarity(&b));
        let shared = a
            .band_keys()
            .iter()
            .filter(|k| b.band_keys().contains(k))
            .count();
        assert!(shared > 0, "an index lookup finds the edited copy");
    }

    #[test]
    fn reordered_paragraphs_stay_near_duplicates() {
        let mut paras: Vec<&str> = MINUTES.lines().collect();
        paras.reverse();
        let reordered = paras.join("\n");
        let (a, b) = (
            Signature::of(MINUTES).expect("sig"),
            Signature::of(&reordered).expect("sig"),
        );
        assert!(jaccard(MINUTES, &reordered) > 0.9);
        assert!(a.near_duplicate_of(&b), "estimated {}", a.similarity(&b));
    }

    #[test]
    fn unrelated_minutes_are_not_duplicates() {
        let (a, b) = (
            Signature::of(MINUTES).expect("sig"),
            Signature::of(OTHER).expect("sig"),
        );
        assert!(jaccard(MINUTES, OTHER) < 0.1);
        assert!(a.similarity(&b) < 0.2, "estimated {}", a.similarity(&b));
        assert!(!a.near_duplicate_of(&b));
    }

    #[test]
    fn half_the_text_copied_is_not_nearly_identical() {
        let half: String = MINUTES.lines().take(2).collect::<Vec<_>>().join("\n");
        let mixed = format!("{half}\n{OTHER}");
        let (a, b) = (
            Signature::of(MINUTES).expect("sig"),
            Signature::of(&mixed).expect("sig"),
        );
        assert!(!a.near_duplicate_of(&b), "estimated {}", a.similarity(&b));
    }

    #[test]
    fn short_texts_get_no_signature() {
        assert_eq!(Signature::of("会议按期召开。"), None);
        assert_eq!(Signature::of(""), None);
        assert_eq!(Signature::of("，。！？   "), None);
        // Exactly MIN_CHARS normalised characters is enough.
        let twenty = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸";
        assert_eq!(normalize(twenty).len(), MIN_CHARS);
        assert!(Signature::of(twenty).is_some());
        assert_eq!(jaccard("", ""), 1.0);
        assert_eq!(shingles("党建").len(), 1);
    }

    #[test]
    fn bytes_round_trip_and_other_lengths_are_refused() {
        let a = Signature::of(MINUTES).expect("sig");
        let b = a.to_bytes();
        assert_eq!(b.len(), SIGNATURE_BYTES);
        assert_eq!(Signature::from_bytes(&b), Some(a));
        assert_eq!(Signature::from_bytes(&b[1..]), None);
    }

    #[test]
    fn signatures_are_stable_across_releases() {
        // Stored signatures must stay comparable: a change of scheme shows here.
        let a = Signature::of(MINUTES).expect("sig");
        let again = Signature::of_shingles(&shingles(MINUTES));
        assert_eq!(a, again);
        let one = Signature::of("一二三四五六七八九十甲乙丙丁戊己庚辛壬癸").expect("sig");
        assert_eq!(one.0.iter().filter(|&&v| v == u32::MAX).count(), 0);
        assert_eq!(SCHEME, "minhash-c3-60x10");
    }
}
