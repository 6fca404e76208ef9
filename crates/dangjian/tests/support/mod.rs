//! Helpers shared by the binary's end-to-end tests: a temp data dir, the
//! `dangjian` binary, a server on a free loopback port, demo users.

#![allow(dead_code)]

pub mod browser;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dangjian"))
}

/// A fresh data directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "dj-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `dangjian demo --json` and returns its parsed output.
pub fn demo(data: &str, members: usize) -> serde_json::Value {
    demo_with(data, members, &[])
}

/// `dangjian demo --json` with extra environment variables.
pub fn demo_with(data: &str, members: usize, env: &[(&str, &str)]) -> serde_json::Value {
    let out = bin()
        .envs(env.iter().copied())
        .args([
            "demo",
            "--data",
            data,
            "--members",
            &members.to_string(),
            "--json",
        ])
        .output()
        .expect("run demo");
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("demo prints JSON")
}

pub fn password(demo: &serde_json::Value, login: &str) -> String {
    demo["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["login"] == login)
        .and_then(|u| u["password"].as_str())
        .expect("demo user")
        .to_string()
}

/// A running `dangjian serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(data: &str) -> Self {
        Self::start_with(data, &[])
    }

    /// A server with extra environment variables (e.g. `DANGJIAN_TEST_TODAY`).
    pub fn start_with(data: &str, env: &[(&str, &str)]) -> Self {
        let mut child = bin()
            .args(["serve", "--data", data, "--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("server prints its address");
        let base = line
            .split("http://")
            .nth(1)
            .map(|s| format!("http://{}", s.trim()))
            .unwrap_or_else(|| panic!("unexpected first line: {line}"));
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET over loopback; returns the body (panics on non-2xx).
pub fn http_get(base: &str, path: &str, bearer: Option<&str>) -> String {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("http response");
    assert!(head.starts_with("HTTP/1.1 2"), "{head}");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        body.to_string()
    }
}

/// One HTTP/1.1 request over loopback; returns the status code and the body
/// (`None` when the connection broke before a whole response arrived).
pub fn http_send(
    base: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).ok()?;
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// `dangjian token create --login LOGIN` on a data directory.
pub fn token(data: &str, login: &str) -> String {
    let out = bin()
        .args([
            "token", "create", "--data", data, "--login", login, "--json",
        ])
        .output()
        .expect("run token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["token"].as_str().expect("token").to_string()
}

/// `dangjian ledger verify --json` on a data directory: (ok, size).
pub fn ledger_verify(data: &str) -> (bool, u64) {
    let out = bin()
        .args(["ledger", "verify", "--data", data, "--json"])
        .output()
        .expect("run ledger verify");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "ledger verify printed no JSON: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v["ok"] == true, v["size"].as_u64().expect("size"))
}
