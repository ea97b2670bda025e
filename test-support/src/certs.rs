//! Certificates for TLS tests, made at test time with rcgen: a CA of the test's own and leaf
//! certificates it signs, for `localhost` and `127.0.0.1`. Nothing is read from or written to a
//! fixed place; [`Files`] writes PEM files in a fresh temporary directory.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use std::path::{Path, PathBuf};

/// A certificate authority a test trusts.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA's certificate, PEM (what `curl --cacert` reads).
    pub pem: String,
    /// The same, DER (what a rustls root store takes).
    pub der: Vec<u8>,
}

/// A leaf certificate and its key, PEM.
#[derive(Clone)]
pub struct Leaf {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
    /// The certificate, DER (to compare with what a server presented).
    pub der: Vec<u8>,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("a key pair");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).expect("a self-signed CA");
        TestCa {
            pem: cert.pem(),
            der: cert.der().to_vec(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf for `localhost` and `127.0.0.1`, valid now.
    pub fn leaf(&self) -> Leaf {
        self.leaf_with(|_| {})
    }

    /// A leaf whose validity ended in 2021.
    pub fn expired_leaf(&self) -> Leaf {
        self.leaf_with(|params| {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        })
    }

    fn leaf_with(&self, adjust: impl FnOnce(&mut CertificateParams)) -> Leaf {
        let key = KeyPair::generate().expect("a key pair");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("leaf parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        adjust(&mut params);
        let cert = params.signed_by(&key, &self.issuer).expect("a signed leaf");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

/// A certificate file and a key file in a temporary directory, removed on drop.
pub struct Files {
    dir: PathBuf,
    /// The certificate chain file.
    pub cert: PathBuf,
    /// The key file.
    pub key: PathBuf,
}

impl Files {
    /// Writes `leaf` to `cert.pem` and `key.pem` in a new directory.
    pub fn new(leaf: &Leaf) -> Files {
        let dir = std::env::temp_dir().join(format!("tls-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let files = Files {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            dir,
        };
        files.replace(leaf);
        files
    }

    /// Replaces both files with `leaf`'s, as a renewal would (each written whole, then renamed
    /// over the old one, so a reader never sees half a file).
    pub fn replace(&self, leaf: &Leaf) {
        write_atomically(&self.cert, &leaf.cert_pem);
        write_atomically(&self.key, &leaf.key_pem);
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_atomically(path: &Path, text: &str) {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, text).expect("a temporary file");
    std::fs::rename(&temporary, path).expect("renamed over the old file");
}
