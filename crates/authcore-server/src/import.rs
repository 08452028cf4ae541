//! `authcore import FILE`: users from another system, straight into the database.
//!
//! FILE is JSON lines (`.jsonl`: one object a line) or CSV with a header row (`.csv`), with
//! the fields `email` (required), `name`, `role`, `status`, and exactly one of `password`
//! (plain, hashed with argon2id on import) and `password_hash` (any format authcore verifies,
//! stored as it is and replaced by argon2id at the user's first sign-in). Every bad row is
//! reported with its line number and nothing of it is written; the other rows go on. A server
//! may run on the same database meanwhile.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use authcore_core::{
    Authenticator, HashFormat, ImportOutcome, ImportPassword, ImportUser, OnConflict, Password,
    PasswordHash, Role, StatusClass, UserStatus, normalize_username,
};
use authcore_sql::SqlStore;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::BoxError;
use crate::options::{DEFAULT_DATABASE_URL, HashArgs, PolicyArgs};

/// The options of `authcore import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import: JSON lines (.jsonl) or CSV with a header row (.csv).
    pub file: PathBuf,

    /// User store URL: sqlite://FILE?mode=rwc, postgres://..., mysql://...
    /// [default: sqlite://authcore.db?mode=rwc, in the working directory]
    #[arg(long, env = "AUTHCORE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// The file's format [default: from its extension].
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,

    /// What to do with a row whose e-mail is already a user: leave the user alone (skip), or
    /// bring it to the row (update: the fields given, and the password unless it already has
    /// it).
    #[arg(long, value_enum, default_value_t = ConflictArg::Skip)]
    pub on_conflict: ConflictArg,

    /// Check every row and tell what would happen, writing nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// The policy (its password complexity applies to plain passwords).
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// The argon2id parameters of plain passwords hashed on import.
    #[command(flatten)]
    pub hashing: HashArgs,
}

/// The formats `authcore import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// One JSON object a line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// `--on-conflict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConflictArg {
    /// Leave an existing user alone.
    Skip,
    /// Update an existing user to the row.
    Update,
}

const FIELDS: [&str; 6] = [
    "email",
    "name",
    "role",
    "status",
    "password",
    "password_hash",
];

/// One row of the file, fields as text (empty CSV cells are absent).
#[derive(Default)]
struct Row {
    fields: BTreeMap<&'static str, String>,
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Row")
            .field("email", &self.fields.get("email"))
            .finish_non_exhaustive()
    }
}

impl Row {
    fn set(&mut self, field: &str, value: String) -> Result<(), String> {
        let Some(&known) = FIELDS.iter().find(|f| **f == field) else {
            return Err(format!(
                "unknown field {field:?} (expected one of {})",
                FIELDS.join(", ")
            ));
        };
        if !value.is_empty() && self.fields.insert(known, value).is_some() {
            return Err(format!("field {field:?} given twice"));
        }
        Ok(())
    }

    /// The row's hash format for the summary: `plain` for a password, the format of a
    /// password_hash (`unknown` when none is recognised).
    fn format_name(&self) -> String {
        match (
            self.fields.get("password"),
            self.fields.get("password_hash"),
        ) {
            (Some(_), None) => "plain".to_owned(),
            (None, Some(h)) => HashFormat::detect(h)
                .map_or_else(|| "unknown".to_owned(), |f| f.as_str().to_owned()),
            _ => "none".to_owned(),
        }
    }

    fn into_user(mut self) -> Result<ImportUser, String> {
        let email = self
            .fields
            .remove("email")
            .ok_or("the field \"email\" is required")?;
        let status = match self.fields.remove("status") {
            None => None,
            Some(s) => Some(
                UserStatus::parse(&s)
                    .ok_or_else(|| format!("status {s:?} is none of active, locked, disabled"))?,
            ),
        };
        let password = match (
            self.fields.remove("password"),
            self.fields.remove("password_hash"),
        ) {
            (Some(p), None) => ImportPassword::Plain(Password::from(p)),
            (None, Some(h)) => ImportPassword::Hash(PasswordHash::new(h)),
            _ => {
                return Err("exactly one of \"password\" and \"password_hash\" is required".into());
            }
        };
        Ok(ImportUser {
            email,
            name: self.fields.remove("name"),
            role: self.fields.remove("role").map(Role::new),
            status,
            password,
        })
    }
}

/// A row's line number, and the row or why it is not one.
type NumberedRow = (u64, Result<Row, String>);

/// Reads rows one at a time, each with the line it starts on.
enum Rows {
    Jsonl {
        lines: std::io::Lines<BufReader<CountingReader>>,
        line: u64,
    },
    Csv {
        reader: csv::Reader<CountingReader>,
        header: Vec<String>,
    },
}

/// Counts the bytes read, for the progress bar.
struct CountingReader {
    inner: std::fs::File,
    read: Arc<std::sync::atomic::AtomicU64>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

impl Rows {
    fn open(
        path: &Path,
        format: FileFormat,
        read: Arc<std::sync::atomic::AtomicU64>,
    ) -> Result<Self, BoxError> {
        let inner = std::fs::File::open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let counting = CountingReader { inner, read };
        Ok(match format {
            FileFormat::Jsonl => Self::Jsonl {
                lines: BufReader::new(counting).lines(),
                line: 0,
            },
            FileFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(false)
                    .from_reader(counting);
                let header: Vec<String> = reader
                    .headers()
                    .map_err(|e| format!("{}: line 1: {e}", path.display()))?
                    .iter()
                    .map(|h| h.trim().to_owned())
                    .collect();
                if let Some(bad) = header.iter().find(|h| !FIELDS.contains(&h.as_str())) {
                    return Err(format!(
                        "{}: line 1: unknown column {bad:?} (expected some of {})",
                        path.display(),
                        FIELDS.join(", ")
                    )
                    .into());
                }
                if !header.iter().any(|h| h == "email") {
                    return Err(format!(
                        "{}: line 1: the column \"email\" is required",
                        path.display()
                    )
                    .into());
                }
                Self::Csv { reader, header }
            }
        })
    }

    /// The next row: its line number, and the row or why it is not one; `None` at the end.
    /// `Err` when the file itself cannot be read further.
    fn next_row(&mut self) -> Option<Result<NumberedRow, BoxError>> {
        match self {
            Self::Jsonl { lines, line } => loop {
                *line += 1;
                let text = match lines.next()? {
                    Ok(t) => t,
                    Err(e) => return Some(Err(format!("line {line}: {e}").into())),
                };
                if text.trim().is_empty() {
                    continue;
                }
                return Some(Ok((*line, parse_json_row(&text))));
            },
            Self::Csv { reader, header } => {
                let mut record = csv::StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(false) => None,
                    Ok(true) => {
                        let line = record.position().map_or(0, csv::Position::line);
                        let mut row = Row::default();
                        let parsed = header
                            .iter()
                            .zip(record.iter())
                            .try_for_each(|(h, v)| row.set(h, v.to_owned()))
                            .map(|()| row);
                        Some(Ok((line, parsed)))
                    }
                    // A record of the wrong length or bad UTF-8: a bad row, reading goes on.
                    Err(e) => {
                        let line = e.position().map_or(0, csv::Position::line);
                        let msg = match e.kind() {
                            csv::ErrorKind::UnequalLengths { .. } => {
                                "wrong number of fields".to_owned()
                            }
                            csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
                            _ => return Some(Err(format!("line {line}: {e}").into())),
                        };
                        Some(Ok((line, Err(msg))))
                    }
                }
            }
        }
    }
}

/// A JSON object of strings (null counts as absent). Values never appear in messages: a
/// password could be one.
fn parse_json_row(text: &str) -> Result<Row, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON (column {})", e.column()))?;
    let serde_json::Value::Object(map) = value else {
        return Err("not a JSON object".into());
    };
    let mut row = Row::default();
    for (k, v) in map {
        match v {
            serde_json::Value::String(s) if s.is_empty() => {
                return Err(format!("field {k:?} is empty"));
            }
            serde_json::Value::String(s) => row.set(&k, s)?,
            serde_json::Value::Null => row.set(&k, String::new())?,
            _ => return Err(format!("field {k:?} must be a string")),
        }
    }
    Ok(row)
}

/// A row written (or refused) by a task.
struct Finished {
    line: u64,
    format: String,
    email: String,
    result: authcore_core::Result<ImportOutcome>,
}

/// The summary and the progress bar, as rows finish.
struct Progress {
    summary: Summary,
    bar: ProgressBar,
    file: String,
}

impl Progress {
    fn record(&mut self, line: u64, format: &str, outcome: Result<ImportOutcome, String>) {
        match outcome {
            Ok(o) => self.summary.add(format, o.as_str()),
            Err(msg) => {
                self.summary.add(format, "failed");
                let file = &self.file;
                self.bar.suspend(|| eprintln!("{file}: line {line}: {msg}"));
            }
        }
        self.bar.set_message(format!("{} rows", self.summary.rows));
    }

    /// Records a finished task. A database that fails (rather than refusing a row) stops the
    /// import: the rows still running are dropped, each a transaction of its own.
    fn finish(
        &mut self,
        done: Result<Finished, tokio::task::JoinError>,
        in_flight: &mut HashSet<String>,
    ) -> Result<(), BoxError> {
        let done = done.map_err(|e| format!("an import task failed: {e}"))?;
        in_flight.remove(&done.email);
        match done.result {
            Err(e) if e.status_class() == StatusClass::Unavailable => {
                self.bar.abandon();
                Err(format!("{}: line {}: {e}; stopped there", self.file, done.line).into())
            }
            other => {
                self.record(done.line, &done.format, other.map_err(|e| e.to_string()));
                Ok(())
            }
        }
    }
}

/// Tallies per hash format and per outcome.
#[derive(Debug, Default)]
struct Summary {
    by_format: BTreeMap<String, BTreeMap<&'static str, u64>>,
    failed: u64,
    rows: u64,
}

impl Summary {
    fn add(&mut self, format: &str, outcome: &'static str) {
        self.rows += 1;
        if outcome == "failed" {
            self.failed += 1;
        }
        *self
            .by_format
            .entry(format.to_owned())
            .or_default()
            .entry(outcome)
            .or_insert(0) += 1;
    }

    fn print(&self, dry_run: bool, elapsed: std::time::Duration) {
        const OUTCOMES: [&str; 5] = ["created", "updated", "unchanged", "skipped", "failed"];
        let mut table = format!("{:<24}", "format");
        for o in OUTCOMES {
            table.push_str(&format!("{o:>10}"));
        }
        table.push('\n');
        let mut totals = BTreeMap::new();
        for (format, counts) in &self.by_format {
            table.push_str(&format!("{format:<24}"));
            for o in OUTCOMES {
                let n = counts.get(o).copied().unwrap_or(0);
                *totals.entry(o).or_insert(0) += n;
                table.push_str(&format!("{n:>10}"));
            }
            table.push('\n');
        }
        table.push_str(&format!("{:<24}", "total"));
        for o in OUTCOMES {
            table.push_str(&format!("{:>10}", totals.get(o).copied().unwrap_or(0)));
        }
        let what = if dry_run {
            "dry run (nothing written)"
        } else {
            "import"
        };
        println!(
            "{table}\n{what}: {} rows in {:.1} s, {} failed",
            self.rows,
            elapsed.as_secs_f64(),
            self.failed
        );
    }
}

/// Runs the import. Exit status 0 when every row was imported (or skipped), 1 when some
/// failed (each reported on stderr with its line number).
///
/// # Errors
/// A file or database that cannot be opened; a CSV header with an unknown column.
pub async fn run(args: ImportArgs) -> Result<ExitCode, BoxError> {
    let format = match args.format {
        Some(f) => f,
        None => match args.file.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "ndjson") => FileFormat::Jsonl,
            Some("csv") => FileFormat::Csv,
            _ => {
                return Err(format!(
                    "{}: cannot tell the format from the extension; use --format jsonl|csv",
                    args.file.display()
                )
                .into());
            }
        },
    };
    let size = std::fs::metadata(&args.file)
        .map_err(|e| format!("cannot open {}: {e}", args.file.display()))?
        .len();
    let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut rows = Rows::open(&args.file, format, Arc::clone(&read))?;

    let url = args.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL);
    let store = Arc::new(SqlStore::connect(url).await.map_err(|e| {
        format!(
            "cannot open the user store {}: {e}",
            authcore_sql::mask_url(url)
        )
    })?);
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store.clone())
        .policy(args.policy.policy())
        .hashing(args.hashing.config()?)
        // Tokens are never minted here; the builder wants a key all the same.
        .keys(crate::user::throwaway_keys()?)
        .allowed_roles(Role::REDIS_MANAGEMENT_ROLES)
        .settings_store(store)
        .build()?;
    // The stored policy (PUT /v1/cluster*) applies to the import as to a running server.
    auth.refresh_settings()
        .await
        .map_err(|e| format!("cannot load the run-time settings: {e}"))?;
    let on_conflict = match args.on_conflict {
        ConflictArg::Skip => OnConflict::Skip,
        ConflictArg::Update => OnConflict::Update,
    };

    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
        )
        .map_err(|e| format!("progress bar: {e}"))?,
    );
    let started = Instant::now();
    let mut progress = Progress {
        summary: Summary::default(),
        bar,
        file: args.file.display().to_string(),
    };
    // In a dry run nothing is written, so a later row with the same e-mail is a conflict
    // with the earlier one, not with the database.
    let mut seen = HashSet::new();
    // Rows are written a few at a time (the database overlaps their round trips); two rows
    // with the same e-mail never run at once, so the later one always sees the earlier one.
    let window = std::thread::available_parallelism().map_or(2, std::num::NonZero::get) * 4;
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let mut in_flight: HashSet<String> = HashSet::new();
    while let Some(next) = rows.next_row() {
        let (line, row) = next?;
        let format = row
            .as_ref()
            .map_or_else(|_| "unreadable".to_owned(), Row::format_name);
        let user = match row.and_then(Row::into_user) {
            Ok(user) => user,
            Err(msg) => {
                progress.record(line, &format, Err(msg));
                continue;
            }
        };
        let email = normalize_username(&user.email);
        if args.dry_run && !seen.insert(email.clone()) {
            let outcome = match on_conflict {
                OnConflict::Skip => ImportOutcome::Skipped,
                OnConflict::Update => ImportOutcome::Updated,
            };
            progress.record(line, &format, Ok(outcome));
            continue;
        }
        while tasks.len() >= window || (in_flight.contains(&email) && !tasks.is_empty()) {
            if let Some(done) = tasks.join_next().await {
                progress.finish(done, &mut in_flight)?;
            }
        }
        in_flight.insert(email.clone());
        let (auth, dry_run) = (auth.clone(), args.dry_run);
        tasks.spawn(async move {
            let result = auth.import_user(user, on_conflict, dry_run).await;
            Finished {
                line,
                format,
                email,
                result,
            }
        });
        progress
            .bar
            .set_position(read.load(std::sync::atomic::Ordering::Relaxed));
    }
    while let Some(done) = tasks.join_next().await {
        progress.finish(done, &mut in_flight)?;
    }
    let Progress { summary, bar, .. } = progress;
    bar.finish_and_clear();
    summary.print(args.dry_run, started.elapsed());
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
