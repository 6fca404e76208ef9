//! C2SP tlog-tiles (c2sp.org/tlog-tiles): tile and entry bundle coordinates
//! and paths, tiles read from stored node hashes, the tiles a proof needs,
//! and the entry bundle encoding.
//!
//! Tile `(L, N)` holds the hashes of tree level `8·L`, indices
//! `256·N .. 256·N + W`: 32-byte hashes, concatenated. A full tile has
//! `W = 256`; a partial one (`W < 256`) is the right edge at some tree size
//! and is named `….p/W`. Entry bundle `N` holds entries `256·N .. 256·N + W`,
//! each as a big-endian `u16` length and its bytes.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::{Hash, node_hash};
use crate::tree::{HashStore, NodeId, ProofPlan, consistency_plan, inclusion_plan};

/// Tree levels per tile level.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile, entries in a full bundle.
pub const TILE_WIDTH: u16 = 256;
/// Highest tile level a path may name.
pub const MAX_TILE_LEVEL: u8 = 63;
/// Longest entry a bundle can hold.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

const WIDTH: u64 = TILE_WIDTH as u64;

/// Encodes an index as zero-padded three-digit path elements, all but the
/// last prefixed with `x`: 1234067 is `x001/x234/067`.
pub fn encode_index(index: u64) -> String {
    let mut groups = Vec::new();
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Parses [`encode_index`]'s form, accepting only the canonical encoding.
pub fn parse_index(path: &str) -> Result<u64> {
    let bad = || Error::MalformedTilePath("index elements");
    let segments: Vec<&str> = path.split('/').collect();
    let (last, leading) = segments.split_last().ok_or_else(bad)?;
    let mut index: u64 = 0;
    for (i, segment) in leading
        .iter()
        .map(|s| s.strip_prefix('x'))
        .chain([Some(*last)])
        .enumerate()
    {
        let digits = segment.ok_or_else(bad)?;
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let group: u64 = digits.parse().map_err(|_| bad())?;
        if i == 0 && group == 0 && !leading.is_empty() {
            return Err(bad());
        }
        index = index
            .checked_mul(1000)
            .and_then(|n| n.checked_add(group))
            .ok_or_else(bad)?;
    }
    Ok(index)
}

fn parse_decimal(s: &str, what: &'static str) -> Result<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    s.parse()
        .ok()
        .filter(|_| canonical)
        .ok_or(Error::MalformedTilePath(what))
}

/// Splits `<N>[.p/<W>]` into index and width.
fn parse_index_and_width(rest: &str) -> Result<(u64, u16)> {
    let (index, width) = match rest.split_once(".p/") {
        Some((index, width)) => {
            let width = parse_decimal(width, "partial width")?;
            if !(1..WIDTH).contains(&width) {
                return Err(Error::MalformedTilePath("partial width must be 1..=255"));
            }
            (index, width as u16)
        }
        None => (rest, TILE_WIDTH),
    };
    Ok((parse_index(index)?, width))
}

fn index_and_width_path(index: u64, width: u16) -> String {
    if width == TILE_WIDTH {
        encode_index(index)
    } else {
        format!("{}.p/{width}", encode_index(index))
    }
}

/// The number of level-`8·level` hashes a tree of `size` leaves has.
fn hashes_at_tile_level(size: u64, level: u8) -> u64 {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    size.checked_shr(shift).unwrap_or(0)
}

/// A Merkle tree tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TileId {
    /// Tile level `L`: its hashes are tree level `8·L`.
    pub level: u8,
    /// Index `N` within the level.
    pub index: u64,
    /// Number of hashes, 1..=256.
    pub width: u16,
}

impl TileId {
    /// Whether the tile is full (256 hashes).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The path below the log prefix: `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!(
            "tile/{}/{}",
            self.level,
            index_and_width_path(self.index, self.width)
        )
    }

    /// Parses [`TileId::path`]'s form (not entry bundle paths).
    pub fn parse_path(path: &str) -> Result<Self> {
        let rest = path
            .strip_prefix("tile/")
            .ok_or(Error::MalformedTilePath("must start with tile/"))?;
        let (level, rest) = rest
            .split_once('/')
            .ok_or(Error::MalformedTilePath("no index"))?;
        if level == "entries" {
            return Err(Error::MalformedTilePath("an entry bundle path"));
        }
        let level = parse_decimal(level, "level")?;
        if level > u64::from(MAX_TILE_LEVEL) {
            return Err(Error::MalformedTilePath("level above 63"));
        }
        let (index, width) = parse_index_and_width(rest)?;
        Ok(Self {
            level: level as u8,
            index,
            width,
        })
    }

    /// The tile of `size`'s tree that holds the hashes node `node` is built
    /// from, as wide as that tree makes it.
    pub fn for_node(node: NodeId, size: u64) -> Result<Self> {
        let complete = (u128::from(node.index) + 1) << node.level <= u128::from(size);
        if !complete || node.level > MAX_TILE_LEVEL {
            return Err(Error::InvalidTile("node is not complete at this tree size"));
        }
        let level = node.level / TILE_HEIGHT;
        let first = node.index << (node.level % TILE_HEIGHT);
        Self::at_size(level, first / WIDTH, size)
    }

    /// Tile `(level, index)` as the tree of `size` leaves has it.
    pub fn at_size(level: u8, index: u64, size: u64) -> Result<Self> {
        let available = hashes_at_tile_level(size, level);
        let start = index
            .checked_mul(WIDTH)
            .filter(|&s| s < available)
            .ok_or(Error::InvalidTile("tile does not exist at this tree size"))?;
        Ok(Self {
            level,
            index,
            width: (available - start).min(WIDTH) as u16,
        })
    }

    /// The stored nodes the tile consists of, in order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        let level = self.level * TILE_HEIGHT;
        let start = self.index * WIDTH;
        (0..u64::from(self.width)).map(move |i| NodeId::new(level, start + i))
    }
}

/// How many tiles a level of a tree has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelTiles {
    /// Number of full tiles.
    pub full: u64,
    /// Width of the partial tile after them, if any.
    pub partial: Option<u16>,
}

/// The tiles at tile `level` of the tree of `size` leaves.
pub fn tiles_at_level(size: u64, level: u8) -> LevelTiles {
    let hashes = hashes_at_tile_level(size, level);
    let rest = (hashes % WIDTH) as u16;
    LevelTiles {
        full: hashes / WIDTH,
        partial: (rest > 0).then_some(rest),
    }
}

/// The tiles a client needs to compute what `plan` describes at tree `size`.
pub fn tiles_for_plan(plan: &ProofPlan, size: u64) -> Result<Vec<TileId>> {
    let mut tiles = plan
        .nodes()
        .iter()
        .map(|&node| TileId::for_node(node, size))
        .collect::<Result<Vec<_>>>()?;
    tiles.sort_unstable();
    tiles.dedup();
    Ok(tiles)
}

/// The tiles needed for the inclusion proof of leaf `index` at tree `size`.
pub fn tiles_for_inclusion(index: u64, size: u64) -> Result<Vec<TileId>> {
    tiles_for_plan(&inclusion_plan(index, size)?, size)
}

/// The tiles needed for the consistency proof from `old` to `new` leaves.
pub fn tiles_for_consistency(old: u64, new: u64) -> Result<Vec<TileId>> {
    tiles_for_plan(&consistency_plan(old, new)?, new)
}

/// Serializes `tile` from the node hashes in `store`: the tile's hashes,
/// concatenated. Any width the stored tree covers can be read, so partial
/// tiles of past checkpoints remain available.
pub fn read_tile<S: HashStore + ?Sized>(store: &S, tile: TileId) -> Result<Vec<u8>> {
    if tile.width == 0 || tile.width > TILE_WIDTH || tile.level > MAX_TILE_LEVEL {
        return Err(Error::InvalidTile("width must be 1..=256 and level 0..=63"));
    }
    let end = tile
        .index
        .checked_mul(WIDTH)
        .and_then(|s| s.checked_add(u64::from(tile.width)));
    if end.is_none_or(|end| end > hashes_at_tile_level(store.size(), tile.level)) {
        return Err(Error::InvalidTile("tile is beyond the stored tree"));
    }
    let ids: Vec<NodeId> = tile.nodes().collect();
    Ok(store.nodes(&ids)?.concat())
}

/// A tile's hashes, as a client holds them after fetching.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    id: TileId,
    hashes: Vec<Hash>,
}

impl Tile {
    /// Splits fetched tile bytes into hashes, checking the length.
    pub fn from_bytes(id: TileId, bytes: &[u8]) -> Result<Self> {
        if bytes.len() != usize::from(id.width) * 32 {
            return Err(Error::InvalidTile("length is not 32 bytes per hash"));
        }
        let hashes = bytes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32-byte chunk"))
            .collect();
        Ok(Self { id, hashes })
    }

    /// The tile's coordinates.
    pub fn id(&self) -> TileId {
        self.id
    }

    /// The tile's hashes.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The hash of `node`, hashing up from this tile's hashes; an error if the
    /// node is not built from this tile.
    pub fn node(&self, node: NodeId) -> Result<Hash> {
        let outside = || Error::InvalidTile("node is not built from this tile");
        if node.level / TILE_HEIGHT != self.id.level {
            return Err(outside());
        }
        let height = node.level % TILE_HEIGHT;
        let count = 1usize << height;
        let first = (node.index << height)
            .checked_sub(self.id.index * WIDTH)
            .ok_or_else(outside)? as usize;
        let mut layer: Vec<Hash> = self
            .hashes
            .get(first..first + count)
            .ok_or_else(outside)?
            .to_vec();
        while layer.len() > 1 {
            layer = layer
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
        }
        Ok(layer[0])
    }
}

/// An entry bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntryBundleId {
    /// Bundle index `N`: entries from `256·N`.
    pub index: u64,
    /// Number of entries, 1..=256.
    pub width: u16,
}

impl EntryBundleId {
    /// The bundle holding leaf `leaf_index`, as wide as tree `size` makes it.
    pub fn for_leaf(leaf_index: u64, size: u64) -> Result<Self> {
        if leaf_index >= size {
            return Err(Error::IndexOutOfRange {
                index: leaf_index,
                size,
            });
        }
        let index = leaf_index / WIDTH;
        Ok(Self {
            index,
            width: (size - index * WIDTH).min(WIDTH) as u16,
        })
    }

    /// The leaf indices the bundle covers.
    pub fn leaves(&self) -> std::ops::Range<u64> {
        let start = self.index * WIDTH;
        start..start + u64::from(self.width)
    }

    /// The path below the log prefix: `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!(
            "tile/entries/{}",
            index_and_width_path(self.index, self.width)
        )
    }

    /// Parses [`EntryBundleId::path`]'s form.
    pub fn parse_path(path: &str) -> Result<Self> {
        let rest = path
            .strip_prefix("tile/entries/")
            .ok_or(Error::MalformedTilePath("must start with tile/entries/"))?;
        let (index, width) = parse_index_and_width(rest)?;
        Ok(Self { index, width })
    }
}

/// Encodes entries as a bundle: each a big-endian `u16` length, then its
/// bytes.
pub fn encode_entry_bundle<I, E>(entries: I) -> Result<Vec<u8>>
where
    I: IntoIterator<Item = E>,
    E: AsRef<[u8]>,
{
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.as_ref();
        let len = u16::try_from(entry.len()).map_err(|_| Error::EntryTooLarge(entry.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Decodes an entry bundle.
pub fn decode_entry_bundle(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let [hi, lo, rest @ ..] = bytes else {
            return Err(Error::MalformedEntryBundle("truncated length"));
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if rest.len() < len {
            return Err(Error::MalformedEntryBundle("truncated entry"));
        }
        let (entry, rest) = rest.split_at(len);
        entries.push(entry.to_vec());
        bytes = rest;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::tree::MemoryStore;

    #[test]
    fn index_encoding_follows_the_spec_example() {
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
        for n in [0, 5, 999, 1000, 1_234_067, u64::MAX] {
            assert_eq!(parse_index(&encode_index(n)).unwrap(), n);
        }
        for bad in [
            "",
            "1",
            "0001",
            "x000/005",
            "001/002",
            "x1/002",
            "x001/",
            "x01a/002",
            "x018/x446/x744/x073/x709/x551/616",
        ] {
            assert!(parse_index(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tile_paths_round_trip() {
        let full = TileId {
            level: 0,
            index: 1_234_067,
            width: 256,
        };
        assert_eq!(full.path(), "tile/0/x001/x234/067");
        let partial = TileId {
            level: 2,
            index: 3,
            width: 17,
        };
        assert_eq!(partial.path(), "tile/2/003.p/17");
        for t in [full, partial] {
            assert_eq!(TileId::parse_path(&t.path()).unwrap(), t);
        }
        for bad in [
            "tile/64/000",
            "tile/01/000",
            "tile/0/000.p/256",
            "tile/0/000.p/0",
            "tile/0/000.p/017",
            "tile/entries/000",
            "tiles/0/000",
            "tile/0/000/",
        ] {
            assert!(TileId::parse_path(bad).is_err(), "{bad:?}");
        }
        let bundle = EntryBundleId {
            index: 1000,
            width: 5,
        };
        assert_eq!(bundle.path(), "tile/entries/x001/000.p/5");
        assert_eq!(EntryBundleId::parse_path(&bundle.path()).unwrap(), bundle);
        assert!(EntryBundleId::parse_path("tile/0/000").is_err());
    }

    #[test]
    fn tile_counts_follow_the_spec_example() {
        // c2sp.org/tlog-tiles: a tree of 70,000 leaves.
        assert_eq!(
            tiles_at_level(70_000, 0),
            LevelTiles {
                full: 273,
                partial: Some(112)
            }
        );
        assert_eq!(
            tiles_at_level(70_000, 1),
            LevelTiles {
                full: 1,
                partial: Some(17)
            }
        );
        assert_eq!(
            tiles_at_level(70_000, 2),
            LevelTiles {
                full: 0,
                partial: Some(1)
            }
        );
        assert_eq!(
            tiles_at_level(70_000, 3),
            LevelTiles {
                full: 0,
                partial: None
            }
        );
        assert_eq!(
            tiles_at_level(256, 0),
            LevelTiles {
                full: 1,
                partial: None
            }
        );
        assert_eq!(
            tiles_at_level(256, 1),
            LevelTiles {
                full: 0,
                partial: Some(1)
            }
        );
        assert_eq!(
            tiles_at_level(u64::MAX, 8),
            LevelTiles {
                full: 0,
                partial: None
            }
        );
    }

    #[test]
    fn entry_bundles_round_trip() {
        let entries: Vec<Vec<u8>> = vec![b"a".to_vec(), Vec::new(), vec![7; 300]];
        let bundle = encode_entry_bundle(&entries).unwrap();
        assert_eq!(&bundle[..5], &[0, 1, b'a', 0, 0]);
        assert_eq!(decode_entry_bundle(&bundle).unwrap(), entries);
        assert!(decode_entry_bundle(&bundle[..bundle.len() - 1]).is_err());
        assert!(decode_entry_bundle(&[0]).is_err());
        assert!(matches!(
            encode_entry_bundle([vec![0u8; 65_536]]),
            Err(Error::EntryTooLarge(65_536))
        ));
        assert!(encode_entry_bundle([vec![0u8; 65_535]]).is_ok());
    }

    #[test]
    fn bundle_for_leaf() {
        let b = EntryBundleId::for_leaf(300, 600).unwrap();
        assert_eq!(
            b,
            EntryBundleId {
                index: 1,
                width: 256
            }
        );
        assert_eq!(b.leaves(), 256..512);
        let b = EntryBundleId::for_leaf(520, 600).unwrap();
        assert_eq!(
            b,
            EntryBundleId {
                index: 2,
                width: 88
            }
        );
        assert!(EntryBundleId::for_leaf(600, 600).is_err());
    }

    #[test]
    fn tiles_serve_every_proof_of_a_tree() {
        let mut store = MemoryStore::new();
        for i in 0..70_000u32 {
            store.push(leaf_hash(&i.to_be_bytes()));
        }
        let size = store.size();
        // A whole partial tile and a full one read back as stored hashes.
        let t = TileId::at_size(1, 1, size).unwrap();
        assert_eq!(
            t,
            TileId {
                level: 1,
                index: 1,
                width: 17
            }
        );
        let bytes = read_tile(&store, t).unwrap();
        assert_eq!(bytes.len(), 17 * 32);
        assert_eq!(&bytes[..32], &store.node(8, 256).unwrap().unwrap());
        assert!(
            read_tile(
                &store,
                TileId {
                    level: 1,
                    index: 1,
                    width: 18
                }
            )
            .is_err()
        );
        assert!(
            read_tile(
                &store,
                TileId {
                    level: 1,
                    index: 2,
                    width: 1
                }
            )
            .is_err()
        );
        assert!(TileId::at_size(1, 2, size).is_err());

        // A client rebuilds proofs from tiles alone, for past sizes too.
        for (index, at) in [(0, 70_000), (69_999, 70_000), (12_345, 65_537), (255, 256)] {
            let plan = inclusion_plan(index, at).unwrap();
            let from_tiles = proof_from_tiles(&store, &plan, at);
            assert_eq!(from_tiles, store.inclusion_proof(index, at).unwrap());
        }
        for (old, new) in [
            (1, 70_000),
            (65_536, 70_000),
            (300, 66_000),
            (69_999, 70_000),
        ] {
            let plan = consistency_plan(old, new).unwrap();
            let from_tiles = proof_from_tiles(&store, &plan, new);
            assert_eq!(from_tiles, store.consistency_proof(old, new).unwrap());
        }
        let root_plan = crate::tree::root_plan(size);
        assert_eq!(
            proof_from_tiles(&store, &root_plan, size),
            vec![store.root_at(size).unwrap()]
        );
    }

    fn proof_from_tiles(store: &MemoryStore, plan: &ProofPlan, size: u64) -> Vec<Hash> {
        let tiles: Vec<Tile> = tiles_for_plan(plan, size)
            .unwrap()
            .into_iter()
            .map(|id| Tile::from_bytes(id, &read_tile(store, id).unwrap()).unwrap())
            .collect();
        let hashes: Vec<Hash> = plan
            .nodes()
            .iter()
            .map(|&node| {
                let id = TileId::for_node(node, size).unwrap();
                let tile = tiles.iter().find(|t| t.id() == id).unwrap();
                tile.node(node).unwrap()
            })
            .collect();
        plan.assemble(&hashes).unwrap()
    }
}
