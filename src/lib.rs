//! Levin facade
