//! Early warnings (三色预警, DOMAIN.md §9): levels, rules and their pure evaluation.
