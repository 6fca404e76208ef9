//! Signed notes, checkpoints and cosignatures against published vectors:
//! golang.org/x/mod/sumdb/note (`note_test.go`: the PeterNeumann and EnochRoot
//! keys and notes), transparency-dev/formats (`note/note_cosigv1_test.go`: a
//! type-0x04 verifier key and a cosignature timestamp), and the examples of
//! c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature.

use dangjian_ledger::checkpoint::Checkpoint;
use dangjian_ledger::error::Error;
use dangjian_ledger::hash::leaf_hash;
use dangjian_ledger::note::{Cosigner, KeyType, Note, NoteSignature, Signer, Verifier};
use dangjian_ledger::tree::{HashStore, MemoryStore};
use dangjian_ledger::verify::verify_consistency;
use ed25519_dalek::SigningKey;

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter() -> Verifier {
    Verifier::from_vkey(PETER_VKEY).unwrap()
}

fn enoch() -> Verifier {
    Verifier::from_vkey(ENOCH_VKEY).unwrap()
}

#[test]
fn go_signer_key_reproduces_the_go_note_byte_for_byte() {
    let signer = Signer::from_skey(PETER_SKEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.verifier().to_vkey(), PETER_VKEY);
    assert_eq!(signer.to_skey(), PETER_SKEY);
    let mut note = Note::new(TEXT).unwrap();
    note.sign(&signer).unwrap();
    assert_eq!(note.to_string(), format!("{TEXT}\n{PETER_SIG}"));
    // Signing again replaces, not duplicates, the signature.
    note.sign(&signer).unwrap();
    assert_eq!(note.signatures().len(), 1);
}

#[test]
fn go_note_verifies_and_unknown_signatures_are_ignored() {
    let message = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let note = Note::parse(&message).unwrap();
    assert_eq!(note.text(), TEXT);
    assert_eq!(note.to_string(), message);
    assert_eq!(note.signatures()[1].key_id(), 0xaf0cfe78);

    let verified = note.verify(&peter()).unwrap();
    assert_eq!(
        (verified.name.as_str(), verified.key_id),
        ("PeterNeumann", 0xc74f20a3)
    );
    assert_eq!(verified.timestamp, None);
    assert_eq!(note.verify_any(&[peter()]).unwrap().len(), 1);
    assert_eq!(note.verify_any(&[peter(), enoch()]).unwrap().len(), 2);
    assert!(matches!(note.verify_any(&[]), Err(Error::NoKnownSignature)));
    assert!(matches!(
        note.verify_any(&[enoch(), peter(), enoch()]),
        Err(Error::AmbiguousKey { .. })
    ));
    // Only Peter signed: Enoch's key finds nothing.
    let only_peter = Note::parse(&format!("{TEXT}\n{PETER_SIG}")).unwrap();
    assert!(matches!(
        only_peter.verify(&enoch()),
        Err(Error::NoKnownSignature)
    ));
}

#[test]
fn go_invalid_and_malformed_notes_are_rejected() {
    let corrupted = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let note = Note::parse(&corrupted).unwrap();
    assert!(matches!(
        note.verify(&peter()),
        Err(Error::InvalidSignature { .. })
    ));

    // A bad signature by a known key spoils the note even beside a good one.
    let mixed = Note::parse(&format!(
        "{TEXT}\n{PETER_SIG}{}ABCD{}",
        &PETER_SIG[..60],
        &PETER_SIG[60..]
    ))
    .unwrap();
    assert!(mixed.verify(&peter()).is_err());
    assert!(mixed.verify_any(&[peter()]).is_err());

    let tampered = format!("{TEXT}\n{PETER_SIG}").replace("cryptography", "cryptographY");
    assert!(Note::parse(&tampered).unwrap().verify(&peter()).is_err());

    let too_many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
    assert!(Note::parse(&too_many).is_err());
    assert!(Note::parse(&format!("{TEXT}\n{}", PETER_SIG.repeat(100))).is_ok());

    for bad in [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\u{1}{TEXT}\n{PETER_SIG}"),
        format!(
            "{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        ),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
    ] {
        assert!(Note::parse(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn mangled_key_strings_are_rejected() {
    // As Go's TestNewVerifier / TestNewSigner: every proper substring and
    // every single incremented byte fails.
    fn check(key: &str, parse: fn(&str) -> bool) {
        assert!(parse(key));
        let b = key.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if (i, j) != (0, b.len()) {
                    let s = std::str::from_utf8(&b[i..j]).unwrap();
                    assert!(!parse(s), "{s:?}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let s = String::from_utf8(m).unwrap();
            assert!(!parse(&s), "{s:?}");
        }
    }
    check(PETER_VKEY, |s| Verifier::from_vkey(s).is_ok());
    check(PETER_SKEY, |s| Signer::from_skey(s).is_ok());
    // Wrong key length and unknown type, each with a recomputed key ID.
    assert!(
        Verifier::from_vkey(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err()
    );
    assert!(matches!(
        Verifier::from_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(Error::UnsupportedKeyType(0x65))
    ));
}

#[test]
fn external_verifier_keys_parse() {
    // transparency-dev/formats: a native type-0x04 witness key, and a type-0x01
    // key whose base64 holds a '+'.
    let witness =
        Verifier::from_vkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
            .unwrap();
    assert_eq!(witness.key_type(), KeyType::CosignatureV1);
    assert_eq!(witness.key_id(), 0xda77ade7);
    let plus =
        Verifier::from_vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6").unwrap();
    assert_eq!(plus.key_type(), KeyType::Ed25519);
    assert_eq!(
        plus.to_vkey(),
        "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    );
    for vkey in [PETER_VKEY, ENOCH_VKEY] {
        let v: Verifier = vkey.parse().unwrap();
        assert_eq!(v.to_string(), vkey);
    }
}

#[test]
fn cosignature_timestamps_of_published_signatures() {
    // tlog-cosignature's example witness line (time 1679315147).
    let spec = NoteSignature::parse_line(
        "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==",
    )
    .unwrap();
    assert_eq!(spec.cosignature_timestamp(), Some(1_679_315_147));
    assert_eq!(spec.key_id(), 0x8d66cf3f);
    // transparency-dev/formats TestCoSigV1Timestamp.
    let go = NoteSignature::parse_line(
        "— w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==",
    )
    .unwrap();
    assert_eq!(go.cosignature_timestamp(), Some(1_727_964_367));
    let plain = NoteSignature::parse_line(
        "— w eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=",
    )
    .unwrap();
    assert_eq!(plain.cosignature_timestamp(), None);
}

fn log_signer() -> Signer {
    Signer::new(
        "dangjian.example/county-042",
        SigningKey::from_bytes(&[42; 32]),
    )
    .unwrap()
}

fn witness() -> Cosigner {
    Cosigner::new(
        "dangjian.example/city-7/witness",
        SigningKey::from_bytes(&[7; 32]),
    )
    .unwrap()
}

fn checkpoint_of(store: &MemoryStore, size: u64) -> Checkpoint {
    Checkpoint::new(
        "dangjian.example/county-042",
        size,
        store.root_at(size).unwrap(),
    )
    .unwrap()
}

fn store(size: u32) -> MemoryStore {
    let mut store = MemoryStore::new();
    for i in 0..size {
        store.push(leaf_hash(&i.to_be_bytes()));
    }
    store
}

#[test]
fn checkpoint_sign_parse_verify_round_trip() {
    let store = store(1000);
    let signer = log_signer();
    let checkpoint = checkpoint_of(&store, 1000);
    let message = checkpoint.sign(&signer).to_string();
    assert!(message.starts_with("dangjian.example/county-042\n1000\n"));

    let vkey = signer.verifier().to_vkey();
    let verifier = Verifier::from_vkey(&vkey).unwrap();
    assert_eq!(verifier, signer.verifier());
    let (opened, note, verified) = Checkpoint::open(&message, &verifier).unwrap();
    assert_eq!(opened, checkpoint);
    assert_eq!(note.to_string(), message);
    assert_eq!(verified.key_type, KeyType::Ed25519);

    // Any change to the body breaks the signature.
    let size_changed = message.replacen("\n1000\n", "\n1001\n", 1);
    assert!(Checkpoint::open(&size_changed, &verifier).is_err());
    let root_b64 = message.lines().nth(2).unwrap();
    let other_root = checkpoint_of(&store, 999)
        .body()
        .lines()
        .nth(2)
        .unwrap()
        .to_owned();
    let root_changed = message.replacen(root_b64, &other_root, 1);
    assert!(matches!(
        Checkpoint::open(&root_changed, &verifier),
        Err(Error::InvalidSignature { .. })
    ));
    let origin_changed = message.replacen("county-042\n", "county-043\n", 1);
    assert!(Checkpoint::open(&origin_changed, &verifier).is_err());
    // Another key of the same name is not the log's key.
    let impostor = Signer::new(
        "dangjian.example/county-042",
        SigningKey::from_bytes(&[43; 32]),
    )
    .unwrap();
    assert!(matches!(
        Checkpoint::open(&checkpoint.sign(&impostor).to_string(), &verifier),
        Err(Error::NoKnownSignature)
    ));
}

#[test]
fn witness_cosigns_a_consistent_checkpoint() {
    let store = store(1000);
    let log = log_signer();
    let witness = witness();
    let old = checkpoint_of(&store, 600);
    let new = checkpoint_of(&store, 1000);

    // The witness checks consistency with what it cosigned before, then cosigns.
    let proof = store.consistency_proof(600, 1000).unwrap();
    verify_consistency(600, 1000, old.root(), new.root(), &proof).unwrap();
    let mut note = Note::parse(&new.sign(&log).to_string()).unwrap();
    note.verify(&log.verifier()).unwrap();
    note.cosign(&witness, 1_700_000_000).unwrap();
    let message = note.to_string();
    assert_eq!(message.lines().filter(|l| l.starts_with('—')).count(), 2);

    let parsed = Note::parse(&message).unwrap();
    let cosig = parsed.verify(&witness.verifier()).unwrap();
    assert_eq!(cosig.key_type, KeyType::CosignatureV1);
    assert_eq!(cosig.timestamp, Some(1_700_000_000));
    assert_eq!(
        parsed.signatures()[1].cosignature_timestamp(),
        Some(1_700_000_000)
    );
    let both = parsed
        .verify_any(&[log.verifier(), witness.verifier()])
        .unwrap();
    assert_eq!(both.len(), 2);
    // The log's own verifier ignores the cosignature and vice versa.
    Checkpoint::open(&message, &log.verifier()).unwrap();

    // A cosignature covers the body and its time.
    let tampered = message.replacen("\n1000\n", "\n999\n", 1);
    assert!(
        Note::parse(&tampered)
            .unwrap()
            .verify(&witness.verifier())
            .is_err()
    );
    let mut sig = parsed.signatures()[1].clone().to_line();
    let ts_b64_at = sig.rfind(' ').unwrap() + 1 + 8; // inside the timestamp bytes
    let c = sig.as_bytes()[ts_b64_at];
    sig.replace_range(ts_b64_at..=ts_b64_at, if c == b'A' { "B" } else { "A" });
    let moved = Note::parse(&format!("{}\n{sig}\n", new.body())).unwrap();
    assert!(moved.verify(&witness.verifier()).is_err());

    // A cosignature is not a plain signature by the same key, nor the reverse.
    let same_key_plain = Signer::new(witness.name(), SigningKey::from_bytes(&[7; 32])).unwrap();
    assert!(matches!(
        parsed.verify(&same_key_plain.verifier()),
        Err(Error::NoKnownSignature)
    ));

    // The witness's vkey round-trips as a type-0x04 key.
    let vkey = witness.verifier().to_vkey();
    assert_eq!(Verifier::from_vkey(&vkey).unwrap(), witness.verifier());
}

#[test]
fn cosigner_refuses_non_checkpoints_and_future_overflow() {
    let witness = witness();
    assert!(witness.cosign("just a note\n", 1).is_err());
    let body = Checkpoint::new("o", 0, [0; 32]).unwrap().body();
    assert!(witness.cosign(&body, 1u64 << 63).is_err());
    assert!(witness.cosign(&body, (1u64 << 63) - 1).is_ok());
}

#[test]
fn cosigner_accepts_go_style_signer_keys() {
    // A plain Ed25519 signer key reused for cosigning gets the type-0x04 ID.
    let cosigner = Cosigner::from_skey(PETER_SKEY).unwrap();
    assert_ne!(cosigner.key_id(), 0xc74f20a3);
    let round = Cosigner::from_skey(&cosigner.to_skey()).unwrap();
    assert_eq!(round.verifier(), cosigner.verifier());
    assert!(Signer::from_skey(&cosigner.to_skey()).is_err());
}
