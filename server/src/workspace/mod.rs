//! Project discovery: the Python root, which files belong to the project,
//! where the existing tests live.
