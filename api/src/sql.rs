//! A SQL text with numbered binds added as it is built, for queries whose filters vary.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDsl;
use diesel::sql_types::{Array, BigInt, Bytea, Double, Text, Untyped};
use diesel::QueryResult;

pub enum Bind {
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    BytesArray(Vec<Vec<u8>>),
}

#[derive(Default)]
pub struct Sql {
    pub text: String,
    binds: Vec<Bind>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Sql {
        Sql {
            text: text.into(),
            binds: Vec::new(),
        }
    }

    /// Adds a bind and returns its placeholder (`$n`).
    pub fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// The query, run as a prepared statement that the connection caches by its text: searches
    /// of one shape are planned once per connection instead of on every call (`sql_query` is never
    /// cached). The `$n` placeholders of the text are re-emitted by diesel in order.
    pub fn query(self) -> Prepared {
        Prepared(self)
    }
}

/// A [`Sql`] ready to run; see [`Sql::query`].
pub struct Prepared(Sql);

impl QueryId for Prepared {
    type QueryId = ();
    // Not static: the statement cache then keys on the SQL text and bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Prepared {}

impl QueryFragment<Pg> for Prepared {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let text = &self.0.text;
        let bytes = text.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'$' && i + 1 < bytes.len() && bytes[i + 1].is_ascii_digit() {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                let n: usize = text[i + 1..j].parse().unwrap_or(0);
                let bind = n
                    .checked_sub(1)
                    .and_then(|k| self.0.binds.get(k))
                    .ok_or_else(|| {
                        diesel::result::Error::QueryBuilderError(format!("no bind for ${n}").into())
                    })?;
                out.push_sql(&text[start..i]);
                match bind {
                    Bind::Int(v) => out.push_bind_param::<BigInt, _>(v)?,
                    Bind::Float(v) => out.push_bind_param::<Double, _>(v)?,
                    Bind::Text(v) => out.push_bind_param::<Text, _>(v)?,
                    Bind::Bytes(v) => out.push_bind_param::<Bytea, _>(v)?,
                    Bind::BytesArray(v) => out.push_bind_param::<Array<Bytea>, _>(v)?,
                }
                start = j;
                i = j;
            } else {
                i += 1;
            }
        }
        out.push_sql(&text[start..]);
        Ok(())
    }
}
