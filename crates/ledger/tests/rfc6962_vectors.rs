//! The RFC 6962 reference tree of the certificate-transparency test data:
//! eight leaves, every complete node, the roots of sizes 0..=8 and the known
//! inclusion and consistency proofs, as published in transparency-dev/merkle
//! (`testonly/constants.go`, `proof/verify_test.go`).

use dangjian_ledger::hash::{Hash, empty_root, leaf_hash};
use dangjian_ledger::tree::{Frontier, HashStore, MemoryStore, append};
use dangjian_ledger::verify::{verify_consistency, verify_inclusion};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the trees of sizes 1..=8.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Every complete node, by level.
const NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// (leaf index, tree size, proof). The source numbers leaves from 1.
const INCLUSION: [(u64, u64, &[&str]); 4] = [
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn hashes(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|s| h(s)).collect()
}

fn reference_store() -> MemoryStore {
    let mut store = MemoryStore::new();
    for leaf in LEAVES {
        store.push(leaf_hash(&hex::decode(leaf).unwrap()));
    }
    store
}

fn root(size: u64) -> Hash {
    if size == 0 {
        empty_root()
    } else {
        h(ROOTS[size as usize - 1])
    }
}

#[test]
fn stored_nodes_are_the_reference_nodes() {
    let store = reference_store();
    for (level, nodes) in NODES.iter().enumerate() {
        for (index, node) in nodes.iter().enumerate() {
            assert_eq!(
                store.node(level as u8, index as u64).unwrap(),
                Some(h(node)),
                "node ({level}, {index})"
            );
        }
        assert_eq!(store.node(level as u8, nodes.len() as u64).unwrap(), None);
    }
}

#[test]
fn roots_of_every_size() {
    let store = reference_store();
    assert_eq!(
        hex::encode(store.root_at(0).unwrap()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    for size in 1..=8 {
        assert_eq!(store.root_at(size).unwrap(), root(size), "size {size}");
    }
}

#[test]
fn frontier_and_stateless_append_reach_the_same_roots() {
    let mut frontier = Frontier::new();
    let mut replayed = MemoryStore::new();
    for (i, leaf) in LEAVES.iter().enumerate() {
        let lh = leaf_hash(&hex::decode(leaf).unwrap());
        let nodes = append(&replayed, lh).unwrap();
        assert_eq!(nodes, frontier.append(lh));
        replayed.insert(&nodes).unwrap();
        assert_eq!(frontier.root(), root(i as u64 + 1));
    }
}

#[test]
fn known_inclusion_proofs_are_generated_and_verify() {
    let store = reference_store();
    for (index, size, proof) in INCLUSION {
        let want = hashes(proof);
        assert_eq!(
            store.inclusion_proof(index, size).unwrap(),
            want,
            "inclusion {index} in {size}"
        );
        let leaf = store.leaf_hash(index).unwrap();
        verify_inclusion(&leaf, index, size, &want, &root(size)).unwrap();
        // The probes of the reference test: wrong index, size, leaf, root,
        // added or removed elements, flipped bits.
        let bad_probes: Vec<(u64, u64, Hash, Vec<Hash>, Hash)> = vec![
            (index.wrapping_sub(1), size, leaf, want.clone(), root(size)),
            (index + 1, size, leaf, want.clone(), root(size)),
            (index ^ 2, size, leaf, want.clone(), root(size)),
            (index, size * 2, leaf, want.clone(), root(size)),
            (index, size / 2, leaf, want.clone(), root(size)),
            (
                index,
                size,
                leaf_hash(b"WrongLeaf"),
                want.clone(),
                root(size),
            ),
            (index, size, leaf, want.clone(), empty_root()),
            (
                index,
                size,
                leaf,
                [want.clone(), vec![root(size)]].concat(),
                root(size),
            ),
            (
                index,
                size,
                leaf,
                [vec![root(size)], want.clone()].concat(),
                root(size),
            ),
            (
                index,
                size,
                leaf,
                want[..want.len() - 1].to_vec(),
                root(size),
            ),
        ];
        for (i, (idx, sz, lf, pr, rt)) in bad_probes.into_iter().enumerate() {
            assert!(
                verify_inclusion(&lf, idx, sz, &pr, &rt).is_err(),
                "probe {i} of inclusion {index} in {size}"
            );
        }
        for k in 0..want.len() {
            let mut flipped = want.clone();
            flipped[k][0] ^= 8;
            assert!(verify_inclusion(&leaf, index, size, &flipped, &root(size)).is_err());
        }
    }
}

#[test]
fn known_consistency_proofs_are_generated_and_verify() {
    let store = reference_store();
    for (old, new, proof) in CONSISTENCY {
        let want = hashes(proof);
        assert_eq!(
            store.consistency_proof(old, new).unwrap(),
            want,
            "consistency {old} to {new}"
        );
        verify_consistency(old, new, &root(old), &root(new), &want).unwrap();
        if want.is_empty() {
            continue;
        }
        let bad_probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (old - 1, new, root(old), root(new), want.clone()),
            (old + 1, new, root(old), root(new), want.clone()),
            (old ^ 2, new, root(old), root(new), want.clone()),
            (old, new * 2, root(old), root(new), want.clone()),
            (old, new / 2, root(old), root(new), want.clone()),
            (old, new, leaf_hash(b"WrongRoot"), root(new), want.clone()),
            (old, new, root(old), leaf_hash(b"WrongRoot"), want.clone()),
            (old, new, root(new), root(old), want.clone()),
            (old, new, root(old), root(new), Vec::new()),
            (
                old,
                new,
                root(old),
                root(new),
                [want.clone(), vec![root(old)]].concat(),
            ),
            (
                old,
                new,
                root(old),
                root(new),
                [want.clone(), vec![root(new)]].concat(),
            ),
            (
                old,
                new,
                root(old),
                root(new),
                [vec![root(old)], want.clone()].concat(),
            ),
            (
                old,
                new,
                root(old),
                root(new),
                [vec![root(new)], want.clone()].concat(),
            ),
            (
                old,
                new,
                root(old),
                root(new),
                [vec![want[0]], want.clone()].concat(),
            ),
            (
                old,
                new,
                root(old),
                root(new),
                want[..want.len() - 1].to_vec(),
            ),
        ];
        for (i, (o, n, ro, rn, pr)) in bad_probes.into_iter().enumerate() {
            assert!(
                verify_consistency(o, n, &ro, &rn, &pr).is_err(),
                "probe {i} of consistency {old} to {new}"
            );
        }
        for k in 0..want.len() {
            let mut flipped = want.clone();
            flipped[k][0] ^= 16;
            assert!(verify_consistency(old, new, &root(old), &root(new), &flipped).is_err());
        }
    }
}
