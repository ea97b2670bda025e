//! The demo's fixed facts, in one place so every service agrees on them.
//!
//! **Demo only.** These values are public (they are in the repository). A service started
//! without demo mode never seeds the accounts, and every service refuses the public secret there
//! ([`crate::token_rules`]).

/// Where clients reach the gateway unless told otherwise: the demo's `public_url`. The demo
/// launcher (`src/lib.rs`) replaces it with the address the gateway really bound, and compose
/// with its `PUBLIC_URL` variable (see `service_kit::settings::public_url_for`).
pub const PUBLIC_URL: &str = "http://localhost:8080";

/// The issuer every demo token names, and every verifier expects: the public URL, since
/// clients reach the auth-service, its discovery documents included, through the gateway.
pub const ISSUER: &str = PUBLIC_URL;

/// The audience of every demo access token: the e-commerce API behind the gateway.
pub const AUDIENCE: &str = "ecommerce-api";

/// The demo's HS256 secret (the lecture's "secret key"). 45 bytes: long enough for HS256
/// (RFC 7518 §3.2 asks for at least 256 bits), but public, so demo-only.
pub const HS256_SECRET: &str = "demo-only-hs256-secret-do-not-use-in-production";

/// The seeded student. The id and name are the lecture's example payload.
pub mod student {
    /// Stable id (`sub`), referred to by the backends' demo data.
    pub const ID: &str = "1905551042";
    /// Login e-mail.
    pub const EMAIL: &str = "student@example.edu";
    /// Login password (demo only).
    pub const PASSWORD: &str = "student123";
    /// Display name.
    pub const NAME: &str = "I Wayan Sudarma";
}

/// The seeded administrator.
pub mod admin {
    /// Stable id (`sub`), referred to by the backends' demo data.
    pub const ID: &str = "1000000001";
    /// Login e-mail.
    pub const EMAIL: &str = "admin@example.edu";
    /// Login password (demo only).
    pub const PASSWORD: &str = "admin123";
    /// Display name.
    pub const NAME: &str = "Ada Admin";
}

/// Classroom mode's seeded accounts: `student01@example.edu` … `student40@example.edu`, one per
/// student, so a room does not share (and lock) one account. Seeded only when classroom mode is
/// on (`AUTH__CLASSROOM__ENABLED=true` and `USERS__CLASSROOM=true`, or `CLASSROOM=1` for the
/// demo launcher and compose); see `docs/classroom.md`.
///
/// The passwords follow one public pattern (`student01pw` …): like the demo's own, they are
/// printed in the docs, so the accounts are for a classroom on a private network, not for
/// anything that matters.
pub mod classroom {
    /// How many student accounts classroom mode seeds.
    pub const STUDENTS: u32 = 40;

    /// One seeded classroom account.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Student {
        /// Stable id (`sub`): `2100000001` … `2100000040`.
        pub id: String,
        /// `studentNN@example.edu`.
        pub email: String,
        /// `studentNNpw`.
        pub password: String,
        /// `Student NN`.
        pub name: String,
    }

    /// Student `n` (1-based, `1..=STUDENTS`).
    pub fn student(n: u32) -> Student {
        Student {
            id: format!("21{n:08}"),
            email: format!("student{n:02}@example.edu"),
            password: format!("student{n:02}pw"),
            name: format!("Student {n:02}"),
        }
    }

    /// Every classroom student, in order.
    pub fn students() -> impl Iterator<Item = Student> {
        (1..=STUDENTS).map(student)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_forty_students_have_distinct_documented_names() {
            let all: Vec<Student> = students().collect();
            assert_eq!(all.len(), 40);
            assert_eq!(all[0].email, "student01@example.edu");
            assert_eq!(all[0].password, "student01pw");
            assert_eq!(all[0].id, "2100000001");
            assert_eq!(all[39].email, "student40@example.edu");
            assert_eq!(all[39].id, "2100000040");
            let ids: std::collections::HashSet<_> = all.iter().map(|s| &s.id).collect();
            assert_eq!(ids.len(), 40);
        }
    }
}
