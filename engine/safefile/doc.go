// Package safefile opens and writes the files lumuctl owns (state, backup,
// lock, cache, plan, markdown, --json-into, log and metrics files) without
// following a symbolic link planted at their path, and refuses anything
// that is not a regular file there (a FIFO, a device, a directory).
//
// Why: these paths are often predictable (".lumuctl/state.db.lock") and can
// sit in a directory that others can write, such as a CI workspace. A link
// planted there would make an open with O_CREATE|O_TRUNC truncate and
// overwrite whatever file it points to, with lumuctl's permissions. Every
// function here opens the final path component with O_NOFOLLOW (on Unix;
// an Lstat check elsewhere) and checks what it opened with Fstat, so no
// race between a check and the open can be won.
//
// Files lumuctl creates or rewrites get the mode asked for (0600 for
// everything that may hold data from an API) whatever mode an existing
// file had: the mode is set on the open descriptor, not only at creation.
package safefile
