//! Events: written in the next commit.
