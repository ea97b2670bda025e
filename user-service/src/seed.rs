//! Demo data (demo mode only): the two demo accounts' profiles, plus a few customers so that an
//! ADMIN's `GET /users` shows a realistic list. The extra customers exist only here — they have
//! no password at the auth-service, so nobody can log in as them. In classroom mode, also the
//! forty classroom accounts' profiles ([`shared::demo::classroom`]): the auth-service seeds the
//! accounts from the same constants, so both agree before anyone logs in.

use crate::profiles::{self, Profile};
use shared::demo;
use sqlx::SqlitePool;

/// `(id, email, name, role)` of every seeded profile.
pub const PROFILES: &[(&str, &str, &str, &str)] = &[
    (
        demo::student::ID,
        demo::student::EMAIL,
        demo::student::NAME,
        "STUDENT",
    ),
    (
        demo::admin::ID,
        demo::admin::EMAIL,
        demo::admin::NAME,
        "ADMIN",
    ),
    (
        "1905551077",
        "ni.luh.putu@example.com",
        "Ni Luh Putu Ayu",
        "STUDENT",
    ),
    (
        "1905551118",
        "komang.adi@example.com",
        "Komang Adi Pratama",
        "STUDENT",
    ),
    (
        "2003000042",
        "maria.garcia@example.com",
        "María García",
        "STUDENT",
    ),
    ("2003000057", "chen.wei@example.com", "Chen Wei", "STUDENT"),
];

/// Inserts the demo profiles that are not there yet.
pub async fn seed(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    for (id, email, name, role) in PROFILES {
        let profile = Profile {
            id: (*id).to_owned(),
            email: Some((*email).to_owned()),
            name: (*name).to_owned(),
            role: (*role).to_owned(),
        };
        profiles::insert_if_absent(pool, &profile).await?;
    }
    tracing::info!(profiles = PROFILES.len(), "demo profiles seeded");
    Ok(())
}

/// Inserts the classroom students' profiles that are not there yet.
pub async fn seed_classroom(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    for student in demo::classroom::students() {
        let profile = Profile {
            id: student.id,
            email: Some(student.email),
            name: student.name,
            role: "STUDENT".to_owned(),
        };
        profiles::insert_if_absent(pool, &profile).await?;
    }
    tracing::info!(
        profiles = demo::classroom::STUDENTS,
        "classroom profiles seeded"
    );
    Ok(())
}
