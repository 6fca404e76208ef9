//! Use cases of dangjian; the only place that combines contexts, storage and rules.
