//! The bulk-insert hot path (roster import, demo and scale data): one
//! multi-row `INSERT … VALUES (…),(…) [RETURNING id]` per chunk, written for
//! each backend's placeholders, with the same SQL text for every full chunk so
//! the driver's prepared-statement cache reuses it. DESIGN.md §Storage allows
//! this for hot paths; tests run it on SQLite and PostgreSQL.

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
