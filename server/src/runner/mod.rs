//! Running the project's own pytest with coverage, in its own interpreter.
