//! A stateful chatbot application on loopback that speaks no standard API, for the generic `http`
//! target: `POST /chat` with a JSON body `{"message": ...}` (any other fields are recorded). The
//! first request without a cookie opens a session and sets `sid`; every later request must carry a
//! known `sid` cookie (an unknown one is a 401). The app keeps each session's history server-side
//! and answers from a script that sees it, so a test can tell whether a conversation stayed in one
//! session. The reply is `{"reply": ..., "session_id": ..., "turn": ...}`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One message the app received.
#[derive(Debug, Clone)]
pub struct AppTurn {
    /// Session number (0-based, in the order sessions were opened).
    pub session: usize,
    /// Turn number within the session (1-based).
    pub turn: usize,
    /// The `message` field.
    pub message: String,
    /// The messages this session received before this one.
    pub earlier: Vec<String>,
    /// The whole request body.
    pub body: Value,
}

/// Decides the app's reply text.
pub type AppScript = Arc<dyn Fn(&AppTurn) -> String + Send + Sync>;

#[derive(Default)]
struct Store {
    sessions: Vec<Vec<String>>,
    turns: Vec<AppTurn>,
    rejected: usize,
}

#[derive(Clone)]
struct AppState {
    script: AppScript,
    store: Arc<Mutex<Store>>,
}

/// The running app; it stops when dropped.
pub struct StatefulApp {
    /// Where it listens.
    pub addr: SocketAddr,
    store: Arc<Mutex<Store>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl StatefulApp {
    /// Starts the app on 127.0.0.1 with an ephemeral port, on the current tokio runtime.
    pub async fn start(script: AppScript) -> StatefulApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let store = Arc::new(Mutex::new(Store::default()));
        let state = AppState {
            script,
            store: Arc::clone(&store),
        };
        let app = Router::new().route("/chat", post(chat)).with_state(state);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        StatefulApp {
            addr,
            store,
            shutdown: Some(tx),
        }
    }

    /// The chat URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}/chat", self.addr)
    }

    /// Every accepted message, in arrival order.
    #[must_use]
    pub fn turns(&self) -> Vec<AppTurn> {
        self.store.lock().expect("lock").turns.clone()
    }

    /// Sessions opened so far.
    #[must_use]
    pub fn sessions(&self) -> usize {
        self.store.lock().expect("lock").sessions.len()
    }

    /// Requests refused for an unknown session cookie.
    #[must_use]
    pub fn rejected(&self) -> usize {
        self.store.lock().expect("lock").rejected
    }
}

impl Drop for StatefulApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn sid_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == "sid")
        .map(|(_, v)| v.to_owned())
}

async fn chat(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "body is not JSON").into_response();
    };
    let Some(message) = body["message"].as_str().map(str::to_owned) else {
        return (StatusCode::BAD_REQUEST, "no message").into_response();
    };
    let (turn, new_cookie) = {
        let mut store = state.store.lock().expect("lock");
        let (session, new_cookie) = match sid_cookie(&headers) {
            Some(sid) => match sid.strip_prefix('s').and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if n < store.sessions.len() => (n, false),
                _ => {
                    store.rejected += 1;
                    return (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"error": "unknown session"})),
                    )
                        .into_response();
                }
            },
            None => {
                store.sessions.push(Vec::new());
                (store.sessions.len() - 1, true)
            }
        };
        let earlier = store.sessions[session].clone();
        store.sessions[session].push(message.clone());
        let turn = AppTurn {
            session,
            turn: earlier.len() + 1,
            message,
            earlier,
            body,
        };
        store.turns.push(turn.clone());
        (turn, new_cookie)
    };
    let reply = (state.script)(&turn);
    let mut response = axum::Json(json!({
        "reply": reply, "session_id": format!("s{}", turn.session), "turn": turn.turn
    }))
    .into_response();
    if new_cookie {
        let cookie = format!("sid=s{}; Path=/; HttpOnly", turn.session);
        response
            .headers_mut()
            .insert("set-cookie", cookie.parse().expect("cookie header"));
    }
    response
}
