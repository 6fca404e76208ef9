//! Tamper-evident, append-only archive log (RFC 9162 hashing); usable without the rest of dangjian.
