//! Write batches are all-or-nothing: a failed batch leaves the tables as
//! they were, an applied one rolls back to them exactly, and its net
//! changes (what the JSONL backend appends) turn the old rows into the new.

use proptest::prelude::*;

use super::Table;
use super::batch::{Change, Tables, apply_batch, net_changes, rollback};
use super::filter::sort_cmp;
use super::tests::{cell_c, cell_d, filter, scan, schema};
use crate::{CmpOp, Filter, Order, Query, RowSet, Value, WriteOp};

fn insert() -> impl Strategy<Value = WriteOp> {
    (prop::sample::select(vec!["x", "y", "z"]), 0i64..4, cell_c(), cell_d()).prop_map(|(a, b, c, d)| WriteOp::Insert {
        table: "t".into(),
        rows: RowSet {
            columns: ["a", "b", "c", "d"].map(String::from).to_vec(),
            rows: vec![vec![Value::from(a), Value::Int(b), c, d]],
        },
    })
}

/// Inserts, deletes and updates; an update may set a primary-key column
/// (moving the row in every index, or colliding) or only indexed ones.
fn op() -> impl Strategy<Value = WriteOp> {
    let cell = prop_oneof![
        (0i64..4).prop_map(|b| ("b".to_owned(), Value::Int(b))),
        cell_c().prop_map(|c| ("c".to_owned(), c)),
        cell_d().prop_map(|d| ("d".to_owned(), d)),
    ];
    let update =
        (filter(), prop::collection::vec(cell, 1..4), prop::option::of(0u64..3)).prop_map(|(filter, cells, expect)| {
            let mut set: Vec<(String, Value)> = Vec::new();
            for (c, v) in cells {
                if !set.iter().any(|(s, _)| *s == c) {
                    set.push((c, v));
                }
            }
            WriteOp::Update { table: "t".into(), filter, set, expect }
        });
    let delete = (filter(), prop::option::of(0u64..3)).prop_map(|(filter, expect)| WriteOp::Delete {
        table: "t".into(),
        filter,
        expect,
    });
    prop_oneof![3 => insert(), 4 => update, 1 => delete]
}

/// Reads that go through each index (checked against a scan) and every row
/// in id order: two tables with the same state agree on all of them.
fn state(tables: &Tables) -> Vec<Vec<Vec<Value>>> {
    let t = &tables["t"];
    let by = |field: &str| Order { field: field.into(), descending: false };
    let queries = [
        Query { order_by: vec![by("b")], ..Query::filter(Filter::eq("a", "x")) },
        Query::filter(Filter::And(vec![
            Filter::eq("d", true),
            Filter::Cmp { field: "c".into(), op: CmpOp::Ge, value: Value::Int(0) },
        ])),
        Query::filter(Filter::And(vec![Filter::eq("a", "y"), Filter::eq("c", 1)])),
    ];
    let mut out: Vec<Vec<Vec<Value>>> = queries
        .iter()
        .map(|q| {
            let found = t.find(&t.schema.clone(), q).unwrap().rows;
            assert_eq!(found, scan(t, q), "an index disagrees with the rows");
            found
        })
        .collect();
    out.push(t.rows().cloned().collect());
    out
}

/// The rows, ordered by primary key (ids differ after a replay).
fn by_key(tables: &Tables) -> Vec<Vec<Value>> {
    let mut rows: Vec<Vec<Value>> = tables["t"].rows().cloned().collect();
    rows.sort_by(|x, y| sort_cmp(&x[0], &y[0]).then(sort_cmp(&x[1], &y[1])));
    rows
}

/// Applies `changes` the way the JSONL backend replays its log; a delete
/// must find its row.
fn replay(tables: &mut Tables, changes: Vec<Change>) {
    for change in changes {
        match change {
            Change::Put { table, row } => tables.get_mut(&table).unwrap().put_by_key(row),
            Change::Delete { table, row } => {
                assert!(tables.get_mut(&table).unwrap().take_by_key(&row), "deleting a row that is not there: {row:?}")
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn a_batch_is_all_or_nothing_and_its_net_changes_replay_it(
        seed in prop::collection::vec(insert(), 0..12),
        batch in prop::collection::vec(op(), 1..6),
    ) {
        let mut tables = Tables::new();
        tables.insert("t".into(), Table::new(&schema()).unwrap());
        for op in &seed {
            let _ = apply_batch(&mut tables, std::slice::from_ref(op));
        }
        let before = tables.clone();
        match apply_batch(&mut tables, &batch) {
            Err(_) => prop_assert_eq!(state(&tables), state(&before)),
            Ok((_, undo)) => {
                let mut replayed = before.clone();
                replay(&mut replayed, net_changes(&tables, &undo));
                prop_assert_eq!(by_key(&replayed), by_key(&tables));
                rollback(&mut tables, undo);
                prop_assert_eq!(state(&tables), state(&before));
            }
        }
    }
}
