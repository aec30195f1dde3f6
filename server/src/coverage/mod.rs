//! Coverage data: coverage.py's Cobertura XML and the gap model built on it.
