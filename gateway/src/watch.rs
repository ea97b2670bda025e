//! What makes a running gateway read its configuration again: `SIGHUP`, and — with
//! `[reload] watch = true` — a change of the file.
//!
//! Each trigger reads the file with the environment's `GATEWAY__…` overrides, exactly as at
//! start, and hands the result to [`Live::reload`]. A file that does not parse is refused here,
//! with every located error logged (the same messages `gateway check-config` prints) and
//! counted; the configuration in use stays.
//!
//! Why poll instead of `inotify` (the `notify` crate): a Kubernetes ConfigMap and many editors
//! replace the file by renaming a new one over it, which ends an `inotify` watch on the old file,
//! and bind mounts into containers often deliver no events at all. Reading the file's contents
//! every couple of seconds works everywhere, costs one small read, and a change is applied
//! within `poll_interval_ms`.

use crate::{config::load, live::Live};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

/// Starts the reload triggers for `live`, whose configuration came from `file` (`None`: from
/// the environment only, which `SIGHUP` reads again too). Runs until the gateway is dropped.
pub fn spawn(live: &Arc<Live>, file: Option<PathBuf>) {
    spawn_on_signal(live, file.clone());
    let reload = live.current().config.reload.clone();
    if let (true, Some(file)) = (reload.watch, file) {
        spawn_file_watch(live, file, Duration::from_millis(reload.poll_interval_ms));
    }
}

/// Reloads on every `SIGHUP` (the Unix convention for "read your configuration again").
#[cfg(unix)]
fn spawn_on_signal(live: &Arc<Live>, file: Option<PathBuf>) {
    use tokio::signal::unix::{SignalKind, signal};
    let live = Arc::downgrade(live);
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(error) => {
            tracing::warn!("cannot listen for SIGHUP ({error}); reload by signal is off");
            return;
        }
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let Some(live) = live.upgrade() else {
                return;
            };
            tracing::info!("SIGHUP: reloading the configuration");
            reload_from(&live, file.as_deref());
        }
    });
}

#[cfg(not(unix))]
fn spawn_on_signal(_: &Arc<Live>, _: Option<PathBuf>) {}

/// Reloads when the file's contents change, checked every `every`. Public so that tests can
/// start it on a gateway they hold.
pub fn spawn_file_watch(live: &Arc<Live>, file: PathBuf, every: Duration) {
    let live = Arc::downgrade(live);
    // Read now, not when the task first runs: a change made in between must count as one.
    let mut last = std::fs::read(&file).ok();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(live) = live.upgrade() else {
                return;
            };
            let now = tokio::fs::read(&file).await.ok();
            // A missing file (mid-rename) is not a change: wait for the new one to appear.
            if now.is_some() && now != last {
                last = now;
                tracing::info!(file = %file.display(), "the configuration file changed: reloading");
                reload_from(&live, Some(&file));
            }
        }
    });
}

/// Reads `file` (with the environment's overrides) and reloads `live` with it; returns whether
/// the new configuration is in use.
pub fn reload_from(live: &Live, file: Option<&Path>) -> bool {
    match load::load(file, load::ENV_PREFIX) {
        Ok(config) => live.reload(config).is_ok(),
        Err(errors) => {
            live.rejected(&errors.to_string());
            false
        }
    }
}
