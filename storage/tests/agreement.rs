//! Property: random filters, orders and pages over random rows give the same
//! result on the memory backend and on SQLite. This is what lets the memory
//! backend stand in for the SQL ones.

mod common;

use common::*;
use nexau_session_storage::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

fn table() -> TableSchema {
    TableSchema {
        name: "r".into(),
        columns: vec![
            col("id", ColumnType::Int, false),
            col("n", ColumnType::Int, true),
            col("t", ColumnType::Text, true),
            col("x", ColumnType::Float, true),
            col("b", ColumnType::Bool, true),
            col("at", ColumnType::Timestamp, true),
        ],
        primary_key: vec!["id".into()],
        indexes: vec![],
    }
}

const FIELDS: [&str; 5] = ["n", "t", "x", "b", "at"];

fn value_for(field: &'static str) -> BoxedStrategy<Value> {
    match field {
        "n" => (-3i64..4).prop_map(Value::Int).boxed(),
        "t" => prop::sample::select(vec!["", "a", "ab", "B", "b", "é", "a b"]).prop_map(Value::from).boxed(),
        "x" => prop::sample::select(vec![-1.5, 0.0, 0.25, 1.0, 2.0, 1e10]).prop_map(Value::Float).boxed(),
        "b" => any::<bool>().prop_map(Value::Bool).boxed(),
        _ => (0u64..5).prop_map(|s| Value::Timestamp(format!("2026-01-01T00:00:0{s}.000000Z"))).boxed(),
    }
}

fn cell(field: &'static str) -> BoxedStrategy<Value> {
    prop_oneof![1 => Just(Value::Null), 3 => value_for(field)].boxed()
}

fn leaf() -> BoxedStrategy<Filter> {
    prop::sample::select(FIELDS.to_vec())
        .prop_flat_map(|field| {
            let op = prop::sample::select(vec![CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge]);
            prop_oneof![
                4 => (op, value_for(field)).prop_map(move |(op, value)| Filter::Cmp { field: field.into(), op, value }),
                1 => prop::collection::vec(value_for(field), 0..3).prop_map(move |values| Filter::In { field: field.into(), values }),
                1 => Just(Filter::IsNull(field.into())),
            ]
        })
        .boxed()
}

fn filter() -> impl Strategy<Value = Filter> {
    prop_oneof![10 => leaf(), 1 => Just(Filter::All)].prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::Or),
            inner.prop_map(Filter::not),
        ]
    })
}

fn rows() -> impl Strategy<Value = Vec<Vec<Value>>> {
    prop::collection::vec((cell("n"), cell("t"), cell("x"), cell("b"), cell("at")), 0..12).prop_map(|rs| {
        rs.into_iter().enumerate().map(|(i, (n, t, x, b, at))| vec![Value::Int(i as i64), n, t, x, b, at]).collect()
    })
}

fn query() -> impl Strategy<Value = Query> {
    (
        filter(),
        prop::collection::vec((prop::sample::select(FIELDS.to_vec()), any::<bool>()), 0..3),
        prop::option::of(0u64..6),
        prop::option::of(0u64..6),
    )
        .prop_map(|(filter, keys, limit, offset)| {
            let mut order_by: Vec<Order> =
                keys.into_iter().map(|(f, d)| Order { field: f.into(), descending: d }).collect();
            // A unique last key makes the order total, so pages are comparable.
            order_by.push(Order { field: "id".into(), descending: false });
            Query { filter, order_by, limit, offset, columns: Vec::new() }
        })
}

#[test]
fn memory_and_sqlite_agree_on_random_queries() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (mem, sql) = (memory(), sqlite());
    let (m, s) = (mem.store("p"), sql.store("p"));
    rt.block_on(async {
        m.setup_models(vec![table()]).await.unwrap();
        s.setup_models(vec![table()]).await.unwrap();
    });
    let columns: Vec<String> = table().columns.iter().map(|c| c.name.clone()).collect();
    let mut runner = TestRunner::new(Config { cases: 256, ..Config::default() });
    let nonempty = std::cell::Cell::new(0u32);
    runner
        .run(&(rows(), prop::collection::vec(query(), 1..6)), |(data, queries)| {
            rt.block_on(async {
                for store in [&m, &s] {
                    store.delete("r", Filter::All).await.unwrap();
                    store.insert("r", RowSet { columns: columns.clone(), rows: data.clone() }).await.unwrap();
                }
                for q in &queries {
                    let a = m.find("r", q).await.map_err(|e| TestCaseError::fail(format!("memory: {e}")))?;
                    let b = s.find("r", q).await.map_err(|e| TestCaseError::fail(format!("sqlite: {e}")))?;
                    prop_assert_eq!(&a, &b, "query {:?}", q);
                    let ca = m.count("r", &q.filter).await.unwrap();
                    let cb = s.count("r", &q.filter).await.unwrap();
                    prop_assert_eq!(ca, cb, "count {:?}", q.filter);
                    if !a.is_empty() {
                        nonempty.set(nonempty.get() + 1);
                    }
                    // Deleting by the filter removes the same rows on both.
                    let da = m.delete("r", q.filter.clone()).await.unwrap();
                    let db = s.delete("r", q.filter.clone()).await.unwrap();
                    prop_assert_eq!(da, db, "delete {:?}", q.filter);
                }
                Ok(())
            })
        })
        .unwrap();
    let nonempty = nonempty.get();
    assert!(nonempty > 50, "the generator should produce matching rows often ({nonempty})");
}
