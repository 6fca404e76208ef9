//! The bulk-insert hot path (roster import, demo and scale data): one
//! multi-row `INSERT … VALUES (…),(…) [RETURNING id]` per chunk, written for
//! each backend's placeholders, with the same SQL text for every full chunk so
//! the driver's prepared-statement cache reuses it. DESIGN.md §Storage allows
//! this for hot paths; tests run it on SQLite and PostgreSQL.
//!
//! The roster import's pipeline uses the second form, [`Planner`]: the
//! statements are built on the thread that prepares the rows, and a column whose value is the same in every row (the
//! organization, the time, the status) is bound once per statement and
//! referenced by every row; the writing task only executes them
//! ([`execute`]). [`first_free_id`] and [`sequence_ids`] give the keys of
//! rows written with explicit ids, and [`suspend_indexes`] /
//! [`restore_indexes`] drop and rebuild SQLite indexes around a bulk load
//! inside its transaction.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ActiveValue, ConnectionTrait, DbBackend, EntityName, EntityTrait, IdenStatic,
    Iterable, Statement, TryGetable, Value,
};

use crate::StoreError;

/// Rows per statement: under SQLite's 32,766 bound-parameter limit for
/// tables of up to 80 columns.
pub const CHUNK: usize = 400;

/// Inserts `rows` (all with the same columns set) in
/// chunks; returns the new ids in input order when `returning` is set.
pub async fn insert<C, A>(c: &C, rows: Vec<A>, returning: bool) -> Result<Vec<i64>, StoreError>
where
    C: ConnectionTrait,
    A: ActiveModelTrait,
{
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    // Columns set in the first row; an auto-increment key left unset is
    // assigned by the database, an explicit key is written like any column.
    let cols: Vec<<A::Entity as EntityTrait>::Column> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|col| first.get(*col).is_set())
        .collect();
    let table = A::Entity::default().table_name().to_string();
    let backend = c.get_database_backend();
    let mut ids = Vec::with_capacity(if returning { rows.len() } else { 0 });
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        let sql = statement(
            backend,
            &table,
            &cols
                .iter()
                .map(|c| c.as_str().to_string())
                .collect::<Vec<_>>(),
            chunk.len(),
            returning,
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * cols.len());
        for row in &chunk {
            for col in &cols {
                match row.get(*col) {
                    ActiveValue::Set(v) | ActiveValue::Unchanged(v) => values.push(v),
                    ActiveValue::NotSet => {
                        return Err(StoreError::Corrupt(format!(
                            "bulk insert into {table}: column {} not set in every row",
                            col.as_str()
                        )));
                    }
                }
            }
        }
        let stmt = Statement::from_sql_and_values(backend, sql, values);
        if returning {
            for r in c.query_all_raw(stmt).await? {
                ids.push(
                    <i64 as TryGetable>::try_get_by(&r, 0usize)
                        .map_err(|e| StoreError::Corrupt(format!("{e:?}")))?,
                );
            }
        } else {
            c.execute_raw(stmt).await?;
        }
    }
    Ok(ids)
}

fn statement(
    backend: DbBackend,
    table: &str,
    cols: &[String],
    rows: usize,
    returning: bool,
) -> String {
    let mut sql = String::with_capacity(64 + rows * cols.len() * 5);
    sql.push_str("INSERT INTO ");
    sql.push_str(table);
    sql.push_str(" (");
    sql.push_str(&cols.join(", "));
    sql.push_str(") VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for i in 0..cols.len() {
            if i > 0 {
                sql.push(',');
            }
            n += 1;
            match backend {
                DbBackend::Postgres => {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    if returning {
        sql.push_str(" RETURNING id");
    }
    sql
}

/// Bound parameters per statement of a [`Planner`] at most: under SQLite's
/// limit of 32,766 (PostgreSQL allows 65,535).
pub const MAX_PARAMS: usize = 32_000;
/// Rows per statement of a [`Planner`] at most.
pub const MAX_ROWS: usize = 1_000;

/// Builds multi-row `INSERT` statements away from the task that executes
/// them, keeping the SQL text of each shape so every full statement of a
/// table has the same text (and the driver's prepared-statement cache hits).
#[derive(Debug)]
pub struct Planner {
    backend: DbBackend,
    sql: HashMap<(String, usize), String>,
}

impl Planner {
    pub fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            sql: HashMap::new(),
        }
    }

    /// The statements inserting `rows` into their table. The columns of
    /// `shared` take the given value in every row, bound once per statement;
    /// a row may leave them unset or set them to that same value. The other
    /// columns are those set in the first row, and every row must set them.
    pub fn insert<A>(
        &mut self,
        shared: Vec<(<A::Entity as EntityTrait>::Column, Value)>,
        rows: Vec<A>,
    ) -> Result<Vec<Statement>, StoreError>
    where
        A: ActiveModelTrait,
    {
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let table = A::Entity::default().table_name().to_string();
        let is_shared = |c: &<A::Entity as EntityTrait>::Column| {
            shared.iter().any(|(s, _)| s.as_str() == c.as_str())
        };
        let cols: Vec<<A::Entity as EntityTrait>::Column> =
            <A::Entity as EntityTrait>::Column::iter()
                .filter(|c| !first.get(*c).is_not_set() && !is_shared(c))
                .collect();
        if cols.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "bulk insert into {table}: no column set per row"
            )));
        }
        let per_stmt = MAX_ROWS
            .min((MAX_PARAMS - shared.len()) / cols.len())
            .max(1);
        let names: Vec<&str> = shared
            .iter()
            .map(|(c, _)| c.as_str())
            .chain(cols.iter().map(|c| c.as_str()))
            .collect();
        let key_prefix = format!("{table}({})", names.join(","));
        let mut out = Vec::with_capacity(rows.len().div_ceil(per_stmt));
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut values: Vec<Value> = Vec::with_capacity(shared.len() + per_stmt * cols.len());
            values.extend(shared.iter().map(|(_, v)| v.clone()));
            let mut n = 0;
            for mut row in rows.by_ref().take(per_stmt) {
                for (col, v) in &shared {
                    match row.take(*col) {
                        ActiveValue::NotSet => {}
                        ActiveValue::Set(x) | ActiveValue::Unchanged(x) if &x == v => {}
                        _ => {
                            return Err(StoreError::Corrupt(format!(
                                "bulk insert into {table}: shared column {} differs in a row",
                                col.as_str()
                            )));
                        }
                    }
                }
                for col in &cols {
                    match row.take(*col) {
                        ActiveValue::Set(v) | ActiveValue::Unchanged(v) => values.push(v),
                        ActiveValue::NotSet => {
                            return Err(StoreError::Corrupt(format!(
                                "bulk insert into {table}: column {} not set in every row",
                                col.as_str()
                            )));
                        }
                    }
                }
                n += 1;
            }
            let backend = self.backend;
            let sql = self
                .sql
                .entry((key_prefix.clone(), n))
                .or_insert_with(|| shared_statement(backend, &table, &names, shared.len(), n))
                .clone();
            out.push(Statement::from_sql_and_values(backend, sql, values));
        }
        Ok(out)
    }
}

/// The multi-row `INSERT` of `rows` rows into `table` whose first `shared`
/// columns take one value in every row; the shared values are the first
/// parameters.
///
/// PostgreSQL: `VALUES ($1,$2,$3),($1,$4,$5)`, each row naming the shared
/// parameters. SQLite: `SELECT ?, column1, column2 FROM (VALUES (?,?),(?,?))`
/// with anonymous parameters only — the driver looks up the name of every
/// parameter of a statement with numbered ones (`?NNN`), and SQLite finds a
/// name by a linear scan, so numbered parameters made a 1,000-row statement
/// quadratic (87% of the import's time in `sqlite3_bind_parameter_name`).
fn shared_statement(
    backend: DbBackend,
    table: &str,
    names: &[&str],
    shared: usize,
    rows: usize,
) -> String {
    let per_row = names.len() - shared;
    let mut sql = String::with_capacity(96 + names.len() * 12 + rows * per_row * 7);
    sql.push_str("INSERT INTO ");
    sql.push_str(table);
    sql.push_str(" (");
    sql.push_str(&names.join(", "));
    sql.push_str(") ");
    if backend == DbBackend::Postgres {
        sql.push_str("VALUES ");
        let mut next = shared;
        for r in 0..rows {
            if r > 0 {
                sql.push(',');
            }
            sql.push('(');
            for s in 1..=shared {
                sql.push('$');
                sql.push_str(&s.to_string());
                sql.push(',');
            }
            for i in 0..per_row {
                if i > 0 {
                    sql.push(',');
                }
                next += 1;
                sql.push('$');
                sql.push_str(&next.to_string());
            }
            sql.push(')');
        }
        return sql;
    }
    if shared > 0 {
        sql.push_str("SELECT ");
        for _ in 0..shared {
            sql.push_str("?, ");
        }
        for i in 1..=per_row {
            if i > 1 {
                sql.push_str(", ");
            }
            sql.push_str("column");
            sql.push_str(&i.to_string());
        }
        sql.push_str(" FROM (VALUES ");
    } else {
        sql.push_str("VALUES ");
    }
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for i in 0..per_row {
            if i > 0 {
                sql.push(',');
            }
            sql.push('?');
        }
        sql.push(')');
    }
    if shared > 0 {
        sql.push(')');
    }
    sql
}

/// Executes statements built by a [`Planner`], in order.
pub async fn execute<C: ConnectionTrait>(c: &C, stmts: Vec<Statement>) -> Result<(), StoreError> {
    for s in stmts {
        c.execute_raw(s).await?;
    }
    Ok(())
}

/// SQLite: the first id above every id `table` has used (its
/// `AUTOINCREMENT` counter and its rows). Valid for rows written with
/// explicit ids only while the caller holds the write lock (`BEGIN
/// IMMEDIATE`) and writes nothing else into `table` meanwhile.
pub async fn first_free_id<C: ConnectionTrait>(c: &C, table: &str) -> Result<i64, StoreError> {
    let sql = format!(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), \
         COALESCE((SELECT MAX(id) FROM {table}), 0)) + 1"
    );
    let row = c
        .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("no next id of {table}")))?;
    <i64 as TryGetable>::try_get_by(&row, 0usize).map_err(|e| StoreError::Corrupt(format!("{e:?}")))
}

/// PostgreSQL: `n` fresh ids from the sequence of `table.id` (increasing;
/// not necessarily contiguous when others take ids meanwhile).
pub async fn sequence_ids<C: ConnectionTrait>(
    c: &C,
    table: &str,
    n: usize,
) -> Result<Vec<i64>, StoreError> {
    let sql = format!(
        "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, {n})"
    );
    let mut ids = c
        .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .iter()
        .map(|r| {
            <i64 as TryGetable>::try_get_by(r, 0usize)
                .map_err(|e| StoreError::Corrupt(format!("{e:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// Indexes dropped for a bulk load, with the statements that recreate them.
#[derive(Debug, Default)]
pub struct SuspendedIndexes(Vec<(String, String)>);

impl SuspendedIndexes {
    /// Names of the dropped indexes.
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// SQLite: drops the named indexes that exist, keeping their `CREATE`
/// statements from the schema. Call inside the transaction of the load and
/// [`restore_indexes`] before its commit; a rollback restores them anyway.
/// Building an index once from the loaded table is a sort, where filling it
/// row by row in random key order touches a random page per row.
pub async fn suspend_indexes<C: ConnectionTrait>(
    c: &C,
    names: &[&str],
) -> Result<SuspendedIndexes, StoreError> {
    let mut out = Vec::new();
    for name in names {
        let Some(sql) = index_statement(c, name).await? else {
            continue;
        };
        c.execute_unprepared(&format!("DROP INDEX \"{name}\""))
            .await?;
        out.push((name.to_string(), sql));
    }
    Ok(SuspendedIndexes(out))
}

/// SQLite: the `CREATE INDEX` statement of index `name`; `None` when there
/// is no such index or SQLite made it itself (UNIQUE, PRIMARY KEY: no
/// statement, and it cannot be dropped).
pub async fn index_statement<C: ConnectionTrait>(
    c: &C,
    name: &str,
) -> Result<Option<String>, StoreError> {
    let row = c
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
            [Value::from(name.to_string())],
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    <Option<String> as TryGetable>::try_get_by(&row, 0usize)
        .map_err(|e| StoreError::Corrupt(format!("{e:?}")))
}

/// Recreates the indexes [`suspend_indexes`] dropped (a unique index fails
/// here if the load broke it, failing the transaction).
pub async fn restore_indexes<C: ConnectionTrait>(
    c: &C,
    s: SuspendedIndexes,
) -> Result<(), StoreError> {
    for (_, sql) in s.0 {
        c.execute_unprepared(&sql).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_placeholders_repeat_in_every_row() {
        let s = shared_statement(DbBackend::Sqlite, "t", &["a", "b", "c"], 1, 2);
        assert_eq!(
            s,
            "INSERT INTO t (a, b, c) SELECT ?, column1, column2 FROM (VALUES (?,?),(?,?))"
        );
        let s = shared_statement(DbBackend::Sqlite, "t", &["a", "b"], 0, 2);
        assert_eq!(s, "INSERT INTO t (a, b) VALUES (?,?),(?,?)");
        let s = shared_statement(DbBackend::Postgres, "t", &["a", "b", "c"], 1, 2);
        assert_eq!(s, "INSERT INTO t (a, b, c) VALUES ($1,$2,$3),($1,$4,$5)");
    }
}
