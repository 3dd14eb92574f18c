//! Custom object schemas.
