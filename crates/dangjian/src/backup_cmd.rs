//! `dangjian backup` and `dangjian restore` (issue 5, item 6): a consistent
//! online snapshot of an embedded deployment, encrypted and checksummed, and
//! its restoration into a fresh directory.
//!
//! A backup file is an age file (passphrase, scrypt) holding a tar archive:
//! `manifest.json` first (format, version, counts, SHA-256 and size of every
//! other entry), then the SQLite snapshot taken with `VACUUM INTO` while the
//! server may be writing, the key file, the ledger signing key and the
//! settings file when there is one. age's payload is authenticated chunk by
//! chunk, so a changed or truncated file fails to decrypt; the manifest's
//! digests check the entries once more after extraction.
//!
//! Restoring writes into a sibling temporary directory, checks every digest,
//! opens the database, verifies the archive ledger in full and compares the
//! member count with the manifest; only then is the directory renamed into
//! place. A damaged, foreign or wrongly unlocked file leaves nothing behind.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use clap::Args;
use dangjian_app::App;
use dangjian_app::clock::SystemClock;
use dangjian_store::crypto::Keyring;
use dangjian_store::db::Db;
use dangjian_store::sea_orm::{ConnectionTrait, Statement};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Failure;
use crate::config::{DataArgs, sqlite_url};

/// What the manifest's `format` says; anything else is not ours.
const FORMAT: &str = "dangjian-backup";
const VERSION: u32 = 1;
const DB_NAME: &str = "dangjian.db";
const MANIFEST: &str = "manifest.json";
/// The only entry names a backup may hold (no paths: nothing can be written
/// outside the restore directory).
const ENTRIES: [&str; 6] = [
    DB_NAME,
    "keys.json",
    "ledger.key",
    "certificate.key",
    "certificate.sm2.key",
    "dangjian.toml",
];
const MIN_PASSPHRASE_CHARS: usize = 12;

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The backup file to write (refused if it exists).
    #[arg(long)]
    pub out: PathBuf,
    /// File whose first line is the passphrase; default: the
    /// DANGJIAN_BACKUP_PASSPHRASE environment variable.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    /// Print JSON: {"out", "bytes", "members", "ledger_size", "files": [...]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The data directory to create; it must not exist or be empty.
    #[arg(long, env = "DANGJIAN_DATA")]
    pub data: PathBuf,
    /// The backup file written by `dangjian backup`.
    #[arg(long)]
    pub from: PathBuf,
    /// File whose first line is the passphrase; default: the
    /// DANGJIAN_BACKUP_PASSPHRASE environment variable.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    /// Print JSON: {"data", "members", "ledger_size", "ledger_ok", "created_at"}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    created_at: String,
    members: i64,
    ledger_size: u64,
    files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileEntry {
    name: String,
    size: u64,
    sha256: String,
}

fn passphrase(file: Option<&Path>) -> Result<SecretString, Failure> {
    let p = match file {
        Some(f) => fs::read_to_string(f)
            .map_err(|e| Failure(format!("--passphrase-file {}: {e}", f.display())))?
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
        None => std::env::var("DANGJIAN_BACKUP_PASSPHRASE").map_err(|_| {
            Failure(
                "需要备份口令 / a passphrase is needed: --passphrase-file FILE or \
                 DANGJIAN_BACKUP_PASSPHRASE"
                    .into(),
            )
        })?,
    };
    if p.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Failure(format!(
            "备份口令至少 {MIN_PASSPHRASE_CHARS} 个字符 / the passphrase must have at least \
             {MIN_PASSPHRASE_CHARS} characters"
        )));
    }
    Ok(SecretString::from(p))
}

fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    let mut f = BufReader::new(File::open(path)?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, hex::encode(h.finalize())))
}

/// A directory removed on drop unless kept.
struct Scratch(Option<PathBuf>);

impl Scratch {
    fn beside(target: &Path, tag: &str) -> Result<Self, Failure> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dangjian".into());
        let p = parent.join(format!(".{name}.{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).map_err(|e| Failure(format!("{}: {e}", p.display())))?;
        Ok(Scratch(Some(p)))
    }
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new("."))
    }
    fn keep(mut self) -> PathBuf {
        self.0.take().unwrap_or_default()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = fs::remove_dir_all(p);
        }
    }
}

async fn count_members(db: &Db) -> Result<i64, Failure> {
    let row = db
        .conn
        .query_one_raw(Statement::from_string(
            db.conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM members",
        ))
        .await
        .map_err(|e| Failure(format!("cannot count members: {e}")))?
        .ok_or_else(|| Failure("cannot count members".into()))?;
    row.try_get::<i64>("", "n")
        .map_err(|e| Failure(format!("cannot count members: {e}")))
}

/// `dangjian backup`.
pub async fn backup(a: BackupArgs) -> Result<(), Failure> {
    let pass = passphrase(a.passphrase_file.as_deref())?;
    if a.data.database_url.is_some() || std::env::var("DANGJIAN_DATABASE_URL").is_ok() {
        return Err(Failure(
            "backup covers the embedded SQLite deployment; for PostgreSQL use pg_dump and \
             copy keys.json, ledger.key and the certificate key (see SECURITY.md)"
                .into(),
        ));
    }
    let db_file = a.data.data.join(DB_NAME);
    if !db_file.is_file() {
        return Err(Failure(format!(
            "--data {}: 没有数据库 / no database here ({DB_NAME} missing)",
            a.data.data.display()
        )));
    }
    let s = a.data.settings()?;
    if !s.database_url.starts_with("sqlite:") {
        return Err(Failure(
            "the settings name a PostgreSQL database; use pg_dump for it (see SECURITY.md)".into(),
        ));
    }
    if a.out.exists() {
        return Err(Failure(format!(
            "--out {}: 文件已存在 / the file exists; choose a new name",
            a.out.display()
        )));
    }
    let scratch = Scratch::beside(&a.out, "backup")?;

    // 1. The consistent snapshot: one read transaction of SQLite, while the
    //    server goes on writing through WAL.
    let snap = scratch.path().join(DB_NAME);
    {
        let live = Db::connect(&s.database_url)
            .await
            .map_err(|e| Failure(format!("cannot open the database: {e}")))?;
        let target = snap.to_string_lossy().replace('\'', "''");
        live.conn
            .execute_unprepared(&format!("VACUUM INTO '{target}'"))
            .await
            .map_err(|e| Failure(format!("snapshot failed: {e}")))?;
        live.conn.close().await.ok();
    }
    let (members, ledger_size) = {
        let db = Db::connect(&sqlite_url(&snap))
            .await
            .map_err(|e| Failure(format!("cannot open the snapshot: {e}")))?;
        let m = count_members(&db).await?;
        let l = dangjian_store::repo::ledger::size(&db.conn)
            .await
            .map_err(|e| Failure(format!("cannot read the ledger: {e}")))?;
        db.conn.close().await.ok();
        (m, l)
    };
    // The snapshot connection may have left WAL side files; the snapshot
    // itself is complete in the main file.
    for side in ["-wal", "-shm"] {
        let _ = fs::remove_file(scratch.path().join(format!("{DB_NAME}{side}")));
    }

    // 2. The files and their digests.
    let mut sources: Vec<(&str, PathBuf)> = vec![(DB_NAME, snap.clone())];
    let key_dir = s
        .key_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    sources.push(("keys.json", s.key_file.clone()));
    // The signing keys beside the key file: checkpoints and certificates
    // (without the certificate key, every certificate issued so far would
    // fail its public verification after a restore).
    for name in [
        dangjian_app::ledger::KEY_FILE_NAME,
        dangjian_app::certificates::KEY_FILE_NAME,
        dangjian_app::certificates::SM2_KEY_FILE_NAME,
    ] {
        let path = key_dir.join(name);
        if path.is_file() {
            sources.push((name, path));
        }
    }
    let cfg = a
        .data
        .config
        .clone()
        .unwrap_or_else(|| a.data.data.join("dangjian.toml"));
    if cfg.is_file() {
        sources.push(("dangjian.toml", cfg));
    }
    if !s.key_file.is_file() {
        return Err(Failure(format!(
            "{}: 没有密钥文件 / the key file is missing",
            s.key_file.display()
        )));
    }
    let mut files = Vec::new();
    for (name, path) in &sources {
        let (size, sha256) =
            sha256_file(path).map_err(|e| Failure(format!("{}: {e}", path.display())))?;
        files.push(FileEntry {
            name: name.to_string(),
            size,
            sha256,
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        created_at: chrono::Utc::now().to_rfc3339(),
        members,
        ledger_size,
        files: files.clone(),
    };
    let manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| Failure(format!("manifest: {e}")))?;

    // 3. tar → age → a temporary file, renamed into place when complete.
    let total: u64 = files.iter().map(|f| f.size).sum();
    let pb = crate::bar(total, "备份 backing up (bytes)");
    if a.json {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let partial = scratch.path().join("backup.age");
    let out_file =
        File::create(&partial).map_err(|e| Failure(format!("{}: {e}", partial.display())))?;
    let io_err = |e: io::Error| Failure(format!("writing the backup: {e}"));
    let enc = age::Encryptor::with_user_passphrase(pass)
        .wrap_output(BufWriter::new(out_file))
        .map_err(io_err)?;
    let mut tar = tar::Builder::new(enc);
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest_bytes.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST, manifest_bytes.as_slice())
        .map_err(io_err)?;
    for (name, path) in &sources {
        let f = File::open(path).map_err(|e| Failure(format!("{}: {e}", path.display())))?;
        let len = f.metadata().map_err(io_err)?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(len);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, name, pb.wrap_read(f))
            .map_err(io_err)?;
    }
    let enc = tar.into_inner().map_err(io_err)?;
    let mut inner = enc.finish().map_err(io_err)?;
    inner.flush().map_err(io_err)?;
    inner
        .into_inner()
        .map_err(|e| io_err(e.into_error()))?
        .sync_all()
        .map_err(io_err)?;
    pb.finish_and_clear();
    fs::rename(&partial, &a.out).map_err(|e| Failure(format!("{}: {e}", a.out.display())))?;
    let bytes = fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    drop(scratch);
    if a.json {
        println!(
            "{}",
            json!({"out": a.out, "bytes": bytes, "members": members, "ledger_size": ledger_size, "files": files.iter().map(|f| &f.name).collect::<Vec<_>>()})
        );
    } else {
        println!(
            "备份完成 / backup written: {} ({bytes} bytes; {members} members, ledger size {ledger_size})",
            a.out.display()
        );
    }
    Ok(())
}

/// Why a backup file cannot be read, in words for whoever runs the command.
fn decrypt_error(e: age::DecryptError) -> Failure {
    use age::DecryptError as D;
    Failure(match e {
        D::InvalidHeader | D::UnknownFormat => {
            "不是 dangjian 备份文件 / not a dangjian backup (no age header)".into()
        }
        D::NoMatchingKeys | D::KeyDecryptionFailed | D::InvalidMac => {
            "口令不对，或不是本系统的备份 / wrong passphrase, or not a backup of ours".into()
        }
        D::ExcessiveWork { required, target } => format!(
            "the file asks for scrypt work factor {required} (this machine: {target}); refused"
        ),
        D::DecryptionFailed => {
            "备份文件已损坏 / the backup file is damaged (authentication failed)".into()
        }
        D::Io(e) => {
            format!("备份文件已损坏或不完整 / the backup file is damaged or truncated: {e}")
        }
        other => format!("cannot read the backup: {other}"),
    })
}

fn damaged(e: io::Error) -> Failure {
    Failure(format!(
        "备份文件已损坏或不完整 / the backup file is damaged or truncated: {e}"
    ))
}

/// `dangjian restore`.
pub async fn restore(a: RestoreArgs) -> Result<(), Failure> {
    let pass = passphrase(a.passphrase_file.as_deref())?;
    if a.data.exists() {
        let empty = fs::read_dir(&a.data)
            .map_err(|e| Failure(format!("--data {}: {e}", a.data.display())))?
            .next()
            .is_none();
        if !empty {
            return Err(Failure(format!(
                "--data {}: 目录不是空的 / the directory is not empty; restore only into a new one",
                a.data.display()
            )));
        }
    }
    let input =
        File::open(&a.from).map_err(|e| Failure(format!("--from {}: {e}", a.from.display())))?;
    let dec = age::Decryptor::new_buffered(BufReader::new(input)).map_err(decrypt_error)?;
    if !dec.is_scrypt() {
        return Err(Failure(
            "不是 dangjian 备份文件 / not a dangjian backup (not passphrase-encrypted)".into(),
        ));
    }
    let identity = age::scrypt::Identity::new(pass);
    // Here the header is checked: a failure means the passphrase does not
    // open it (or the header itself was damaged).
    let reader = dec
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed => Failure(
                "口令不对，或文件头已损坏 / wrong passphrase, or the file's header is damaged"
                    .into(),
            ),
            e => decrypt_error(e),
        })?;

    let scratch = Scratch::beside(&a.data, "restore")?;
    let mut archive = tar::Archive::new(reader);
    let mut manifest: Option<Manifest> = None;
    let mut got: Vec<FileEntry> = Vec::new();
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let name = entry
            .path()
            .map_err(damaged)?
            .to_string_lossy()
            .into_owned();
        if name == MANIFEST {
            if manifest.is_some() || !got.is_empty() {
                return Err(Failure(
                    "not a dangjian backup (manifest out of place)".into(),
                ));
            }
            let mut buf = Vec::new();
            entry
                .by_ref()
                .take(1 << 20)
                .read_to_end(&mut buf)
                .map_err(damaged)?;
            let m: Manifest = serde_json::from_slice(&buf).map_err(|_| {
                Failure("不是 dangjian 备份文件 / not a dangjian backup (manifest)".into())
            })?;
            if m.format != FORMAT {
                return Err(Failure(
                    "不是 dangjian 备份文件 / not a dangjian backup".into(),
                ));
            }
            if m.version != VERSION {
                return Err(Failure(format!(
                    "backup format version {} is not supported by this program (it reads {VERSION})",
                    m.version
                )));
            }
            manifest = Some(m);
            continue;
        }
        if manifest.is_none() {
            return Err(Failure(
                "不是 dangjian 备份文件 / not a dangjian backup (no manifest)".into(),
            ));
        }
        if !ENTRIES.contains(&name.as_str()) || got.iter().any(|g| g.name == name) {
            return Err(Failure(format!(
                "not a dangjian backup (unexpected entry {name:?})"
            )));
        }
        let path = scratch.path().join(&name);
        let mut out = BufWriter::new(
            File::create(&path).map_err(|e| Failure(format!("{}: {e}", path.display())))?,
        );
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let k = entry.read(&mut buf).map_err(damaged)?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            out.write_all(&buf[..k])
                .map_err(|e| Failure(format!("{}: {e}", path.display())))?;
            size += k as u64;
        }
        out.flush()
            .map_err(|e| Failure(format!("{}: {e}", path.display())))?;
        set_owner_only(&path)?;
        got.push(FileEntry {
            name,
            size,
            sha256: hex::encode(h.finalize()),
        });
    }
    let m = manifest
        .ok_or_else(|| Failure("不是 dangjian 备份文件 / not a dangjian backup (empty)".into()))?;
    // Every file the manifest lists, with its size and digest; nothing more.
    for want in &m.files {
        match got.iter().find(|g| g.name == want.name) {
            Some(g) if g.size == want.size && g.sha256 == want.sha256 => {}
            Some(_) => {
                return Err(Failure(format!(
                    "备份文件已损坏 / the backup is damaged: {} does not match its checksum",
                    want.name
                )));
            }
            None => {
                return Err(Failure(format!(
                    "备份文件不完整 / the backup is incomplete: {} is missing",
                    want.name
                )));
            }
        }
    }
    let required = [DB_NAME, "keys.json"];
    if got.len() != m.files.len() || !required.iter().all(|n| got.iter().any(|g| g.name == *n)) {
        return Err(Failure(
            "not a dangjian backup (entries do not match the manifest)".into(),
        ));
    }

    // The restored deployment must open, verify and hold what was saved.
    let (ledger_ok, members, ledger_size, problems) = {
        let db = Db::connect(&sqlite_url(&scratch.path().join(DB_NAME)))
            .await
            .map_err(|e| Failure(format!("the restored database does not open: {e}")))?;
        db.migrate()
            .await
            .map_err(|e| Failure(format!("migration of the restored database failed: {e}")))?;
        let keys = Keyring::load_or_create(&scratch.path().join("keys.json"))
            .map_err(|e| Failure(format!("the restored key file: {e}")))?;
        let mut app = App::new(db, keys, std::sync::Arc::new(SystemClock));
        app.config_mut().ledger_key_file =
            Some(scratch.path().join(dangjian_app::ledger::KEY_FILE_NAME));
        let report = app.ledger_verify().await?;
        let members = count_members(&app.db).await?;
        app.db.conn.clone().close().await.ok();
        (report.ok, members, report.size, report.problems.len())
    };
    for side in ["-wal", "-shm"] {
        let _ = fs::remove_file(scratch.path().join(format!("{DB_NAME}{side}")));
    }
    if !ledger_ok {
        return Err(Failure(format!(
            "the restored archive ledger does not verify ({problems} problems); nothing restored"
        )));
    }
    if members != m.members || ledger_size != m.ledger_size {
        return Err(Failure(format!(
            "the restored data do not match the manifest ({members} members, ledger {ledger_size}; \
             expected {} and {}); nothing restored",
            m.members, m.ledger_size
        )));
    }
    if a.data.exists() {
        fs::remove_dir(&a.data)
            .map_err(|e| Failure(format!("--data {}: {e}", a.data.display())))?;
    }
    let done = scratch.keep();
    fs::rename(&done, &a.data).map_err(|e| Failure(format!("--data {}: {e}", a.data.display())))?;
    if a.json {
        println!(
            "{}",
            json!({"data": a.data, "members": members, "ledger_size": ledger_size, "ledger_ok": true, "created_at": m.created_at})
        );
    } else {
        println!(
            "恢复完成 / restored into {}: {members} members, ledger size {ledger_size} verified (backup of {})",
            a.data.display(),
            m.created_at
        );
    }
    Ok(())
}

#[cfg(unix)]
fn set_owner_only(path: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|e| Failure(format!("{}: {e}", path.display())))
}

#[cfg(not(unix))]
fn set_owner_only(_: &Path) -> Result<(), Failure> {
    Ok(())
}
