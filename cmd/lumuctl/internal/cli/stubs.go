package cli

// Temporary stubs, replaced by their own files.
