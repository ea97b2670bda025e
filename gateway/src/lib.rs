//! gateway (being built).
pub mod config;
pub mod forwarded;
pub mod limits;
pub mod normalize;
pub mod routing;
pub mod upstream;

pub use config::Config;
