//! A SQL text with numbered binds added as it is built, for queries whose filters vary.

use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, BigInt, Bytea, Double, Text};

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

    pub fn query(self) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        let mut q = diesel::sql_query(self.text).into_boxed::<Pg>();
        for b in self.binds {
            q = match b {
                Bind::Int(v) => q.bind::<BigInt, _>(v),
                Bind::Float(v) => q.bind::<Double, _>(v),
                Bind::Text(v) => q.bind::<Text, _>(v),
                Bind::Bytes(v) => q.bind::<Bytea, _>(v),
                Bind::BytesArray(v) => q.bind::<Array<Bytea>, _>(v),
            };
        }
        q
    }
}
