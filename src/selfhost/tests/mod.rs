//! Tests of the self-hosted platform core that span a module or need more
//! room than the module itself.

mod auth;
mod http;
mod log;
mod route;
mod sessions;
