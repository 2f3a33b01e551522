//! Helpers shared by several test targets.

#![allow(dead_code)]

pub mod fake_bridge;
pub mod oracle;
pub mod peers;
