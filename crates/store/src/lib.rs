//! Storage of dangjian: schema and migrations, repositories, field encryption, blind indexes.
