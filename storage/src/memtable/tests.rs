//! Reads through an index return exactly what a scan of every row returns.

use proptest::prelude::*;

use super::Table;
use super::filter::{Compiled, sort_cmp};
use crate::{CmpOp, Column, ColumnType, Filter, Index, Order, Query, TableSchema, Value};

pub(super) fn schema() -> TableSchema {
    let col = |name: &str, ty, nullable| Column { name: name.into(), ty, nullable };
    TableSchema {
        name: "t".into(),
        columns: vec![
            col("a", ColumnType::Text, false),
            col("b", ColumnType::Int, false),
            col("c", ColumnType::Int, true),
            col("d", ColumnType::Bool, true),
        ],
        primary_key: vec!["a".into(), "b".into()],
        indexes: vec![
            Index { name: "acd".into(), columns: vec!["a".into(), "c".into(), "d".into()], unique: false },
            Index { name: "dc".into(), columns: vec!["d".into(), "c".into()], unique: false },
        ],
    }
}

pub(super) fn cell_c() -> impl Strategy<Value = Value> {
    prop_oneof![1 => Just(Value::Null), 4 => (0i64..5).prop_map(Value::Int)]
}

pub(super) fn cell_d() -> impl Strategy<Value = Value> {
    prop_oneof![1 => Just(Value::Null), 4 => any::<bool>().prop_map(Value::Bool)]
}

fn leaf() -> impl Strategy<Value = Filter> {
    let op = prop::sample::select(vec![CmpOp::Eq, CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge]);
    prop_oneof![
        (op.clone(), prop::sample::select(vec!["x", "y", "z"])).prop_map(|(op, v)| Filter::Cmp {
            field: "a".into(),
            op,
            value: Value::from(v)
        }),
        (op.clone(), 0i64..6).prop_map(|(op, v)| Filter::Cmp { field: "b".into(), op, value: Value::Int(v) }),
        (op.clone(), 0i64..5).prop_map(|(op, v)| Filter::Cmp { field: "c".into(), op, value: Value::Int(v) }),
        (op, any::<bool>()).prop_map(|(op, v)| Filter::Cmp { field: "d".into(), op, value: Value::Bool(v) }),
        Just(Filter::IsNull("c".into())),
        prop::collection::vec(0i64..5, 0..4).prop_map(|v| Filter::is_in("c", v)),
        prop::collection::vec(prop::sample::select(vec!["x", "y", "z"]), 0..3).prop_map(|v| Filter::is_in("a", v)),
    ]
}

pub(super) fn filter() -> impl Strategy<Value = Filter> {
    prop_oneof![
        prop::collection::vec(leaf(), 0..4).prop_map(Filter::And),
        prop::collection::vec(prop::collection::vec(leaf(), 0..3).prop_map(Filter::And), 0..3).prop_map(Filter::Or),
        leaf().prop_map(Filter::not),
    ]
}

fn order() -> impl Strategy<Value = Vec<Order>> {
    let key = (prop::sample::select(vec!["a", "b", "c", "d"]), any::<bool>())
        .prop_map(|(f, descending)| Order { field: f.into(), descending });
    prop::collection::vec(key, 0..3)
}

/// What `find` must return: every row tested, in insertion order, stably sorted.
pub(super) fn scan(t: &Table, q: &Query) -> Vec<Vec<Value>> {
    let f = Compiled::new(&t.schema, &q.filter).unwrap();
    let mut rows: Vec<&Vec<Value>> = t.rows().filter(|r| f.matches(r)).collect();
    let keys: Vec<(usize, bool)> = q
        .order_by
        .iter()
        .map(|o| (t.schema.columns.iter().position(|c| c.name == o.field).unwrap(), o.descending))
        .collect();
    rows.sort_by(|x, y| {
        keys.iter()
            .map(|&(i, d)| if d { sort_cmp(&x[i], &y[i]).reverse() } else { sort_cmp(&x[i], &y[i]) })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let offset = q.offset.unwrap_or(0) as usize;
    rows.into_iter().skip(offset).take(q.limit.map_or(usize::MAX, |l| l as usize)).cloned().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn indexed_reads_agree_with_a_full_scan(
        data in prop::collection::vec((prop::sample::select(vec!["x", "y", "z"]), 0i64..6, cell_c(), cell_d()), 0..40),
        deleted in prop::collection::vec(any::<bool>(), 40),
        changed in prop::collection::vec(prop::option::of((cell_c(), cell_d())), 40),
        filter in filter(),
        order_by in order(),
        limit in prop::option::of(0u64..6),
        offset in prop::option::of(0u64..4),
    ) {
        let mut t = Table::new(&schema()).unwrap();
        for (((a, b, c, d), gone), change) in data.into_iter().zip(deleted).zip(changed) {
            let row = vec![Value::from(a), Value::Int(b), c, d];
            if t.check_unique(&row, None).is_ok() {
                let id = t.push(row);
                if gone {
                    t.take(id);
                } else if let Some((c, d)) = change {
                    // An update that moves the row in some indexes only.
                    let mut new = t.get(id).unwrap().clone();
                    (new[2], new[3]) = (c, d);
                    t.replace(id, new).unwrap();
                }
            }
        }
        let q = Query { filter, order_by, limit, offset, columns: Vec::new() };
        let got = t.find(&t.schema.clone(), &q).unwrap();
        prop_assert_eq!(got.rows, scan(&t, &q));
        prop_assert_eq!(t.count(&q.filter).unwrap() as usize, scan(&t, &Query::filter(q.filter.clone())).len());
    }
}

fn key_part() -> impl Strategy<Value = (Value, Value, Value)> {
    let text = prop_oneof![1 => Just(Value::Null), 4 => "[a\u{0}b\u{ff}é]{0,3}".prop_map(Value::from)];
    let int = prop_oneof![1 => Just(Value::Null), 4 => any::<i64>().prop_map(Value::Int)];
    let float = prop_oneof![
        1 => Just(Value::Null),
        4 => prop_oneof![any::<f64>().prop_filter("not NaN", |f| !f.is_nan()), Just(0.0), Just(-0.0)].prop_map(Value::Float)
    ];
    (text, int, float)
}

fn encode(parts: &(Value, Value, Value)) -> Vec<u8> {
    let mut k = Vec::new();
    for v in [&parts.0, &parts.1, &parts.2] {
        super::index::push_part(&mut k, v);
    }
    k
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn encoded_keys_order_like_the_values(a in key_part(), b in key_part()) {
        let by_value = sort_cmp(&a.0, &b.0).then(sort_cmp(&a.1, &b.1)).then(sort_cmp(&a.2, &b.2));
        prop_assert_eq!(encode(&a).cmp(&encode(&b)), by_value, "{:?} vs {:?}", a, b);
    }
}

/// A history load (`live` rows of an epoch from a position on, or the
/// newest N, by position) reads through the key `(agent, epoch, pos, seq)`
/// in order, not through the index that fixes one more column (`live`) but
/// would need every row of the epoch read and sorted; a lookup by message
/// id takes that index.
#[test]
fn an_ordered_range_beats_one_more_fixed_column_and_a_sort() {
    use super::index::{OrderedIndex, choose};
    let col = |name: &str, ty| Column { name: name.into(), ty, nullable: false };
    let schema = TableSchema {
        name: "messages".into(),
        columns: vec![
            col("agent", ColumnType::Text),
            col("epoch", ColumnType::Int),
            col("pos", ColumnType::Int),
            col("seq", ColumnType::Int),
            col("live", ColumnType::Bool),
            col("id", ColumnType::Text),
        ],
        primary_key: vec!["agent".into(), "epoch".into(), "pos".into(), "seq".into()],
        indexes: vec![],
    };
    let indexes =
        [OrderedIndex::new("primary key", vec![0, 1, 2, 3], true), OrderedIndex::new("by id", vec![0, 1, 4, 5], false)];
    let (agent, epoch, live, from, id) =
        (Value::from("a"), Value::Int(0), Value::Bool(true), Value::Int(10), Value::from("msg_1"));
    let load = [(0, CmpOp::Eq, &agent), (1, CmpOp::Eq, &epoch), (4, CmpOp::Eq, &live), (2, CmpOp::Ge, &from)];
    let plan = choose(&schema, &indexes, &load, &[(2, false)], true).unwrap();
    assert_eq!((plan.index, plan.ordered), (0, Some(false)));
    // The newest N: no range on `pos`, but a limit.
    let newest = &load[..3];
    let plan = choose(&schema, &indexes, newest, &[(2, true)], true).unwrap();
    assert_eq!((plan.index, plan.ordered), (0, Some(true)));
    let by_id = [(0, CmpOp::Eq, &agent), (1, CmpOp::Eq, &epoch), (4, CmpOp::Eq, &live), (5, CmpOp::Eq, &id)];
    assert_eq!(choose(&schema, &indexes, &by_id, &[], false).unwrap().index, 1);
}
