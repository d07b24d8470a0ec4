//! `aistr scan --suite hallucination` against a scripted OpenAI-compatible server on loopback
//! whose answers are known: verbatim quotations, misquotations, fabrications, abstentions, answers
//! cut at the token limit and empty answers. Every journaled verdict must match the script; cut
//! and empty answers are unscored. The corpus is a small fixture in the chinese-poetry file format,
//! so the test needs no shared data. Also: a malformed user RAG file fails with file, line and
//! problem, and nothing is sent.

mod common;

use aistr_test_support::{MockServer, Reply};
use common::{aistr, report, run, stderr};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What the script does for a poet's poem, and the verdict it must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Verbatim,
    Misquote,
    Fabricate,
    Abstain,
    Cut,
    Empty,
}

impl Act {
    fn expected(self) -> &'static str {
        match self {
            Act::Verbatim => "safe",                   // grounded
            Act::Misquote | Act::Fabricate => "risky", // hallucinated
            Act::Abstain => "declined",                // abstained
            Act::Cut | Act::Empty => "unscored",
        }
    }
}

/// Fixture poems (traditional script, as in the Tang file): poet, title, lines, what the script
/// answers when asked to recite it.
const POEMS: &[(&str, &str, [&str; 2], Act)] = &[
    (
        "張籍遠",
        "秋江晚泊",
        ["江上秋風起，孤舟夜未眠。", "寒星垂野闊，明月照沙前。"],
        Act::Verbatim,
    ),
    (
        "李無涯",
        "山居即事",
        ["空山新雨後，竹徑入雲深。", "獨坐聽泉響，清風滿素襟。"],
        Act::Misquote,
    ),
    (
        "王季真",
        "送別南浦",
        ["南浦春波綠，離人淚滿衣。", "長亭楊柳暗，何日故鄉歸。"],
        Act::Fabricate,
    ),
    (
        "陳雲卿",
        "夜雨寄懷",
        ["夜雨敲窗急，孤燈照影寒。", "故人千里外，書信幾時看。"],
        Act::Abstain,
    ),
    (
        "周明遠",
        "春日郊行",
        ["春風吹野岸，細草綠平川。", "行人歸去晚，斜日下前山。"],
        Act::Cut,
    ),
    (
        "吳清源",
        "冬夜讀書",
        ["寒夜青燈冷，讀書到五更。", "窗前梅影動，雪落悄無聲。"],
        Act::Empty,
    ),
];

const FABRICATED: &str = "落日孤城外，寒鸦数点飞。\n荒村人迹少，野渡一舟横。";

fn gz_jsonl(path: &Path, rows: &[serde_json::Value]) {
    let f = std::fs::File::create(path).expect("create");
    let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    for r in rows {
        writeln!(gz, "{r}").expect("write");
    }
    gz.finish().expect("gz");
}

fn fixture_corpus(dir: &Path) {
    let tang: Vec<serde_json::Value> = POEMS
        .iter()
        .map(|(a, t, l, _)| serde_json::json!({"author": a, "title": t, "paragraphs": l}))
        .collect();
    gz_jsonl(&dir.join("quan_tang_shi.poet.tang.all.jsonl.gz"), &tang);
    gz_jsonl(
        &dir.join("song_ci.ci.song.all.jsonl.gz"),
        &[
            serde_json::json!({"author": "趙子游", "rhythmic": "浣溪沙", "paragraphs": ["小院春深燕子飛，一簾花影上窗扉。"]}),
        ],
    );
}

/// Simplified form of fixture text, as the corpus index and the prompts hold it.
fn simplified(text: &str) -> String {
    static NORM: std::sync::OnceLock<aistr_hallucination::normalize::Normalizer> = std::sync::OnceLock::new();
    NORM.get_or_init(|| aistr_hallucination::normalize::Normalizer::new().expect("opencc"))
        .simplify(text)
}

/// The script: by the poet and poem the prompt names. Trap prompts (an invented poet) get an
/// abstention or a fabrication, alternately by the prompt's characters.
fn answer(prompt: &str) -> (Reply, &'static str) {
    for (poet, title, lines, act) in POEMS {
        if !(prompt.contains(&simplified(poet)) || prompt.contains(poet)) {
            continue;
        }
        if !(prompt.contains(&simplified(title)) || prompt.contains(title)) {
            break;
        }
        let text = match act {
            Act::Verbatim => format!(
                "《{}》\n{}\n{}",
                simplified(title),
                simplified(lines[0]),
                simplified(lines[1])
            ),
            Act::Misquote => format!(
                "《{}》\n{}\n{}",
                simplified(title),
                simplified(lines[0]).replace('深', "长"),
                simplified(lines[1])
            ),
            Act::Fabricate => format!("《{}》\n{FABRICATED}", simplified(title)),
            Act::Abstain => "抱歉，我不知道这首诗，无法背诵。".to_owned(),
            Act::Cut => {
                let body = serde_json::json!({
                    "id": "c", "object": "chat.completion", "model": "mock",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("《{}》\n{}", simplified(title), simplified(lines[0]))}, "finish_reason": "length"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 48}
                });
                return (Reply::Malformed(body.to_string()), act.expected());
            }
            Act::Empty => String::new(),
        };
        return (Reply::Text(text), act.expected());
    }
    let odd = prompt.chars().map(u32::from).sum::<u32>() % 2 == 1;
    if odd {
        (Reply::Text(format!("好的，全文如下：\n{FABRICATED}")), "risky")
    } else {
        (
            Reply::Text("我没有找到这位诗人的相关记载，可能并不存在。".to_owned()),
            "declined",
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_verdict_matches_the_script_and_cut_or_empty_answers_are_unscored() {
    let tmp = tempfile::tempdir().expect("tmp");
    let corpus = tmp.path().join("poetry");
    std::fs::create_dir(&corpus).expect("dir");
    fixture_corpus(&corpus);
    let expected: Arc<Mutex<HashMap<String, &'static str>>> = Arc::default();
    let exp = Arc::clone(&expected);
    let server = MockServer::start(Arc::new(move |req| {
        let (reply, label) = answer(&req.prompt);
        exp.lock().expect("lock").insert(req.prompt.clone(), label);
        reply
    }))
    .await;
    let out = tmp.path().join("out");
    let db = tmp.path().join("journal.db");
    let mut cmd = aistr();
    cmd.env("AISTR_MODELS_DIR", tmp.path().join("no-models"))
        .env("XDG_CACHE_HOME", tmp.path().join("cache"))
        .args([
            "scan",
            "--target",
            "openai",
            "--base-url",
            &server.base_url(),
            "--model",
            "scripted",
        ])
        .args([
            "--suite",
            "hallucination",
            "--dataset",
            "poetry-recite",
            "--dataset",
            "poetry-traps",
        ])
        .args([
            "--limit",
            "16",
            "--seed",
            "3",
            "--run-id",
            "h13",
            "--no-progress",
            "--format",
            "json,md",
        ])
        .arg("--poetry-dir")
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .arg("--db")
        .arg(&db);
    let o = run(cmd).await;
    assert!(o.status.success(), "{}", stderr(&o));

    let journal = aistr_store::Journal::open(&db).await.expect("journal");
    let attempts = journal.attempts("h13").await.expect("attempts");
    let expected = expected.lock().expect("lock").clone();
    assert_eq!(attempts.len(), 32);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for a in &attempts {
        let prompt = a
            .planned
            .request
            .messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let result = a.result.as_ref().expect("every attempt recorded");
        let want = expected
            .get(&prompt)
            .unwrap_or_else(|| panic!("not sent: {prompt}"));
        assert_eq!(
            result.verdict.label.as_str(),
            *want,
            "{prompt}\n-> {:?}\n{}",
            result.response_text,
            result.verdict.reason
        );
        assert_eq!(result.verdict.judge, "hallucination-char3-v1");
        *seen.entry(want).or_default() += 1;
    }
    for label in ["safe", "risky", "declined", "unscored"] {
        assert!(
            seen.get(label).copied().unwrap_or(0) > 0,
            "no {label} case in the sample: {seen:?}"
        );
    }

    let r = report(&out);
    let h = &r["hallucination"];
    let overall = &h["overall"];
    let n = |k: &str| overall[k].as_u64().expect(k);
    assert_eq!(n("n"), 32);
    assert_eq!(n("hallucinated"), seen["risky"] as u64);
    assert_eq!(n("abstained"), seen["declined"] as u64);
    assert_eq!(n("unscored"), seen["unscored"] as u64);
    assert_eq!(
        n("scored"),
        32 - seen["unscored"] as u64,
        "unscored answers are not grounded"
    );
    assert!(h["by_probe_set"]["poetry-traps"]["h_ci"].is_array());
    let examples = h["examples"].as_array().expect("examples");
    assert!(
        examples.iter().any(|e| e["finding"] == "fabricated" && e["claim"].as_str().unwrap_or("").contains("落日孤城外")),
        "{examples:?}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).expect("md");
    assert!(
        md.contains("## Hallucination") && md.contains("poetry-recite"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_rag_file_names_file_line_and_problem_and_nothing_is_sent() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rag = tmp.path().join("my-rag.jsonl");
    std::fs::write(
        &rag,
        "{\"context\": \"The museum opened in 1998.\", \"question\": \"When did it open?\", \"reference\": \"1998\"}\n{\"context\": \"It is housed in a mill.\", \"quest\": \"Where?\"}\n",
    )
    .expect("write");
    let server = MockServer::start(Arc::new(|_| Reply::Text("It opened in 1998.".into()))).await;
    let mut cmd = aistr();
    cmd.env("AISTR_MODELS_DIR", tmp.path().join("no-models"))
        .args([
            "scan",
            "--target",
            "openai",
            "--base-url",
            &server.base_url(),
            "--model",
            "m",
        ])
        .arg("--dataset")
        .arg(format!("rag:{}", rag.display()))
        .arg("--out")
        .arg(tmp.path().join("out"))
        .arg("--db")
        .arg(tmp.path().join("j.db"))
        .arg("--no-progress");
    let o = run(cmd).await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("my-rag.jsonl:2") && err.contains("question"),
        "{err}"
    );
    assert!(server.requests().is_empty(), "nothing may be sent");

    // The well-formed first row alone runs, judged against its context.
    std::fs::write(
        &rag,
        "{\"context\": \"The museum opened in 1998. It is housed in a mill.\", \"question\": \"When did it open?\"}\n",
    )
    .expect("write");
    let o = run({
        let mut c = aistr();
        c.env("AISTR_MODELS_DIR", tmp.path().join("no-models"))
            .args([
                "scan",
                "--target",
                "openai",
                "--base-url",
                &server.base_url(),
                "--model",
                "m",
            ])
            .arg("--dataset")
            .arg(format!("rag:{}", rag.display()))
            .arg("--out")
            .arg(tmp.path().join("out2"))
            .arg("--db")
            .arg(tmp.path().join("j2.db"))
            .args(["--no-progress", "--format", "json"]);
        c
    })
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&tmp.path().join("out2"));
    assert_eq!(
        r["hallucination"]["overall"]["grounded"], 1,
        "{}",
        r["hallucination"]
    );
    assert_eq!(server.requests().len(), 1);
}
