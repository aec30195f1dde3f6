//! The Python index: what functions, classes, imports, routes and Django
//! components each file holds. Built in parallel for a whole project, then
//! kept up to date one file at a time.

pub mod analysis;
mod extract;
pub mod framework;
mod lines;
pub mod model;
pub mod stack;
mod store;
pub mod web;

pub use store::{index_source, Index};
