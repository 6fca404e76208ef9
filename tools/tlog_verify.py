#!/usr/bin/env python3
"""Independent check of a dangjian archive log over HTTP (issue 4).

Written from the specifications only (RFC 9162, C2SP signed-note,
tlog-checkpoint and tlog-tiles), sharing no code with the Rust crates, so a
bug there is not repeated here. It fetches the verifier key and the signed
checkpoint, checks the Ed25519 signature and the key ID, reads every level-0
tile and entry bundle, checks each leaf hash against its entry, recomputes the
root and compares it with the checkpoint, then checks served inclusion and
consistency proofs.

Usage: tlog_verify.py BASE_URL [--token TOKEN]
Exit status 0 when everything verifies. Needs the `cryptography` package.
"""

import base64
import hashlib
import json
import struct
import sys
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TILE_WIDTH = 256


def fetch(base, path, token):
    req = urllib.request.Request(base.rstrip("/") + path)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes):
    """RFC 9162 §2.1.1 Merkle tree hash over leaf hashes."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def tile_path(level, index, width):
    """tlog-tiles path: the index in three-digit groups, x-prefixed but last."""
    digits = "%d" % index
    digits = "0" * ((-len(digits)) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    n = "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])
    p = "/ledger/tile/%s/%s" % (level, n)
    if width < TILE_WIDTH:
        p += ".p/%d" % width
    return p


def verify_inclusion(leaf, index, size, proof, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162 §2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if first & (first - 1) == 0:
        proof = [first_root] + proof
    if not proof:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        sys.exit(2)
    base, token = args[0], None
    if "--token" in args:
        token = args[args.index("--token") + 1]

    # Verifier key: <name>+<hex key id>+<base64(0x01 || 32-byte key)>.
    vkey = fetch(base, "/ledger/key", token).decode().strip()
    name, key_id_hex, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64)
    if len(key) != 33 or key[0] != 1:
        fail("the key is not an Ed25519 note key")
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if key_id.hex() != key_id_hex:
        fail("the key ID does not match the key")
    pub = Ed25519PublicKey.from_public_bytes(key[1:])

    # Signed note: text, an empty line, signature lines.
    note = fetch(base, "/ledger/checkpoint", token).decode()
    text, _, sigs = note.partition("\n\n")
    text += "\n"
    ok = False
    for line in sigs.strip("\n").split("\n"):
        if not line.startswith("\u2014 "):
            fail("bad signature line %r" % line)
        sig_name, sig_b64 = line[2:].rsplit(" ", 1)
        raw = base64.b64decode(sig_b64)
        if sig_name == name and raw[:4] == key_id:
            pub.verify(raw[4:], text.encode())  # raises when invalid
            ok = True
    if not ok:
        fail("no signature by the log's key")
    origin, size_s, root_b64 = text.split("\n")[:3]
    if origin != name:
        fail("origin %r differs from the key name %r" % (origin, name))
    size, root = int(size_s), base64.b64decode(root_b64)

    # Every level-0 tile and entry bundle; leaf hashes must match entries.
    hashes = []
    for t in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, size - t * TILE_WIDTH)
        tile = fetch(base, tile_path(0, t, width), token)
        if len(tile) != 32 * width:
            fail("tile %d has %d bytes" % (t, len(tile)))
        tile_hashes = [tile[i : i + 32] for i in range(0, len(tile), 32)]
        bundle = fetch(base, tile_path("entries", t, width), token)
        pos, entries = 0, []
        while pos < len(bundle):
            (n,) = struct.unpack(">H", bundle[pos : pos + 2])
            entries.append(bundle[pos + 2 : pos + 2 + n])
            pos += 2 + n
        if len(entries) != width:
            fail("entry bundle %d holds %d entries" % (t, len(entries)))
        for i, (e, h) in enumerate(zip(entries, tile_hashes)):
            if leaf_hash(e) != h:
                fail("leaf %d does not hash to its tile entry" % (t * TILE_WIDTH + i))
        hashes.extend(tile_hashes)
    if mth(hashes) != root:
        fail("the root recomputed from the tiles differs from the checkpoint")

    # Served proofs, checked here.
    for index in sorted({0, size // 3, size // 2, size - 1}):
        p = json.loads(fetch(base, "/api/v1/ledger/proofs/inclusion?index=%d&size=%d" % (index, size), token))
        proof = [bytes.fromhex(h) for h in p["proof"]]
        if not verify_inclusion(hashes[index], index, size, proof, root):
            fail("inclusion proof of leaf %d does not verify" % index)
    for old in sorted({1, size // 4, size // 2, size - 1}):
        if old < 1:
            continue
        p = json.loads(fetch(base, "/api/v1/ledger/proofs/consistency?old=%d&size=%d" % (old, size), token))
        proof = [bytes.fromhex(h) for h in p["proof"]]
        if not verify_consistency(old, size, mth(hashes[:old]), root, proof):
            fail("consistency proof %d -> %d does not verify" % (old, size))

    print("ok: %s size %d, signature, %d tiles, root, proofs verified" % (origin, size, (size + 255) // 256))


if __name__ == "__main__":
    main()
