//! Resident ID numbers (GB 11643): checksum, birth date and sex (DOMAIN.md §3).
