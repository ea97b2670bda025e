//! Signing keys: loading them, refusing weak ones, and publishing the public halves as a JWKS.
//!
//! The `[signing]` list is ordered oldest → newest. New tokens are signed with the newest key;
//! every listed key still *verifies*, so tokens issued just before a rotation stay valid until they
//! expire. Removing a key from the list is what finally retires the tokens it signed.
//!
//! Only public keys (RS256, EdDSA) appear in `/.well-known/jwks.json`. An HS256 secret is never
//! published: anyone holding it could mint tokens.

use crate::config::{KeyAlgorithm, SigningConfig, SigningKeyConfig};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, jwk::JwkSet};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shared::{TokenVerifier, VerificationKey, VerifierSettings};

/// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits). The rule
/// itself lives in [`shared::token_rules`], shared with every verifier.
pub use shared::token_rules::MIN_HS256_SECRET_BYTES;
/// NIST SP 800-57 / RFC 7518 §3.3: RSA keys of 2048 bits or more.
pub const MIN_RSA_BITS: usize = 2048;

/// A signing key was refused; the message says which one and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("[signing] key {which}: {problem}")]
pub struct KeyConfigError {
    which: String,
    problem: String,
}

impl KeyConfigError {
    fn new(which: &str, problem: impl Into<String>) -> Self {
        KeyConfigError {
            which: which.to_owned(),
            problem: problem.into(),
        }
    }
}

/// One loaded signing key.
struct SigningKey {
    kid: Option<String>,
    algorithm: Algorithm,
    encoding: EncodingKey,
}

/// All signing keys, the JWKS that publishes them, and a verifier that accepts exactly them.
pub struct KeyRing {
    /// Oldest first; the last one signs.
    keys: Vec<SigningKey>,
    jwks: Value,
    verifier: TokenVerifier,
}

impl std::fmt::Debug for KeyRing {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|k| (&k.kid, k.algorithm)).collect();
        f.debug_struct("KeyRing")
            .field("keys", &kids)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads every key of `[signing]`, refusing weak ones: short HS256 secrets always, the public
    /// demo secret and small RSA keys outside demo mode.
    pub fn load(
        config: &SigningConfig,
        settings: VerifierSettings,
        demo: bool,
    ) -> Result<Self, KeyConfigError> {
        if config.keys.is_empty() {
            return Err(KeyConfigError::new(
                "list",
                "no signing key is configured; add one, e.g. `[[signing.keys]]` with \
                 `alg = \"RS256\"`, `kid = \"2025-01\"`, `private_key_file = \"keys/rsa.pem\"`",
            ));
        }
        let mut keys = Vec::new();
        let mut jwks = Vec::new();
        let mut verification = Vec::new();
        for (index, entry) in config.keys.iter().enumerate() {
            let which = match &entry.kid {
                Some(kid) => format!("`{kid}`"),
                None => format!("#{}", index + 1),
            };
            if let Some(kid) = &entry.kid
                && config.keys[..index]
                    .iter()
                    .any(|k| k.kid.as_deref() == Some(kid))
            {
                return Err(KeyConfigError::new(&which, "this kid is listed twice"));
            }
            if entry.kid.is_none() && config.keys[..index].iter().any(|k| k.kid.is_none()) {
                return Err(KeyConfigError::new(
                    &which,
                    "only one key may have no `kid` (verifiers could not tell them apart)",
                ));
            }
            let loaded = load_one(entry, &which, demo)?;
            match loaded.public {
                Some(jwk) => jwks.push(jwk),
                None => {
                    // HS256: the verifier needs the secret itself.
                    let secret = entry.secret.as_ref().expect("checked by load_one");
                    verification.push(
                        VerificationKey::hs256(
                            entry.kid.clone(),
                            secret.expose_secret().as_bytes(),
                        )
                        .map_err(|e| KeyConfigError::new(&which, e.to_string()))?,
                    );
                }
            }
            keys.push(loaded.key);
        }
        let jwks = json!({ "keys": jwks });
        // Our own public keys, read back through the same JWKS path every other verifier uses.
        let set: JwkSet = serde_json::from_value(jwks.clone())
            .map_err(|e| KeyConfigError::new("list", format!("JWKS does not parse: {e}")))?;
        verification.extend(VerificationKey::from_jwks(&set));
        let verifier = TokenVerifier::new(settings, verification);
        Ok(KeyRing {
            keys,
            jwks,
            verifier,
        })
    }

    /// The key new tokens are signed with: its `kid`, algorithm and encoding key.
    pub fn current(&self) -> (Option<&str>, Algorithm, &EncodingKey) {
        let key = self.keys.last().expect("load refuses an empty list");
        (key.kid.as_deref(), key.algorithm, &key.encoding)
    }

    /// The JWKS document (`{"keys":[…]}`), public keys only.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// A verifier accepting tokens signed by any configured key (used by `/auth/logout`).
    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }
}

struct Loaded {
    key: SigningKey,
    /// The public JWK, for asymmetric keys.
    public: Option<Value>,
}

fn load_one(entry: &SigningKeyConfig, which: &str, demo: bool) -> Result<Loaded, KeyConfigError> {
    match entry.alg {
        KeyAlgorithm::HS256 => {
            if entry.private_key_file.is_some() {
                return Err(KeyConfigError::new(
                    which,
                    "HS256 uses `secret`, not `private_key_file`",
                ));
            }
            let secret = entry.secret.as_ref().ok_or_else(|| {
                KeyConfigError::new(which, "HS256 needs `secret` (at least 32 random bytes)")
            })?;
            let bytes = secret.expose_secret().as_bytes();
            // The rules every service shares: 32 bytes or more, the demo secret only in demo mode.
            shared::token_rules::check_hs256_secret(bytes, demo)
                .map_err(|weak| KeyConfigError::new(which, weak.to_string()))?;
            Ok(Loaded {
                key: SigningKey {
                    kid: entry.kid.clone(),
                    algorithm: Algorithm::HS256,
                    encoding: EncodingKey::from_secret(bytes)
                        .map_err(|e| KeyConfigError::new(which, format!("unusable secret: {e}")))?,
                },
                public: None,
            })
        }
        KeyAlgorithm::RS256 | KeyAlgorithm::EdDSA => {
            if entry.secret.is_some() {
                return Err(KeyConfigError::new(
                    which,
                    "RS256 and EdDSA keys use `private_key_file`, not `secret`",
                ));
            }
            let kid = entry.kid.clone().ok_or_else(|| {
                KeyConfigError::new(
                    which,
                    "RS256 and EdDSA keys need a `kid`, so verifiers can find the public key in the JWKS",
                )
            })?;
            let path = entry.private_key_file.as_ref().ok_or_else(|| {
                KeyConfigError::new(which, "needs `private_key_file` (a PKCS#8 PEM private key)")
            })?;
            let pem = std::fs::read_to_string(path).map_err(|e| {
                KeyConfigError::new(which, format!("cannot read {}: {e}", path.display()))
            })?;
            if entry.alg == KeyAlgorithm::RS256 {
                load_rsa(kid, &pem, which, demo)
            } else {
                load_ed25519(kid, &pem, which)
            }
        }
    }
}

fn load_rsa(kid: String, pem: &str, which: &str, demo: bool) -> Result<Loaded, KeyConfigError> {
    use rsa::{pkcs8::DecodePrivateKey, traits::PublicKeyParts};
    let private = rsa::PrivateKey::from_pkcs8_pem(pem).map_err(|e| {
        KeyConfigError::new(
            which,
            format!("not a PKCS#8 RSA private key in PEM ({e}); convert with `openssl pkcs8 -topk8 -nocrypt`"),
        )
    })?;
    let bits = private.n().bit_width() as usize;
    if !demo && bits < MIN_RSA_BITS {
        return Err(KeyConfigError::new(
            which,
            format!(
                "the RSA key has {bits} bits; use at least {MIN_RSA_BITS} \
                 (`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`)"
            ),
        ));
    }
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|e| KeyConfigError::new(which, format!("unusable RSA key: {e}")))?;
    let public = json!({
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(private.n_bytes()),
        "e": URL_SAFE_NO_PAD.encode(private.e_bytes()),
    });
    Ok(Loaded {
        key: SigningKey {
            kid: Some(kid),
            algorithm: Algorithm::RS256,
            encoding,
        },
        public: Some(public),
    })
}

fn load_ed25519(kid: String, pem: &str, which: &str) -> Result<Loaded, KeyConfigError> {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let private = ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(|e| {
        KeyConfigError::new(
            which,
            format!("not a PKCS#8 Ed25519 private key in PEM ({e})"),
        )
    })?;
    let encoding = EncodingKey::from_ed_pem(pem.as_bytes())
        .map_err(|e| KeyConfigError::new(which, format!("unusable Ed25519 key: {e}")))?;
    let public = json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "use": "sig",
        "alg": "EdDSA",
        "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(private.verifying_key().to_bytes()),
    });
    Ok(Loaded {
        key: SigningKey {
            kid: Some(kid),
            algorithm: Algorithm::EdDSA,
            encoding,
        },
        public: Some(public),
    })
}
