//! `authcore keygen`: a new token signing secret or key.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine as _;
use clap::{Args, ValueEnum};
use zeroize::Zeroizing;

use crate::cli::BoxError;

/// Options of `authcore keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// hs256: a random secret for --jwt-secret (64 characters, 384 bits). ed25519 or p256: a
    /// PKCS#8 PEM private key for --jwt-key (EdDSA or ES256 tokens, public key in the JWKS).
    pub kind: KeyKind,

    /// Write to this file (created with mode 0600; an existing file is never overwritten)
    /// instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The kinds of key `authcore keygen` makes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyKind {
    /// An HS256 secret.
    Hs256,
    /// An Ed25519 private key (EdDSA).
    Ed25519,
    /// A P-256 private key (ES256).
    P256,
}

/// Generates the key and writes it.
pub fn run(args: &KeygenArgs) -> Result<ExitCode, BoxError> {
    let text = generate(args.kind)?;
    match &args.out {
        Some(path) => {
            write_new_private_file(path, text.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn generate(kind: KeyKind) -> Result<Zeroizing<String>, BoxError> {
    match kind {
        KeyKind::Hs256 => {
            let bytes = random::<48>()?;
            let mut text =
                Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(*bytes));
            text.push('\n');
            Ok(text)
        }
        KeyKind::Ed25519 => {
            use ed25519_dalek::pkcs8::EncodePrivateKey as _;
            // PKCS#8 v1 (the private key only), the form `openssl genpkey` writes and every
            // reader takes.
            let key = ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: *random::<32>()?,
                public_key: None,
            };
            Ok(key
                .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .map_err(|e| format!("cannot encode the key: {e}"))?)
        }
        KeyKind::P256 => {
            use p256::pkcs8::EncodePrivateKey as _;
            // A random 32-byte string is a valid scalar except with probability ~2^-32.
            let key = loop {
                if let Ok(key) = p256::SecretKey::from_slice(&*random::<32>()?) {
                    break key;
                }
            };
            Ok(key
                .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
                .map_err(|e| format!("cannot encode the key: {e}"))?)
        }
    }
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, BoxError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(&mut *bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(bytes)
}

/// Creates `path` with mode 0600 (owner read/write) and writes `bytes`; fails if it exists.
pub fn write_new_private_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
