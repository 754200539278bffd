package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// NotRegularError says that path is a symbolic link or another kind of
// non-regular file, which lumuctl refuses to open.
type NotRegularError struct {
	Path string
	// Kind is "a symbolic link", "a directory", "a named pipe", ...
	Kind string
}

func (e *NotRegularError) Error() string {
	if e.Kind == "a symbolic link" {
		return fmt.Sprintf("%s is a symbolic link; lumuctl does not open its files through links (a link planted there could make it overwrite another file): remove the link, or point the setting at the real file", e.Path)
	}
	return fmt.Sprintf("%s is %s, not a regular file; lumuctl only writes regular files: remove it or choose another path", e.Path, e.Kind)
}

// kind names the type of a non-regular file mode.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// IsNotRegular reports whether err is (or wraps) a *NotRegularError.
func IsNotRegular(err error) bool {
	var e *NotRegularError
	return errors.As(err, &e)
}

// OpenFile is os.OpenFile that never follows a final symbolic link and only
// opens regular files. When flag asks for write access, the file's mode is
// set to perm (also when it already existed with another mode; perm 0
// keeps an existing file's mode). Its
// signature matches bbolt's Options.OpenFile.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	// Elsewhere than on Unix there is no O_NOFOLLOW: check first.
	if noFollow == 0 {
		if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
			return nil, &NotRegularError{Path: path, Kind: kind(fi.Mode())}
		}
	}
	// O_NONBLOCK keeps an open of a FIFO from hanging; it is refused below.
	f, err := os.OpenFile(path, flag|noFollow|nonBlock, perm)
	if err != nil {
		if isLoop(err) {
			if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
				return nil, &NotRegularError{Path: path, Kind: "a symbolic link"}
			}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: path, Kind: kind(fi.Mode())}
	}
	if err := clearNonBlock(f); err != nil {
		f.Close()
		return nil, err
	}
	if flag&(os.O_WRONLY|os.O_RDWR) != 0 && perm != 0 && fi.Mode().Perm() != perm.Perm() {
		if err := f.Chmod(perm); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// Create opens path for writing, truncated, with mode perm (see OpenFile).
func Create(path string, perm os.FileMode) (*os.File, error) {
	return OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
}

// CheckTarget returns a *NotRegularError when path exists and is not a
// regular file (a link is not followed). A missing path is fine.
func CheckTarget(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if !fi.Mode().IsRegular() {
		return &NotRegularError{Path: path, Kind: kind(fi.Mode())}
	}
	return nil
}

// WriteAtomic replaces path with data, mode perm: a temporary file in the
// same directory, written, fsynced and renamed over path, so a reader never
// sees half a file. It refuses when path is a symbolic link or another
// non-regular file (a rename would silently replace the link; refusing
// says that something unexpected is there).
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	if err := CheckTarget(path); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after the rename
	err = tmp.Chmod(perm)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(name, path)
}

// Rewrite replaces the contents of the existing regular file path in place,
// keeping its mode (it is the user's file, such as a configuration file
// that fmt formats). A symbolic link is refused.
func Rewrite(path string, data []byte) error {
	f, err := OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
