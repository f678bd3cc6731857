//! Conversions between the WIT storage types and the storage crate's model.
//!
//! Filters cross the boundary as a flat list of nodes (WIT has no recursive
//! types); the host rebuilds the tree and checks every index points backwards,
//! so a malformed or cyclic filter from a guest is refused, never followed.

use nexau_session_storage as st;

use super::bindings::nexau::session::storage as wit;

/// WIT value → model value.
pub fn value_from_wit(v: wit::Value) -> st::Value {
    match v {
        wit::Value::Null => st::Value::Null,
        wit::Value::Boolean(b) => st::Value::Bool(b),
        wit::Value::Integer(i) => st::Value::Int(i),
        wit::Value::Float(f) => st::Value::Float(f),
        wit::Value::Text(s) => st::Value::Text(s),
        wit::Value::Json(s) => st::Value::Json(s),
        wit::Value::Bytes(b) => st::Value::Bytes(b),
        wit::Value::Timestamp(s) => st::Value::Timestamp(s),
    }
}

/// Model value → WIT value.
pub fn value_to_wit(v: st::Value) -> wit::Value {
    match v {
        st::Value::Null => wit::Value::Null,
        st::Value::Bool(b) => wit::Value::Boolean(b),
        st::Value::Int(i) => wit::Value::Integer(i),
        st::Value::Float(f) => wit::Value::Float(f),
        st::Value::Text(s) => wit::Value::Text(s),
        st::Value::Json(s) => wit::Value::Json(s),
        st::Value::Bytes(b) => wit::Value::Bytes(b),
        st::Value::Timestamp(s) => wit::Value::Timestamp(s),
    }
}

fn column_type_from_wit(t: wit::ColumnType) -> st::ColumnType {
    match t {
        wit::ColumnType::Boolean => st::ColumnType::Bool,
        wit::ColumnType::Integer => st::ColumnType::Int,
        wit::ColumnType::Float => st::ColumnType::Float,
        wit::ColumnType::Text => st::ColumnType::Text,
        wit::ColumnType::Json => st::ColumnType::Json,
        wit::ColumnType::Bytes => st::ColumnType::Bytes,
        wit::ColumnType::Timestamp => st::ColumnType::Timestamp,
    }
}

/// WIT schema → model schema.
pub fn schema_from_wit(s: wit::TableSchema) -> st::TableSchema {
    st::TableSchema {
        name: s.name,
        columns: s
            .columns
            .into_iter()
            .map(|c| st::Column { name: c.name, ty: column_type_from_wit(c.kind), nullable: c.nullable })
            .collect(),
        primary_key: s.primary_key,
        indexes: s
            .indexes
            .into_iter()
            .map(|i| st::Index { name: i.name, columns: i.columns, unique: i.unique })
            .collect(),
    }
}

fn op_from_wit(op: wit::CompareOp) -> st::CmpOp {
    match op {
        wit::CompareOp::Eq => st::CmpOp::Eq,
        wit::CompareOp::Ne => st::CmpOp::Ne,
        wit::CompareOp::Lt => st::CmpOp::Lt,
        wit::CompareOp::Le => st::CmpOp::Le,
        wit::CompareOp::Gt => st::CmpOp::Gt,
        wit::CompareOp::Ge => st::CmpOp::Ge,
    }
}

#[cfg(test)]
fn op_to_wit(op: st::CmpOp) -> wit::CompareOp {
    match op {
        st::CmpOp::Eq => wit::CompareOp::Eq,
        st::CmpOp::Ne => wit::CompareOp::Ne,
        st::CmpOp::Lt => wit::CompareOp::Lt,
        st::CmpOp::Le => wit::CompareOp::Le,
        st::CmpOp::Gt => wit::CompareOp::Gt,
        st::CmpOp::Ge => wit::CompareOp::Ge,
    }
}

/// Flat WIT filter → filter tree. Each `and`/`or`/`not` may only refer to
/// nodes before it; the root is the last node.
pub fn filter_from_wit(f: wit::Filter) -> Result<st::Filter, st::StorageError> {
    let mut built: Vec<Option<st::Filter>> = Vec::with_capacity(f.nodes.len());
    let take = |built: &mut Vec<Option<st::Filter>>, here: usize, i: u32| -> Result<st::Filter, st::StorageError> {
        let i = i as usize;
        if i >= here {
            return Err(st::StorageError::Invalid(format!(
                "filter node {here} refers to node {i}, which is not before it"
            )));
        }
        built[i].take().ok_or_else(|| st::StorageError::Invalid(format!("filter node {i} is used twice")))
    };
    for (here, node) in f.nodes.into_iter().enumerate() {
        let tree = match node {
            wit::FilterNode::Compare(c) => {
                st::Filter::Cmp { field: c.field, op: op_from_wit(c.op), value: value_from_wit(c.value) }
            }
            wit::FilterNode::InList(m) => {
                st::Filter::In { field: m.field, values: m.values.into_iter().map(value_from_wit).collect() }
            }
            wit::FilterNode::IsNull(field) => st::Filter::IsNull(field),
            wit::FilterNode::And(ix) => {
                st::Filter::And(ix.into_iter().map(|i| take(&mut built, here, i)).collect::<Result<_, _>>()?)
            }
            wit::FilterNode::Or(ix) => {
                st::Filter::Or(ix.into_iter().map(|i| take(&mut built, here, i)).collect::<Result<_, _>>()?)
            }
            wit::FilterNode::Not(i) => st::Filter::Not(Box::new(take(&mut built, here, i)?)),
        };
        built.push(Some(tree));
    }
    match built.pop() {
        None => Ok(st::Filter::All),
        Some(root) => {
            let root =
                root.ok_or_else(|| st::StorageError::Invalid("the filter's root node is used as a child".into()))?;
            if built.iter().any(Option::is_some) {
                return Err(st::StorageError::Invalid("a filter node is not reachable from the root".into()));
            }
            Ok(root)
        }
    }
}

/// Filter tree → flat WIT filter (the encoding's round-trip test; the host
/// sends the component no filters). `like` has no WIT form and becomes a
/// filter that matches nothing.
#[cfg(test)]
pub fn filter_to_wit(f: &st::Filter) -> wit::Filter {
    fn push(f: &st::Filter, nodes: &mut Vec<wit::FilterNode>) -> u32 {
        let node = match f {
            st::Filter::All => wit::FilterNode::And(Vec::new()),
            st::Filter::Cmp { field, op, value } => wit::FilterNode::Compare(wit::Comparison {
                field: field.clone(),
                op: op_to_wit(*op),
                value: value_to_wit(value.clone()),
            }),
            st::Filter::In { field, values } => wit::FilterNode::InList(wit::Membership {
                field: field.clone(),
                values: values.iter().cloned().map(value_to_wit).collect(),
            }),
            st::Filter::IsNull(field) => wit::FilterNode::IsNull(field.clone()),
            st::Filter::Like { .. } => wit::FilterNode::Or(Vec::new()),
            st::Filter::And(v) => wit::FilterNode::And(v.iter().map(|c| push(c, nodes)).collect()),
            st::Filter::Or(v) => wit::FilterNode::Or(v.iter().map(|c| push(c, nodes)).collect()),
            st::Filter::Not(c) => wit::FilterNode::Not(push(c, nodes)),
        };
        nodes.push(node);
        (nodes.len() - 1) as u32
    }
    let mut nodes = Vec::new();
    if !matches!(f, st::Filter::All) {
        push(f, &mut nodes);
    }
    wit::Filter { nodes }
}

/// WIT query → model query.
pub fn query_from_wit(q: wit::Query) -> Result<st::Query, st::StorageError> {
    Ok(st::Query {
        filter: filter_from_wit(q.filter)?,
        order_by: q.order_by.into_iter().map(|o| st::Order { field: o.field, descending: o.descending }).collect(),
        limit: q.limit.map(u64::from),
        offset: q.offset.map(u64::from),
        columns: q.columns,
    })
}

/// WIT rows → model rows.
pub fn rows_from_wit(r: wit::RowSet) -> st::RowSet {
    st::RowSet {
        columns: r.columns,
        rows: r.rows.into_iter().map(|row| row.into_iter().map(value_from_wit).collect()).collect(),
    }
}

/// Model rows → WIT rows.
pub fn rows_to_wit(r: st::RowSet) -> wit::RowSet {
    wit::RowSet {
        columns: r.columns,
        rows: r.rows.into_iter().map(|row| row.into_iter().map(value_to_wit).collect()).collect(),
    }
}

/// Packed model rows → WIT packed rows (the same lists, moved).
pub fn packed_to_wit(r: st::PackedRows) -> wit::PackedRows {
    wit::PackedRows { columns: r.columns, kinds: r.kinds, values: r.values, text: r.text, bytes: r.bytes }
}

/// WIT assignments → model assignments.
pub fn assignments_from_wit(set: Vec<wit::Assignment>) -> Vec<(String, st::Value)> {
    set.into_iter().map(|a| (a.column, value_from_wit(a.value))).collect()
}

/// WIT batch op → model batch op.
pub fn write_op_from_wit(op: wit::WriteOp) -> Result<st::WriteOp, st::StorageError> {
    Ok(match op {
        wit::WriteOp::Insert(i) => st::WriteOp::Insert { table: i.table, rows: rows_from_wit(i.rows) },
        wit::WriteOp::Update(u) => st::WriteOp::Update {
            table: u.table,
            filter: filter_from_wit(u.filter)?,
            set: assignments_from_wit(u.set),
            expect: u.expect,
        },
        wit::WriteOp::Delete(d) => {
            st::WriteOp::Delete { table: d.table, filter: filter_from_wit(d.filter)?, expect: d.expect }
        }
        wit::WriteOp::Check(c) => {
            st::WriteOp::Check { table: c.table, filter: filter_from_wit(c.filter)?, expect: c.expect }
        }
    })
}

/// Model error → WIT error. A backend failure's text carries its causes,
/// on one line.
pub fn error_to_wit(e: &st::StorageError) -> wit::StorageError {
    match e {
        st::StorageError::TableNotFound(t) => wit::StorageError::TableNotFound(t.clone()),
        st::StorageError::DuplicateKey(m) => wit::StorageError::DuplicateKey(m.clone()),
        st::StorageError::Conflict(i) => wit::StorageError::Conflict(*i),
        st::StorageError::Invalid(m) | st::StorageError::Url(m) => wit::StorageError::Invalid(m.clone()),
        st::StorageError::SchemaMismatch(_) | st::StorageError::Backend { .. } => {
            wit::StorageError::Backend(with_causes(e))
        }
    }
}

/// `e`'s text followed by its causes', on one line.
fn with_causes(e: &dyn std::error::Error) -> String {
    super::call_error::collapse_whitespace(&st::error_chain(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaf() -> impl Strategy<Value = st::Filter> {
        prop_oneof![
            (any::<i64>()).prop_map(|i| st::Filter::eq("a", i)),
            ("[a-z]{0,4}").prop_map(|s| st::Filter::lt("b", s.as_str())),
            Just(st::Filter::is_null("c")),
            proptest::collection::vec(any::<i64>(), 0..3).prop_map(|v| st::Filter::is_in("a", v)),
        ]
    }

    fn tree() -> impl Strategy<Value = st::Filter> {
        leaf().prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(st::Filter::And),
                proptest::collection::vec(inner.clone(), 0..4).prop_map(st::Filter::Or),
                inner.prop_map(st::Filter::not),
            ]
        })
    }

    proptest! {
        #[test]
        fn filters_survive_the_flat_encoding(f in tree()) {
            let back = filter_from_wit(filter_to_wit(&f)).unwrap();
            let expected = if matches!(f, st::Filter::All) { st::Filter::All } else { f };
            prop_assert_eq!(back, expected);
        }
    }

    #[test]
    fn forward_and_shared_references_are_refused() {
        let forward = wit::Filter { nodes: vec![wit::FilterNode::Not(1), wit::FilterNode::IsNull("a".into())] };
        assert!(matches!(filter_from_wit(forward), Err(st::StorageError::Invalid(_))));
        let shared = wit::Filter { nodes: vec![wit::FilterNode::IsNull("a".into()), wit::FilterNode::And(vec![0, 0])] };
        assert!(matches!(filter_from_wit(shared), Err(st::StorageError::Invalid(_))));
        let self_ref = wit::Filter { nodes: vec![wit::FilterNode::Not(0)] };
        assert!(matches!(filter_from_wit(self_ref), Err(st::StorageError::Invalid(_))));
    }
}
