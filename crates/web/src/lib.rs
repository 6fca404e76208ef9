//! The web layer: axum router for the JSON API and the pages.
