//! `tenure demo --json`: one JSON document whose counts agree with the database it leaves
//! (read back with `--keep DIR`), with every field of the pool's `Status` and `Statistics`
//! (as they serialize).

mod common;

use std::collections::BTreeSet;

use common::demo;
use serde_json::Value;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_document_agrees_with_the_database_it_leaves() {
    let parent = tempfile::tempdir().unwrap();
    let kept = parent.path().join("run");
    let out = demo(&["--json", "--rows", "1500", "--keep", kept.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one document, one line: {text}");
    let j: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["status"], "completed");
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["leaked"], 0);
    assert_eq!(j["kept"], true);
    assert!(
        j["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["passed"] == true),
        "{j:#}"
    );

    let db = rusqlite::Connection::open(kept.join("demo.db")).unwrap();
    let count = |sql: &str, file: &str| -> i64 { db.query_row(sql, [file], |r| r.get(0)).unwrap() };
    let mut committed = 0;
    for f in j["files"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        let in_db = count("SELECT count(*) FROM records WHERE file = ?1", name);
        let loaded = count("SELECT count(*) FROM loads WHERE file = ?1", name);
        match f["outcome"].as_str().unwrap() {
            "committed" => {
                assert_eq!(in_db, f["rows_committed"].as_i64().unwrap(), "{name}");
                assert_eq!(in_db, f["valid_rows"].as_i64().unwrap(), "{name}");
                assert_eq!(loaded, 1, "{name}");
                committed += in_db;
            }
            "rolled_back" => {
                assert!(
                    f["bad_line"].is_u64(),
                    "{name}: only bad files roll back here"
                );
                assert_eq!((in_db, loaded), (0, 0), "{name}");
            }
            other => panic!("{name}: {other}"),
        }
    }
    let total: i64 = db
        .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total, committed);
    assert_eq!(j["rows_committed"].as_i64().unwrap(), committed);
    assert_eq!(j["database"]["records"].as_i64().unwrap(), committed);
    assert_eq!(j["stream"]["chunks"].as_i64().unwrap(), committed);
    assert_eq!(j["stream"]["status"], "completed");
    assert!(j["stream"]["ttfb_ns"].is_u64() && j["stream"]["total_ns"].is_u64());
    // The export holds every committed row, under its header.
    let export = std::fs::read_to_string(kept.join("export.csv")).unwrap();
    assert_eq!(export.lines().count() as i64, committed + 1);
    // The input files are kept too.
    assert!(kept.join("input-01.csv").is_file());

    assert_eq!(
        j["workers"],
        serde_json::json!({ "threads": 1, "tasks": 3 })
    );
    assert_eq!(
        keys(&j["pools"]),
        BTreeSet::from(["readers".into(), "writer".into()])
    );
    assert_eq!(j["pools"]["writer"]["status"]["max_size"], 1);
    // Every field of the pool's Status and Statistics, as they serialize.
    let pool = &j["pools"]["writer"];
    // A real pool's, not a literal: a field added to `Status` fails this test, not the build.
    let manager = tenure_sqlite::Manager::memory("demo-json-status")
        .build()
        .unwrap();
    let status = tenure::pool::Pool::builder(manager)
        .build()
        .unwrap()
        .status();
    let status = serde_json::to_value(status).unwrap();
    assert_eq!(keys(&pool["status"]), keys(&status));
    let stats = serde_json::to_value(tenure::pool::Statistics::default()).unwrap();
    assert_eq!(keys(&pool["statistics"]), keys(&stats));
    let mut destroyed = keys(&stats["destroyed"]);
    destroyed.insert("total".into()); // Destroyed::total()
    assert_eq!(keys(&pool["statistics"]["destroyed"]), destroyed);
    for d in ["hold_time", "wait_time"] {
        assert_eq!(keys(&pool["statistics"][d]), keys(&stats[d]), "{d}");
        assert!(pool["statistics"][d]["p99_ns"].is_u64(), "{d}");
    }
    assert_eq!(
        keys(&j["pools"]["readers"]["statistics"]),
        keys(&pool["statistics"])
    );
    // Four workers, one writer connection: they waited for it.
    let stats = &pool["statistics"];
    assert!(stats["acquired_waited"].as_u64().unwrap() > 0, "{stats:#}");
    assert_eq!(stats["wait_time"]["count"], stats["acquired_waited"]);
    assert_eq!(stats["close_failures"], 0);
    assert_eq!(j["ledger"]["sqlite"]["live"], 0);
}
