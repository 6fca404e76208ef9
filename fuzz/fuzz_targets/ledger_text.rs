//! Fuzz target: the archive log's parsers — signed notes, checkpoints,
//! verifier keys, witness add-checkpoint bodies, tile and entry-bundle
//! paths, archive leaves. Must never panic.
#![no_main]

use dangjian_ledger::{ArchiveLeaf, Checkpoint, Note, Verifier, tiles, witness};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ArchiveLeaf::decode(data);
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Note::parse(s);
    let _ = Checkpoint::parse(s);
    let _ = Verifier::from_vkey(s);
    let _ = witness::AddCheckpoint::parse(s);
    let _ = witness::origin_of(s);
    let _ = tiles::parse_index(s);
    let _ = tiles::TileId::parse_path(s);
    let _ = tiles::EntryBundleId::parse_path(s);
});
