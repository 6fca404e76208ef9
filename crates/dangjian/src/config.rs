//! Settings: a TOML file < `DANGJIAN_*` environment variables < CLI flags.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

/// Where the data lives; shared by every command that opens the database.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Data directory: SQLite database, key file, settings (created on first run).
    #[arg(long, env = "DANGJIAN_DATA", default_value = "dangjian-data")]
    pub data: PathBuf,
    /// PostgreSQL URL (postgres://…); without it the embedded SQLite file in --data is used.
    #[arg(long, env = "DANGJIAN_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Settings file (TOML); default: DATA/dangjian.toml when it exists.
    #[arg(long, env = "DANGJIAN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Key file; default: DATA/keys.json (created with mode 0600 when missing).
    #[arg(long, env = "DANGJIAN_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

/// The settings file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub key_file: Option<PathBuf>,
    pub session_hours: Option<i64>,
    /// Serve the ledger's checkpoint, key, tiles and proofs without a token
    /// (issue 4); default false: an auditor's or administrator's token.
    pub ledger_public: Option<bool>,
    /// The parent's witness endpoint prefix, e.g. `https://city.example/witness`
    /// (issue 4 §5); also `DANGJIAN_PARENT_URL`.
    pub parent_url: Option<String>,
    /// The parent's witness verifier key (its `dangjian witness key`); also
    /// `DANGJIAN_PARENT_VKEY`.
    pub parent_vkey: Option<String>,
    /// 64 hex characters shared by the servers of a federation: the key of
    /// the ID-number digests that find one person registered on two
    /// servers; also `DANGJIAN_FEDERATION_KEY`.
    pub federation_key: Option<String>,
    /// Administrators and committee staff need a second factor (TOTP) to
    /// sign in (issue 5); enroll them with `dangjian user totp`. Default false.
    pub require_totp_for_staff: Option<bool>,
    /// Reverse proxies in front of the server (addresses or networks, e.g.
    /// `["127.0.0.1", "10.0.0.0/8"]`): from these, the client address is
    /// read from `X-Forwarded-For` for rate limits, sign-in throttling and
    /// the audit log. Also `DANGJIAN_TRUSTED_PROXIES` (comma-separated).
    /// Default: none, the connection's peer is the client.
    pub trusted_proxies: Option<Vec<String>>,
    /// `international` (AES-256-GCM, HMAC-SHA-256; the default) or
    /// `national` (SM4-GCM, HMAC-SM3) for a new deployment's keys; also
    /// `DANGJIAN_CRYPTO_SUITE`. An existing key file keeps its suite.
    pub crypto_suite: Option<String>,
    /// Verifier keys (`dangjian ledger checkpoint --json` prints `key`) of
    /// the other servers whose signed transfer letters and receipts this
    /// server accepts (DOMAIN.md §12); also `DANGJIAN_TRANSFER_TRUSTED_KEYS`,
    /// comma-separated. The logs this server witnesses are trusted too.
    pub transfer_trusted_keys: Option<Vec<String>>,
    /// A full CJK font file (OTF/TTF/TTC) for characters of names outside
    /// the embedded font subset, e.g.
    /// `/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc`; also
    /// `DANGJIAN_DOCS_FALLBACK_FONT`. Without it such characters are logged
    /// and named on the document.
    pub docs_fallback_font: Option<PathBuf>,
    /// A directory of adjusted document templates (`certificate.typ`, …)
    /// that replace the embedded ones; also `DANGJIAN_DOCS_TEMPLATE_DIR`.
    pub docs_template_dir: Option<PathBuf>,
    /// Public holidays that fall on weekdays, `"YYYY-MM-DD"` (e.g. the
    /// State Council's yearly arrangement), for rules counted in working
    /// days such as the admission's public notice (DOMAIN.md §4).
    pub holidays: Option<Vec<String>>,
    /// Weekend days that are working days (调休), `"YYYY-MM-DD"`.
    pub extra_workdays: Option<Vec<String>>,
    /// Largest meeting attachment in bytes (default 10 MiB); also
    /// `DANGJIAN_ATTACHMENT_MAX_BYTES`. Larger uploads are answered 413.
    pub attachment_max_bytes: Option<usize>,
}

/// Settings after layering.
#[derive(Debug)]
pub struct Settings {
    pub database_url: String,
    pub key_file: PathBuf,
    pub file: FileConfig,
}

impl DataArgs {
    /// Reads the settings file (if any) and fills in what flags and the environment left open.
    pub fn settings(&self) -> Result<Settings, String> {
        let cfg_path = self
            .config
            .clone()
            .unwrap_or_else(|| self.data.join("dangjian.toml"));
        let file = if cfg_path.exists() {
            let text = std::fs::read_to_string(&cfg_path)
                .map_err(|e| format!("{}: {e}", cfg_path.display()))?;
            toml::from_str(&text).map_err(|e| format!("{}: {e}", cfg_path.display()))?
        } else if self.config.is_some() {
            return Err(format!("{}: settings file not found", cfg_path.display()));
        } else {
            FileConfig::default()
        };
        let database_url = match self
            .database_url
            .clone()
            .or_else(|| file.database_url.clone())
        {
            Some(u) => u,
            None => {
                std::fs::create_dir_all(&self.data)
                    .map_err(|e| format!("{}: {e}", self.data.display()))?;
                sqlite_url(&self.data.join("dangjian.db"))
            }
        };
        let key_file = self
            .key_file
            .clone()
            .or_else(|| file.key_file.clone())
            .unwrap_or_else(|| self.data.join("keys.json"));
        Ok(Settings {
            database_url,
            key_file,
            file,
        })
    }
}

/// `sqlite://` URL of a file, created when missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// The trusted proxies of the settings (environment before file), each an
/// address or a network; a bad entry is an error naming it.
pub fn trusted_proxies(file: &FileConfig) -> Result<Vec<ipnet::IpNet>, String> {
    let from_env = std::env::var("DANGJIAN_TRUSTED_PROXIES")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            v.split(',')
                .map(|x| x.trim().to_string())
                .collect::<Vec<_>>()
        });
    let Some(entries) = from_env.or_else(|| file.trusted_proxies.clone()) else {
        return Ok(Vec::new());
    };
    entries
        .iter()
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<ipnet::IpNet>()
                .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("trusted_proxies: {e:?} is not an address or a network like 10.0.0.0/8")
                })
        })
        .collect()
}

/// The cryptography suite the settings ask for (environment before file).
pub fn crypto_suite(file: &FileConfig) -> Result<Option<dangjian_store::crypto::Suite>, String> {
    let v = std::env::var("DANGJIAN_CRYPTO_SUITE")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| file.crypto_suite.clone());
    match v {
        None => Ok(None),
        Some(v) => dangjian_store::crypto::Suite::parse(&v)
            .map(Some)
            .ok_or_else(|| {
                format!("crypto_suite: {v:?} is neither \"international\" nor \"national\"")
            }),
    }
}
