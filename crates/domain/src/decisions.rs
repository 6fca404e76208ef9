//! 三重一大 major decisions (DOMAIN.md §8): the record and its compliance checks.
