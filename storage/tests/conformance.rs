//! The storage contract, written once and run against every backend.
//!
//! Each case is an async fn taking a fresh backend; the macro at the bottom
//! runs every case on every backend of the registry (`backends::BACKENDS`).

mod common;

use common::*;
use nexau_session_storage::*;

async fn setup(h: &Harness, scope: &str) -> CheckedStore {
    let store = h.store(scope);
    store.setup_models(vec![items(), pairs()]).await.expect("setup");
    store
}

mod cases {
    use super::*;

    pub async fn crud(h: Harness) {
        let s = setup(&h, "t1").await;
        let n = s
            .insert("items", items_rows(&[(1, Some("a"), Some(10)), (2, Some("b"), None), (3, None, Some(30))]))
            .await
            .unwrap();
        assert_eq!(n, 3);
        let all = s.find("items", &Query { order_by: vec![Order::parse("id")], ..Query::default() }).await.unwrap();
        assert_eq!(
            all.columns,
            items().columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            "declared columns, no scope"
        );
        assert_eq!(ids(&all), vec![1, 2, 3]);
        assert_eq!(all.get(0, "name"), Some(&Value::from("a")));
        assert_eq!(all.get(1, "n"), Some(&Value::Null));
        assert_eq!(all.get(2, "name"), Some(&Value::Null), "missing nullable column is NULL");
        assert_eq!(s.count("items", &Filter::All).await.unwrap(), 3);

        let changed = s
            .update("items", Filter::ge("id", 2i64), vec![("name".into(), "z".into()), ("n".into(), Value::Int(7))])
            .await
            .unwrap();
        assert_eq!(changed, 2);
        let z = s.find("items", &Query::filter(Filter::eq("name", "z"))).await.unwrap();
        assert_eq!(z.len(), 2);
        assert!((0..2).all(|r| z.get(r, "n") == Some(&Value::Int(7))));
        assert_eq!(s.update("items", Filter::eq("id", 99i64), vec![("n".into(), Value::Int(1))]).await.unwrap(), 0);

        assert_eq!(s.delete("items", Filter::eq("id", 1i64)).await.unwrap(), 1);
        assert_eq!(s.delete("items", Filter::eq("id", 1i64)).await.unwrap(), 0);
        assert_eq!(find_ids(&s, "items", Filter::All).await, vec![2, 3]);
        assert_eq!(s.delete("items", Filter::All).await.unwrap(), 2);
        assert_eq!(s.count("items", &Filter::All).await.unwrap(), 0);
        assert_eq!(s.insert("items", items_rows(&[])).await.unwrap(), 0);
    }

    pub async fn value_types_round_trip(h: Harness) {
        let s = setup(&h, "t1").await;
        let row = vec![
            Value::Int(1),
            Value::from("naïve ☃"),
            Value::Null,
            Value::Int(i64::MIN),
            Value::Float(-2.5),
            Value::Bool(true),
            Value::from("2026-03-04T05:06:07.123456Z"),
            Value::from(r#"{"k":[1,2,{"z":null}]}"#),
            Value::Bytes(vec![0, 255, 7]),
        ];
        let cols: Vec<&str> = ["id", "name", "email", "n", "x", "flag", "at", "doc", "data"].to_vec();
        s.insert("items", rows(&cols, vec![row])).await.unwrap();
        // An integer into a float column becomes a float.
        s.insert("items", rows(&["id", "x", "flag"], vec![vec![Value::Int(2), Value::Int(3), Value::Bool(false)]]))
            .await
            .unwrap();
        let got = s.find("items", &Query { order_by: vec![Order::parse("id")], ..Query::default() }).await.unwrap();
        assert_eq!(got.get(0, "name"), Some(&Value::from("naïve ☃")));
        assert_eq!(got.get(0, "n"), Some(&Value::Int(i64::MIN)));
        assert_eq!(got.get(0, "x"), Some(&Value::Float(-2.5)));
        assert_eq!(got.get(0, "flag"), Some(&Value::Bool(true)));
        assert_eq!(got.get(0, "at"), Some(&Value::Timestamp("2026-03-04T05:06:07.123456Z".into())));
        assert_eq!(got.get(0, "doc"), Some(&Value::Json(r#"{"k":[1,2,{"z":null}]}"#.into())));
        assert_eq!(got.get(0, "data"), Some(&Value::Bytes(vec![0, 255, 7])));
        assert_eq!(got.get(1, "x"), Some(&Value::Float(3.0)));
        assert_eq!(got.get(1, "flag"), Some(&Value::Bool(false)));
        // Each type filters by equality.
        for (field, v) in [
            ("flag", Value::Bool(true)),
            ("x", Value::Float(-2.5)),
            ("data", Value::Bytes(vec![0, 255, 7])),
            ("doc", Value::from(r#"{"k":[1,2,{"z":null}]}"#)),
            ("n", Value::Int(i64::MIN)),
        ] {
            assert_eq!(find_ids(&s, "items", Filter::eq(field, v.clone())).await, vec![1], "{field} = {v:?}");
        }
        assert_eq!(find_ids(&s, "items", Filter::eq("x", 3i64)).await, vec![2], "int compared to float column");
        assert_eq!(find_ids(&s, "items", Filter::lt("flag", true)).await, vec![2], "false < true");
    }

    pub async fn filters_and_null_semantics(h: Harness) {
        let s = setup(&h, "t1").await;
        s.insert(
            "items",
            items_rows(&[
                (1, Some("apple"), Some(1)),
                (2, Some("Banana"), Some(2)),
                (3, Some("cherry"), Some(3)),
                (4, None, None),
            ]),
        )
        .await
        .unwrap();
        let cases: Vec<(Filter, Vec<i64>)> = vec![
            (Filter::eq("n", 2i64), vec![2]),
            (Filter::ne("n", 2i64), vec![1, 3]),
            (Filter::lt("n", 2i64), vec![1]),
            (Filter::le("n", 2i64), vec![1, 2]),
            (Filter::gt("n", 2i64), vec![3]),
            (Filter::ge("n", 2i64), vec![2, 3]),
            (Filter::is_in("n", [1i64, 3, 99]), vec![1, 3]),
            (Filter::is_in::<i64>("n", []), vec![]),
            (Filter::not(Filter::is_in::<i64>("n", [])), vec![1, 2, 3, 4]),
            (Filter::not(Filter::is_in("n", [1i64])), vec![2, 3]),
            (Filter::is_null("n"), vec![4]),
            (Filter::not(Filter::is_null("n")), vec![1, 2, 3]),
            // NULL compares unknown, and NOT unknown is still unknown.
            (Filter::not(Filter::eq("n", 1i64)), vec![2, 3]),
            (Filter::not(Filter::not(Filter::eq("n", 1i64))), vec![1]),
            (Filter::or([Filter::eq("n", 1i64), Filter::is_null("n")]), vec![1, 4]),
            (Filter::and([Filter::gt("n", 1i64), Filter::lt("n", 3i64)]), vec![2]),
            (Filter::not(Filter::and([Filter::gt("n", 1i64), Filter::lt("n", 3i64)])), vec![1, 3]),
            (Filter::not(Filter::or([Filter::eq("n", 1i64), Filter::eq("name", "cherry")])), vec![2]),
            (Filter::and([]), vec![1, 2, 3, 4]),
            (Filter::or([]), vec![]),
            (Filter::not(Filter::or([])), vec![1, 2, 3, 4]),
            (Filter::All, vec![1, 2, 3, 4]),
            // Text compares byte-wise: upper case sorts before lower case.
            (Filter::lt("name", "apple"), vec![2]),
            (Filter::ge("name", "b"), vec![3]),
            (Filter::is_in("name", ["apple", "cherry"]), vec![1, 3]),
        ];
        for (filter, want) in cases {
            assert_eq!(find_ids(&s, "items", filter.clone()).await, want, "{filter:?}");
            assert_eq!(s.count("items", &filter).await.unwrap(), want.len() as u64, "count {filter:?}");
        }
    }

    pub async fn order_limit_offset(h: Harness) {
        let s = setup(&h, "t1").await;
        s.insert(
            "items",
            items_rows(&[
                (1, Some("b"), Some(2)),
                (2, Some("a"), None),
                (3, Some("b"), Some(1)),
                (4, Some("a"), Some(3)),
                (5, None, Some(2)),
            ]),
        )
        .await
        .unwrap();
        let q = |order: &[&str], limit: Option<u64>, offset: Option<u64>| Query {
            filter: Filter::All,
            order_by: order.iter().map(|o| Order::parse(o)).collect(),
            limit,
            offset,
            columns: Vec::new(),
        };
        let run = |query: Query| {
            let s = s.clone();
            async move { ids(&s.find("items", &query).await.unwrap()) }
        };
        assert_eq!(run(q(&["n", "id"], None, None)).await, vec![2, 3, 1, 5, 4], "NULLs first ascending");
        assert_eq!(run(q(&["-n", "id"], None, None)).await, vec![4, 1, 5, 3, 2], "NULLs last descending");
        assert_eq!(run(q(&["name", "-id"], None, None)).await, vec![5, 4, 2, 3, 1]);
        assert_eq!(run(q(&["-id"], Some(2), None)).await, vec![5, 4]);
        assert_eq!(run(q(&["id"], Some(2), Some(1))).await, vec![2, 3]);
        assert_eq!(run(q(&["id"], None, Some(3))).await, vec![4, 5], "offset without limit");
        assert_eq!(run(q(&["id"], Some(0), None)).await, Vec::<i64>::new());
        assert_eq!(run(q(&["id"], Some(10), Some(10))).await, Vec::<i64>::new());
        let filtered = Query { filter: Filter::ne("name", "b"), ..q(&["-id"], Some(1), Some(1)) };
        assert_eq!(run(filtered).await, vec![2]);
    }

    pub async fn unique_keys(h: Harness) {
        let s = setup(&h, "t1").await;
        let with_email = |id: i64, email: Option<&str>| {
            rows(&["id", "email"], vec![vec![Value::Int(id), email.map_or(Value::Null, Value::from)]])
        };
        s.insert("items", with_email(1, Some("a@x"))).await.unwrap();
        // Primary key.
        let err = s.insert("items", with_email(1, Some("other@x"))).await.unwrap_err();
        assert!(matches!(&err, StorageError::DuplicateKey(m) if m.contains("items")), "{err:?}");
        // Unique index.
        let err = s.insert("items", with_email(2, Some("a@x"))).await.unwrap_err();
        assert!(matches!(&err, StorageError::DuplicateKey(m) if m.contains("items")), "{err:?}");
        // NULLs never collide.
        s.insert("items", with_email(2, None)).await.unwrap();
        s.insert("items", with_email(3, None)).await.unwrap();
        // A conflicting multi-row insert inserts none of its rows.
        let batch = rows(
            &["id", "email"],
            vec![vec![Value::Int(10), Value::from("new@x")], vec![Value::Int(11), Value::from("a@x")]],
        );
        assert!(matches!(s.insert("items", batch).await, Err(StorageError::DuplicateKey(_))));
        let dup_within = rows(&["id"], vec![vec![Value::Int(20)], vec![Value::Int(20)]]);
        assert!(matches!(s.insert("items", dup_within).await, Err(StorageError::DuplicateKey(_))));
        assert_eq!(find_ids(&s, "items", Filter::All).await, vec![1, 2, 3]);
        // An update into a taken key changes nothing.
        let err = s.update("items", Filter::eq("id", 2i64), vec![("email".into(), "a@x".into())]).await.unwrap_err();
        assert!(matches!(err, StorageError::DuplicateKey(_)), "{err:?}");
        let err =
            s.update("items", Filter::is_null("email"), vec![("email".into(), "same@x".into())]).await.unwrap_err();
        assert!(matches!(err, StorageError::DuplicateKey(_)), "two rows onto one key: {err:?}");
        assert_eq!(s.count("items", &Filter::is_null("email")).await.unwrap(), 2, "failed update wrote nothing");
        // Moving a row's own key is fine.
        assert_eq!(s.update("items", Filter::eq("id", 1i64), vec![("email".into(), "b@x".into())]).await.unwrap(), 1);
        s.insert("items", with_email(4, Some("a@x"))).await.unwrap();

        // Composite keys: the whole key must match to collide; a NULL part never collides.
        let pr = |a: &str, b: i64, u: Option<&str>, v: Option<i64>| {
            rows(
                &["a", "b", "u", "v"],
                vec![vec![
                    a.into(),
                    Value::Int(b),
                    u.map_or(Value::Null, Value::from),
                    v.map_or(Value::Null, Value::Int),
                ]],
            )
        };
        s.insert("pairs", pr("x", 1, Some("u"), Some(1))).await.unwrap();
        s.insert("pairs", pr("x", 2, Some("u"), Some(2))).await.unwrap();
        s.insert("pairs", pr("y", 1, Some("u"), None)).await.unwrap();
        s.insert("pairs", pr("y", 2, Some("u"), None)).await.unwrap();
        assert!(matches!(s.insert("pairs", pr("x", 1, None, None)).await, Err(StorageError::DuplicateKey(_))));
        assert!(matches!(s.insert("pairs", pr("z", 1, Some("u"), Some(2))).await, Err(StorageError::DuplicateKey(_))));
        assert_eq!(s.count("pairs", &Filter::All).await.unwrap(), 4);
    }

    pub async fn apply_is_all_or_nothing(h: Harness) {
        let s = setup(&h, "t1").await;
        s.insert("items", items_rows(&[(1, Some("a"), Some(1)), (2, Some("b"), Some(2))])).await.unwrap();
        let before = s.find("items", &Query { order_by: vec![Order::parse("id")], ..Query::default() }).await.unwrap();

        let batch = vec![
            WriteOp::Insert { table: "items".into(), rows: items_rows(&[(3, Some("c"), None)]) },
            WriteOp::Update {
                table: "items".into(),
                filter: Filter::eq("id", 1i64),
                set: vec![("n".into(), Value::Int(100))],
                expect: Some(1),
            },
            WriteOp::Delete { table: "items".into(), filter: Filter::eq("id", 2i64), expect: None },
            WriteOp::Update {
                table: "items".into(),
                filter: Filter::eq("id", 42i64),
                set: vec![("n".into(), Value::Int(0))],
                expect: Some(1),
            },
        ];
        assert_eq!(s.apply(batch).await.unwrap_err(), StorageError::Conflict(3));
        let after = s.find("items", &Query { order_by: vec![Order::parse("id")], ..Query::default() }).await.unwrap();
        assert_eq!(after, before, "nothing of the failed batch remains");

        // A duplicate key late in a batch also rolls back earlier ops.
        let batch = vec![
            WriteOp::Delete { table: "items".into(), filter: Filter::eq("id", 2i64), expect: Some(1) },
            WriteOp::Insert { table: "pairs".into(), rows: rows(&["a", "b"], vec![vec!["p".into(), Value::Int(1)]]) },
            WriteOp::Insert { table: "items".into(), rows: items_rows(&[(1, None, None)]) },
        ];
        assert!(matches!(s.apply(batch).await, Err(StorageError::DuplicateKey(_))));
        assert_eq!(s.count("items", &Filter::All).await.unwrap(), 2);
        assert_eq!(s.count("pairs", &Filter::All).await.unwrap(), 0);

        // The first problem in op order is the one reported: an op that
        // missed its count, before a later op that would fail (a
        // compare-and-set that lost, before rows that now collide), is a
        // conflict to retry, not a duplicate key.
        let batch = vec![
            WriteOp::Update {
                table: "items".into(),
                filter: Filter::eq("id", 42i64),
                set: vec![("n".into(), Value::Int(0))],
                expect: Some(1),
            },
            WriteOp::Insert { table: "items".into(), rows: items_rows(&[(1, None, None)]) },
        ];
        assert_eq!(s.apply(batch).await.unwrap_err(), StorageError::Conflict(0));
        assert_eq!(s.count("items", &Filter::All).await.unwrap(), 2);

        // Delete expecting the wrong count.
        let batch = vec![
            WriteOp::Insert { table: "pairs".into(), rows: rows(&["a", "b"], vec![vec!["p".into(), Value::Int(1)]]) },
            WriteOp::Delete { table: "items".into(), filter: Filter::All, expect: Some(5) },
        ];
        assert_eq!(s.apply(batch).await.unwrap_err(), StorageError::Conflict(1));
        assert_eq!(s.count("pairs", &Filter::All).await.unwrap(), 0);
        assert_eq!(s.count("items", &Filter::All).await.unwrap(), 2);

        // A successful batch returns each op's count and keeps everything.
        let batch = vec![
            WriteOp::Check { table: "items".into(), filter: Filter::eq("id", 1i64), expect: 1 },
            WriteOp::Insert { table: "items".into(), rows: items_rows(&[(3, Some("c"), None), (4, None, None)]) },
            WriteOp::Update {
                table: "items".into(),
                filter: Filter::All,
                set: vec![("flag".into(), Value::Bool(true))],
                expect: Some(4),
            },
            WriteOp::Delete { table: "items".into(), filter: Filter::eq("id", 4i64), expect: Some(1) },
            WriteOp::Check { table: "items".into(), filter: Filter::eq("flag", true), expect: 3 },
        ];
        assert_eq!(s.apply(batch).await.unwrap(), vec![1, 2, 4, 1, 3]);
        assert_eq!(find_ids(&s, "items", Filter::eq("flag", true)).await, vec![1, 2, 3]);
        assert_eq!(s.apply(vec![]).await.unwrap(), Vec::<u64>::new());
    }

    pub async fn check_op(h: Harness) {
        let s = setup(&h, "t1").await;
        s.insert("items", items_rows(&[(1, Some("holder"), Some(7))])).await.unwrap();
        // The check fails: the update before it is undone.
        let batch = vec![
            WriteOp::Update {
                table: "items".into(),
                filter: Filter::eq("id", 1i64),
                set: vec![("n".into(), Value::Int(8))],
                expect: None,
            },
            WriteOp::Check { table: "items".into(), filter: Filter::eq("name", "someone else"), expect: 1 },
        ];
        assert_eq!(s.apply(batch).await.unwrap_err(), StorageError::Conflict(1));
        assert_eq!(find_ids(&s, "items", Filter::eq("n", 7i64)).await, vec![1]);
        // Check sees the batch's own earlier writes.
        let batch = vec![
            WriteOp::Update {
                table: "items".into(),
                filter: Filter::eq("id", 1i64),
                set: vec![("n".into(), Value::Int(8))],
                expect: Some(1),
            },
            WriteOp::Check { table: "items".into(), filter: Filter::eq("n", 8i64), expect: 1 },
            WriteOp::Check { table: "items".into(), filter: Filter::eq("n", 7i64), expect: 0 },
        ];
        assert_eq!(s.apply(batch).await.unwrap(), vec![1, 1, 0]);
        assert_eq!(find_ids(&s, "items", Filter::eq("n", 8i64)).await, vec![1]);
    }

    pub async fn scope_isolation(h: Harness) {
        let a = setup(&h, "tenant_a").await;
        let b = h.store("tenant_b"); // shares the registry: no setup needed
        assert_eq!(b.tables(), vec!["items".to_string(), "pairs".into()]);
        // The same keys in both scopes do not collide.
        a.insert("items", items_rows(&[(1, Some("a1"), Some(1)), (2, Some("a2"), Some(2))])).await.unwrap();
        b.insert("items", items_rows(&[(1, Some("b1"), Some(1))])).await.unwrap();
        let email = |id: i64| rows(&["id", "email"], vec![vec![Value::Int(id), "same@x".into()]]);
        a.insert("items", email(10)).await.unwrap();
        b.insert("items", email(10)).await.unwrap();

        assert_eq!(find_ids(&a, "items", Filter::All).await, vec![1, 2, 10]);
        assert_eq!(find_ids(&b, "items", Filter::All).await, vec![1, 10]);
        let b_rows = b.find("items", &Query::filter(Filter::eq("id", 1i64))).await.unwrap();
        assert_eq!(b_rows.get(0, "name"), Some(&Value::from("b1")));
        assert!(b_rows.position("scope").is_none());
        assert_eq!(b.count("items", &Filter::All).await.unwrap(), 2);

        // Writes through one scope never touch the other.
        assert_eq!(b.update("items", Filter::All, vec![("name".into(), "B".into())]).await.unwrap(), 2);
        assert_eq!(find_ids(&a, "items", Filter::eq("name", "B")).await, Vec::<i64>::new());
        assert_eq!(b.delete("items", Filter::eq("id", 2i64)).await.unwrap(), 0, "id 2 exists only in tenant_a");
        assert_eq!(a.count("items", &Filter::eq("id", 2i64)).await.unwrap(), 1);
        assert_eq!(a.delete("items", Filter::All).await.unwrap(), 3);
        assert_eq!(b.count("items", &Filter::All).await.unwrap(), 2);
        let batch = vec![WriteOp::Check { table: "items".into(), filter: Filter::All, expect: 0 }];
        assert_eq!(a.apply(batch.clone()).await.unwrap(), vec![0]);
        assert_eq!(b.apply(batch).await.unwrap_err(), StorageError::Conflict(0));

        // The scope column cannot be named by the guest.
        let err = a.find("items", &Query::filter(Filter::eq("scope", "tenant_b"))).await.unwrap_err();
        assert!(matches!(err, StorageError::Invalid(_)), "{err:?}");
        let err =
            a.insert("items", rows(&["id", "scope"], vec![vec![Value::Int(5), "tenant_b".into()]])).await.unwrap_err();
        assert!(matches!(err, StorageError::Invalid(_)), "{err:?}");
        let err = a.update("items", Filter::All, vec![("scope".into(), "tenant_b".into())]).await.unwrap_err();
        assert!(matches!(err, StorageError::Invalid(_)), "{err:?}");
        assert_eq!(b.count("items", &Filter::All).await.unwrap(), 2);
    }

    pub async fn table_not_found_before_setup(h: Harness) {
        let s = h.store("t1");
        let is_tnf = |r: Result<(), StorageError>| match r {
            Err(e @ StorageError::TableNotFound(_)) => {
                assert!(e.to_string().contains("setup_models"), "{e}");
                assert_eq!(e, StorageError::TableNotFound("items".into()));
            }
            other => panic!("expected TableNotFound, got {other:?}"),
        };
        is_tnf(s.find("items", &Query::default()).await.map(drop));
        is_tnf(s.count("items", &Filter::All).await.map(drop));
        is_tnf(s.insert("items", items_rows(&[(1, None, None)])).await.map(drop));
        is_tnf(s.update("items", Filter::All, vec![("n".into(), Value::Int(1))]).await.map(drop));
        is_tnf(s.delete("items", Filter::All).await.map(drop));
        is_tnf(s.apply(vec![WriteOp::Check { table: "items".into(), filter: Filter::All, expect: 0 }]).await.map(drop));
        assert!(s.tables().is_empty());
        s.setup_models(vec![items()]).await.unwrap();
        assert_eq!(s.count("items", &Filter::All).await.unwrap(), 0);
        assert!(matches!(s.count("pairs", &Filter::All).await, Err(StorageError::TableNotFound(t)) if t == "pairs"));
    }

    pub async fn setup_is_idempotent(h: Harness) {
        let s = setup(&h, "t1").await;
        s.insert("items", items_rows(&[(1, None, None)])).await.unwrap();
        s.setup_models(vec![items(), pairs()]).await.unwrap();
        h.store("t2").setup_models(vec![pairs()]).await.unwrap();
        assert_eq!(s.count("items", &Filter::All).await.unwrap(), 1, "re-setup keeps data");
        let mut changed = items();
        changed.columns.push(col("extra", ColumnType::Int, true));
        let err = s.setup_models(vec![changed]).await.unwrap_err();
        assert!(matches!(&err, StorageError::Invalid(m) if m.contains("items")), "{err:?}");
        assert_eq!(s.schema("items").as_deref(), Some(&items()));
        // A fresh registry over the same backend (a restarted process) sets up again.
        let again = CheckedStore::new(h.backend.clone(), SchemaRegistry::new(), "t1");
        again.setup_models(vec![items()]).await.unwrap();
        assert_eq!(again.count("items", &Filter::All).await.unwrap(), 1);
    }

    pub async fn validation_errors(h: Harness) {
        let s = setup(&h, "t1").await;
        s.insert("items", items_rows(&[(1, Some("a"), Some(1))])).await.unwrap();
        let invalid = |r: Result<(), StorageError>, needle: &str| match r {
            Err(StorageError::Invalid(m)) => assert!(m.contains(needle), "{m:?} should mention {needle:?}"),
            other => panic!("expected Invalid mentioning {needle:?}, got {other:?}"),
        };
        // Unknown columns, everywhere a column is named.
        invalid(s.find("items", &Query::filter(Filter::eq("nope", 1i64))).await.map(drop), "nope");
        invalid(s.find("items", &Query::filter(Filter::not(Filter::is_null("ghost")))).await.map(drop), "ghost");
        invalid(
            s.find("items", &Query { order_by: vec![Order::parse("-nope")], ..Query::default() }).await.map(drop),
            "nope",
        );
        invalid(s.count("items", &Filter::is_in("zzz", [1i64])).await.map(drop), "zzz");
        invalid(
            s.insert("items", rows(&["id", "bad"], vec![vec![Value::Int(2), Value::Int(0)]])).await.map(drop),
            "bad",
        );
        invalid(s.update("items", Filter::All, vec![("bad".into(), Value::Int(0))]).await.map(drop), "bad");
        invalid(s.delete("items", Filter::eq("bad", 1i64)).await.map(drop), "bad");
        // Wrong types.
        invalid(s.find("items", &Query::filter(Filter::eq("n", "1"))).await.map(drop), "`n`");
        invalid(s.insert("items", rows(&["id"], vec![vec![Value::from("1")]])).await.map(drop), "`id`");
        invalid(s.update("items", Filter::All, vec![("flag".into(), Value::Int(1))]).await.map(drop), "`flag`");
        invalid(s.update("items", Filter::All, vec![("doc".into(), "{oops".into())]).await.map(drop), "JSON");
        for bad in ["", "{} x", "[1,]", "{\"a\":1,}", "nul"] {
            invalid(s.update("items", Filter::All, vec![("doc".into(), bad.into())]).await.map(drop), "JSON");
        }
        invalid(s.update("items", Filter::All, vec![("at".into(), "tomorrow".into())]).await.map(drop), "RFC 3339");
        invalid(s.update("items", Filter::All, vec![("x".into(), Value::Float(f64::NAN))]).await.map(drop), "finite");
        // NULL: only where nullable, never in comparisons.
        invalid(s.insert("items", rows(&["id"], vec![vec![Value::Null]])).await.map(drop), "nullable");
        invalid(s.insert("items", rows(&["name"], vec![vec!["x".into()]])).await.map(drop), "`id`");
        invalid(s.find("items", &Query::filter(Filter::eq("n", Value::Null))).await.map(drop), "is-null");
        invalid(s.count("items", &Filter::is_in("n", [Value::Null])).await.map(drop), "is-null");
        // Row shape.
        invalid(s.insert("items", rows(&["id", "n"], vec![vec![Value::Int(3)]])).await.map(drop), "row 0");
        invalid(
            s.insert("items", rows(&["id", "id"], vec![vec![Value::Int(3), Value::Int(3)]])).await.map(drop),
            "twice",
        );
        // Bad schemas.
        let mut bad = items();
        bad.name = "Items".into();
        invalid(h.store("t1").setup_models(vec![bad]).await, "Items");
        let mut bad = pairs();
        bad.name = "p2".into();
        bad.columns[0].name = "drop table".into();
        invalid(s.setup_models(vec![bad]).await, "drop table");
        let mut bad = pairs();
        bad.name = "p3".into();
        bad.columns.push(col("scope", ColumnType::Text, true));
        invalid(s.setup_models(vec![bad]).await, "reserved");
        let mut bad = pairs();
        bad.name = "p4".into();
        bad.indexes[0].columns.push("missing".into());
        invalid(s.setup_models(vec![bad]).await, "missing");
        assert_eq!(s.tables(), vec!["items".to_string(), "pairs".into()], "nothing registered by failed setups");
        // Nothing was written by any of the above.
        let all = s.find("items", &Query::default()).await.unwrap();
        assert_eq!(ids(&all), vec![1]);
        assert_eq!(all.get(0, "name"), Some(&Value::from("a")));
        assert_eq!(all.get(0, "doc"), Some(&Value::Null));
    }

    pub async fn timestamps_are_canonical(h: Harness) {
        let s = setup(&h, "t1").await;
        let at = |id: i64, t: &str| rows(&["id", "at"], vec![vec![Value::Int(id), t.into()]]);
        s.insert("items", at(1, "2026-01-01T00:00:00Z")).await.unwrap();
        s.insert("items", at(2, "2026-01-01 00:00:00.5")).await.unwrap();
        s.insert("items", at(3, "2026-01-01T00:00:01.000000Z")).await.unwrap();
        s.insert(
            "items",
            rows(&["id", "at"], vec![vec![Value::Int(4), Value::Timestamp("2025-12-31T23:59:59.999999999Z".into())]]),
        )
        .await
        .unwrap();
        let got = s.find("items", &Query { order_by: vec![Order::parse("id")], ..Query::default() }).await.unwrap();
        let stored: Vec<&Value> = (0..4).map(|r| got.get(r, "at").unwrap()).collect();
        assert_eq!(
            stored,
            vec![
                &Value::Timestamp("2026-01-01T00:00:00.000000Z".into()),
                &Value::Timestamp("2026-01-01T00:00:00.500000Z".into()),
                &Value::Timestamp("2026-01-01T00:00:01.000000Z".into()),
                &Value::Timestamp("2025-12-31T23:59:59.999999Z".into()),
            ]
        );
        // Filter values are canonicalized too, so equality and order follow time.
        assert_eq!(find_ids(&s, "items", Filter::eq("at", "2026-01-01T00:00:00Z")).await, vec![1]);
        assert_eq!(find_ids(&s, "items", Filter::eq("at", "2026-01-01T00:00:00.000000Z")).await, vec![1]);
        assert_eq!(find_ids(&s, "items", Filter::lt("at", "2026-01-01T00:00:01Z")).await, vec![1, 2, 4]);
        assert_eq!(find_ids(&s, "items", Filter::gt("at", "2026-01-01T00:00:00.1Z")).await, vec![2, 3]);
        assert_eq!(find_ids(&s, "items", Filter::is_in("at", ["2026-01-01T00:00:01Z"])).await, vec![3]);
        let order = s.find("items", &Query { order_by: vec![Order::parse("at")], ..Query::default() }).await.unwrap();
        assert_eq!(ids(&order), vec![4, 1, 2, 3]);
        let now = std::time::SystemTime::now();
        s.update("items", Filter::eq("id", 1i64), vec![("at".into(), Value::from(now))]).await.unwrap();
        assert_eq!(find_ids(&s, "items", Filter::eq("at", Value::from(now))).await, vec![1]);
        // Offsets are converted to UTC; times outside the supported range are refused.
        s.insert("items", at(5, "2026-01-01T05:30:00+05:30")).await.unwrap();
        assert_eq!(find_ids(&s, "items", Filter::eq("at", "2025-12-31T19:00:00-05:00")).await, vec![5]);
        for out_of_range in ["2300-01-01T00:00:00Z", "1969-07-20T20:17:00Z"] {
            let r = s.insert("items", at(6, out_of_range)).await;
            assert!(matches!(&r, Err(StorageError::Invalid(m)) if m.contains("supported time range")), "{r:?}");
        }
    }

    /// The table as a newer version declares it: one nullable column more, in the middle.
    fn wider_items() -> TableSchema {
        let mut wider = items();
        wider.columns.insert(2, col("note", ColumnType::Text, true));
        wider
    }

    fn names(schema: &TableSchema) -> Vec<String> {
        schema.columns.iter().map(|c| c.name.clone()).collect()
    }

    pub async fn setup_adds_declared_nullable_columns(h: Harness) {
        let v1 = setup(&h, "t1").await;
        v1.insert("items", items_rows(&[(1, Some("old"), Some(5))])).await.unwrap();
        // A new version of the session logic, in a new process: a fresh registry.
        let v2 = CheckedStore::new(h.backend.clone(), SchemaRegistry::new(), "t1");
        v2.setup_models(vec![wider_items(), pairs()]).await.expect("a nullable column is added");
        let row = vec![Value::Int(2), Value::from("new"), Value::from("hello")];
        v2.insert("items", rows(&["id", "name", "note"], vec![row])).await.unwrap();
        let ordered = Query { order_by: vec![Order::parse("id")], ..Query::default() };
        let got = v2.find("items", &ordered).await.unwrap();
        assert_eq!(got.columns, names(&wider_items()));
        assert_eq!(ids(&got), vec![1, 2]);
        assert_eq!(got.get(0, "note"), Some(&Value::Null), "existing rows read NULL");
        assert_eq!(got.get(0, "name"), Some(&Value::from("old")));
        assert_eq!(got.get(0, "n"), Some(&Value::Int(5)));
        assert_eq!(got.get(1, "note"), Some(&Value::from("hello")));
        assert_eq!(find_ids(&v2, "items", Filter::eq("note", "hello")).await, vec![2]);
        assert_eq!(find_ids(&v2, "items", Filter::is_null("note")).await, vec![1]);
        v2.update("items", Filter::eq("id", 1i64), vec![("note".into(), "set".into())]).await.unwrap();
        assert_eq!(find_ids(&v2, "items", Filter::eq("note", "set")).await, vec![1]);
        // The older declaration keeps working on the wider table.
        v1.insert("items", items_rows(&[(3, Some("v1"), None)])).await.unwrap();
        let old = v1.find("items", &ordered).await.unwrap();
        assert_eq!(old.columns, names(&items()));
        assert_eq!(ids(&old), vec![1, 2, 3]);
        CheckedStore::new(h.backend.clone(), SchemaRegistry::new(), "t1")
            .setup_models(vec![items(), pairs()])
            .await
            .expect("the older declaration sets up again");
        // Setting the wider one up again changes nothing.
        let v3 = CheckedStore::new(h.backend.clone(), SchemaRegistry::new(), "t1");
        v3.setup_models(vec![wider_items()]).await.unwrap();
        let got = v3.find("items", &ordered).await.unwrap();
        assert_eq!(got.get(0, "note"), Some(&Value::from("set")));
        assert_eq!(got.get(2, "note"), Some(&Value::Null));
    }

    fn mismatch(r: Result<(), StorageError>, needle: &str) {
        match r {
            Err(StorageError::SchemaMismatch(m)) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
            other => panic!("expected a schema mismatch naming {needle:?}, got {other:?}"),
        }
    }

    pub async fn setup_refuses_incompatible_columns(h: Harness) {
        let v1 = setup(&h, "t1").await;
        v1.insert("items", items_rows(&[(1, Some("kept"), None)])).await.unwrap();
        let fresh = || CheckedStore::new(h.backend.clone(), SchemaRegistry::new(), "t1");
        let mut not_null = items();
        not_null.columns.push(col("must", ColumnType::Int, false));
        mismatch(fresh().setup_models(vec![not_null]).await, "`must`, declared NOT NULL");
        let mut retyped = items();
        retyped.columns[3].ty = ColumnType::Text;
        mismatch(fresh().setup_models(vec![retyped]).await, "column `n` is stored as");
        let mut tightened = items();
        tightened.columns[1].nullable = false;
        mismatch(fresh().setup_models(vec![tightened]).await, "column `name` is stored nullable");
        let mut narrower = pairs();
        narrower.columns.retain(|c| c.name != "b");
        narrower.primary_key = vec!["a".into()];
        mismatch(fresh().setup_models(vec![narrower]).await, "NOT NULL column `b` that is no longer declared");
        // A refused batch changes nothing, not even its other tables.
        let mut brand_new = pairs();
        brand_new.name = "brand_new".into();
        let mut bad = items();
        bad.columns.push(col("must", ColumnType::Int, false));
        mismatch(fresh().setup_models(vec![brand_new.clone(), bad]).await, "`must`");
        let scoped = validate::scoped_schema(&brand_new);
        assert_eq!(
            h.backend.count(&scoped, &Filter::All).await,
            Err(StorageError::TableNotFound("brand_new".into())),
            "nothing of a refused setup was created"
        );
        let again = fresh();
        again.setup_models(vec![items(), pairs()]).await.expect("the stored declaration still fits");
        assert_eq!(find_ids(&again, "items", Filter::All).await, vec![1]);
        let got = again.find("items", &Query::default()).await.unwrap();
        assert_eq!(got.columns, names(&items()));
    }

    /// `like`/`ilike`: the same rows on every backend, whatever its collation
    /// or locale: `%`, `_` (one character, also a multi-byte one), `\`
    /// escapes, case-sensitive `like`, ASCII-only folding in `ilike`, NULL
    /// never matching (nor its negation), counts and deletes alike.
    pub async fn like_patterns(h: Harness) {
        let s = setup(&h, "t1").await;
        let names: [(i64, Option<&str>); 11] = [
            (1, Some("alice")),
            (2, Some("Alice")),
            (3, Some("ALICE_B")),
            (4, Some("al%ce")),
            (5, Some("al_ce")),
            (6, Some("Émile")),
            (7, Some("émile")),
            (8, None),
            (9, Some(r"back\slash")),
            (10, Some("")),
            (11, Some("a*[?]")),
        ];
        let data: Vec<(i64, Option<&str>, Option<i64>)> = names.iter().map(|&(i, n)| (i, n, None)).collect();
        s.insert("items", items_rows(&data)).await.unwrap();
        let cases: Vec<(Filter, Vec<i64>)> = vec![
            (Filter::like("name", "al%"), vec![1, 4, 5]),
            (Filter::like("name", "al_ce"), vec![1, 4, 5]),
            (Filter::like("name", r"al\_ce"), vec![5]),
            (Filter::like("name", r"al\%ce"), vec![4]),
            (Filter::ilike("name", "alice%"), vec![1, 2, 3]),
            (Filter::ilike("name", r"alice\_%"), vec![3]),
            (Filter::like("name", "_mile"), vec![6, 7]),
            (Filter::ilike("name", "émile"), vec![7]),
            (Filter::ilike("name", "ÉMILE"), vec![6]),
            (Filter::ilike("name", "éMILE"), vec![7]),
            (Filter::like("name", r"%\\%"), vec![9]),
            (Filter::like("name", ""), vec![10]),
            (Filter::like("name", "%"), vec![1, 2, 3, 4, 5, 6, 7, 9, 10, 11]),
            (Filter::like("name", "a*[?]"), vec![11]),
            (Filter::like("name", "a_[_]"), vec![11]),
            (Filter::not(Filter::like("name", "%a%")), vec![2, 3, 6, 7, 10]),
            (Filter::or([Filter::like("name", "x%"), Filter::is_null("name")]), vec![8]),
        ];
        for (filter, want) in cases {
            assert_eq!(find_ids(&s, "items", filter.clone()).await, want, "{filter:?}");
            assert_eq!(s.count("items", &filter).await.unwrap(), want.len() as u64, "count {filter:?}");
        }
        for bad in [Filter::like("name", "ends\\"), Filter::like("n", "1%")] {
            let r = s.find("items", &Query::filter(bad.clone())).await;
            assert!(matches!(r, Err(StorageError::Invalid(_))), "{bad:?}: {r:?}");
        }
        assert_eq!(s.delete("items", Filter::ilike("name", "ALICE")).await.unwrap(), 2);
        assert_eq!(find_ids(&s, "items", Filter::ilike("name", "al%")).await, vec![3, 4, 5]);
    }

    pub async fn columns_returned(h: Harness) {
        let s = setup(&h, "t1").await;
        s.insert("items", items_rows(&[(1, Some("a"), Some(10)), (2, None, Some(20))])).await.unwrap();
        let by_id = Query { order_by: vec![Order::parse("id")], ..Query::default() };
        // The columns asked for, in that order, whatever the declaration order.
        let got = s.find("items", &by_id.clone().columns(["n", "name"])).await.unwrap();
        assert_eq!(got.columns, ["n", "name"]);
        assert_eq!(got.rows, vec![vec![Value::Int(10), Value::from("a")], vec![Value::Int(20), Value::Null]]);
        // Sorting and filtering on columns not returned.
        let q = Query { filter: Filter::ge("n", 15i64), ..by_id.clone() }.columns(["name"]);
        assert_eq!(s.find("items", &q).await.unwrap().rows, vec![vec![Value::Null]]);
        // None asked for: every declared column.
        assert_eq!(s.find("items", &by_id).await.unwrap().columns.len(), items().columns.len());
        // An undeclared column (the scope too), or one named twice, is refused.
        for bad in [vec!["nope"], vec!["scope"], vec!["id", "id"]] {
            let err = s.find("items", &by_id.clone().columns(bad.clone())).await.unwrap_err();
            assert!(matches!(err, StorageError::Invalid(_)), "{bad:?}: {err:?}");
        }
    }

    pub async fn in_lists_on_keys(h: Harness) {
        let s = setup(&h, "t1").await;
        let items: Vec<(i64, Option<&str>, Option<i64>)> = (1..=40).map(|i| (i, Some("x"), Some(i % 7))).collect();
        s.insert("items", items_rows(&items)).await.unwrap();
        let find = |filter: Filter| {
            let s = s.clone();
            async move {
                ids(&s
                    .find("items", &Query { filter, order_by: vec![Order::parse("id")], ..Query::default() })
                    .await
                    .unwrap())
            }
        };
        // On the primary key and on an index, with repeats, absent values and and values of no row.
        assert_eq!(find(Filter::is_in("id", [3i64, 1, 3, 99])).await, vec![1, 3]);
        assert_eq!(find(Filter::is_in("n", [6i64, 0])).await, vec![6, 7, 13, 14, 20, 21, 27, 28, 34, 35]);
        // Combined with other terms, and empty.
        let both = Filter::and([Filter::is_in("n", [1i64, 2]), Filter::lt("id", 10i64)]);
        assert_eq!(find(both).await, vec![1, 2, 8, 9]);
        assert_eq!(find(Filter::is_in("id", Vec::<i64>::new())).await, Vec::<i64>::new());
    }

    /// `find_packed` stands for exactly `find`'s rows: every value type,
    /// projections, order and limits, another tenant's rows never among
    /// them, and bad queries refused the same way.
    pub async fn packed_reads_match_find(h: Harness) {
        let s = setup(&h, "t1").await;
        let other = setup(&h, "t2").await;
        let cols = ["id", "name", "email", "n", "x", "flag", "at", "doc", "data"];
        let row = |id: i64, name: &str| {
            vec![
                Value::Int(id),
                Value::from(name),
                Value::Null,
                Value::Int(-id),
                Value::Float(id as f64 / 4.0),
                Value::Bool(id % 2 == 0),
                Value::from("2026-03-04T05:06:07.123456Z"),
                Value::from(r#"{"k":["ü",2]}"#),
                Value::Bytes(vec![0, 255, id as u8]),
            ]
        };
        s.insert("items", rows(&cols, vec![row(1, "naïve ☃"), row(2, ""), row(3, "c")])).await.unwrap();
        other.insert("items", rows(&cols, vec![row(1, "theirs"), row(9, "theirs")])).await.unwrap();
        let by_id = Query { order_by: vec![Order::parse("-id")], ..Query::default() };
        for q in [
            by_id.clone(),
            by_id.clone().columns(["data", "name", "x"]),
            Query { filter: Filter::ge("id", 2i64), limit: Some(1), ..by_id.clone() },
            Query { filter: Filter::eq("id", 99i64), ..by_id.clone() },
        ] {
            let packed = s.find_packed("items", q.clone()).await.unwrap();
            assert_eq!(packed.unpack().unwrap(), s.find("items", &q).await.unwrap(), "{q:?}");
        }
        let all = s.find_packed("items", by_id.clone()).await.unwrap();
        assert!(!all.columns.iter().any(|c| c == "scope"), "{:?}", all.columns);
        assert!(!all.text.contains("theirs") && !all.text.contains("t1"), "{}", all.text);
        let err = s.find_packed("items", by_id.columns(["scope"])).await.unwrap_err();
        assert!(matches!(err, StorageError::Invalid(_)), "{err:?}");
    }

    pub async fn the_schema_record_name_is_reserved(h: Harness) {
        let mut reserved = items();
        reserved.name = SCHEMA_TABLE.into();
        let r = h.store("t1").setup_models(vec![reserved]).await;
        assert!(matches!(&r, Err(StorageError::Invalid(m)) if m.contains("reserved")), "{r:?}");
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                on_every_backend(stringify!($case), |h| async move { cases::$case(h).await }).await;
            }
        )*
    };
}

conformance!(
    crud,
    value_types_round_trip,
    filters_and_null_semantics,
    order_limit_offset,
    unique_keys,
    apply_is_all_or_nothing,
    check_op,
    scope_isolation,
    table_not_found_before_setup,
    setup_is_idempotent,
    validation_errors,
    timestamps_are_canonical,
    setup_adds_declared_nullable_columns,
    setup_refuses_incompatible_columns,
    the_schema_record_name_is_reserved,
    like_patterns,
    columns_returned,
    in_lists_on_keys,
    packed_reads_match_find,
);
