package main

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// outFile is the file one topic is written to, and its rotation. It is
// used by the topic's router goroutine only.
//
// Files are written in opts.WorkDir and moved to opts.OutputDir when
// closed (when the two differ), never overwriting a file there: <REV>
// counts up instead. With gzip, every sync ends a gzip member, so that a
// file holds a concatenation of complete members, the last of which ends
// with the last acknowledged message.
type outFile struct {
	opts   *Options
	format string // the filename format with <DATETIME> (and <REV>) left
	tag    string // "[topic/channel]", for the log
	logf   logFunc
	now    func() time.Time

	f      *os.File
	gz     *gzip.Writer // the open gzip member; nil between members
	name   string       // the format with <DATETIME> replaced, as opened
	rel    string       // the path opened, relative to the directories
	opened time.Time
	size   int64 // bytes written to the file (before compression)
	rev    uint
}

// currentName is the filename format at the present time.
func (o *outFile) currentName() string {
	return strings.ReplaceAll(o.format, "<DATETIME>", strftime(o.opts.DatetimeFormat, o.now()))
}

// needsRotation reports whether the next message goes to a new file: none
// is open, the filename's time changed, the file is older than
// --rotate-interval or bigger than --rotate-size.
func (o *outFile) needsRotation() bool {
	if o.f == nil {
		return true
	}
	if name := o.currentName(); name != o.name {
		o.logf(levelInfo, "%s new filename %s, rotating...", o.tag, name)
		return true
	}
	if o.opts.RotateInterval > 0 {
		if age := o.now().Sub(o.opened); age > o.opts.RotateInterval {
			o.logf(levelInfo, "%s %s since last open, rotating...", o.tag, age)
			return true
		}
	}
	if o.opts.RotateSize > 0 && o.size > o.opts.RotateSize {
		o.logf(levelInfo, "%s %s currently %d bytes (> %d), rotating...", o.tag, o.f.Name(), o.size, o.opts.RotateSize)
		return true
	}
	return false
}

// tick is the periodic rotation check: when the file is due for
// rotation, the next is opened at once (possibly to stay empty), or with
// --skip-empty-files, closeNow asks for the file to be closed (the next
// message opens one).
func (o *outFile) tick() (closeNow bool, err error) {
	if !o.needsRotation() {
		return false, nil
	}
	if o.opts.SkipEmptyFiles {
		return true, nil
	}
	return false, o.rotate()
}

// write appends p to the file.
func (o *outFile) write(p []byte) error {
	if o.opts.GZIP && o.gz == nil {
		gz, err := gzip.NewWriterLevel(o.f, o.opts.GZIPLevel)
		if err != nil {
			return err
		}
		o.gz = gz
	}
	var (
		n   int
		err error
	)
	if o.gz != nil {
		n, err = o.gz.Write(p)
	} else {
		n, err = o.f.Write(p)
	}
	o.size += int64(n)
	return err
}

// sync makes what was written durable: it ends the gzip member, then
// fsyncs the file.
func (o *outFile) sync() error {
	if o.f == nil {
		return nil
	}
	if o.gz != nil {
		err := o.gz.Close()
		o.gz = nil
		if err != nil {
			return err
		}
	}
	return o.f.Sync()
}

// close syncs and closes the open file, if any, and moves it to the output
// directory.
func (o *outFile) close() error {
	if o.f == nil {
		return nil
	}
	err := o.sync()
	f := o.f
	o.f = nil
	if err != nil {
		f.Close()
		return fmt.Errorf("failed to sync output file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to close output file: %w", err)
	}
	if o.opts.WorkDir == o.opts.OutputDir {
		return nil
	}
	return o.moveOut()
}

// moveOut moves the closed file from the work directory to the output
// directory without overwriting: when its name is taken there, the next
// free revision is used.
func (o *outFile) moveOut() error {
	src := filepath.Join(o.opts.WorkDir, o.rel)
	dst := filepath.Join(o.opts.OutputDir, o.rel)
	o.logf(levelInfo, "%s moving finished file %s to %s", o.tag, src, dst)
	err := renameNoReplace(src, dst)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		return err
	}
	if !strings.Contains(o.name, "<REV>") {
		return fmt.Errorf("unable to move file from %s to %s: %w", src, dst, err)
	}
	for rev := o.rev + 1; ; rev++ {
		o.logf(levelWarn, "%s destination file already exists: %s", o.tag, dst)
		dst = filepath.Join(o.opts.OutputDir, strings.ReplaceAll(o.name, "<REV>", revision(rev)))
		err := renameNoReplace(src, dst)
		if err == nil {
			o.logf(levelInfo, "%s renamed finished file %s to %s to avoid overwrite", o.tag, src, dst)
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("unable to rename file from %s to %s: %w", src, dst, err)
		}
	}
}

// renameNoReplace moves src to dst unless dst exists (fs.ErrExist).
func renameNoReplace(src, dst string) error {
	if err := os.Link(src, dst); err != nil {
		return err
	}
	return os.Remove(src)
}

// rotate closes the open file, if any, and opens the next: the current
// filename at revision 0 when the name changed, else at the next
// revision, skipping revisions taken in the output directory, taken in
// the work directory (when files are numbered) or already bigger than
// --rotate-size (when appending).
func (o *outFile) rotate() error {
	if err := o.close(); err != nil {
		return err
	}
	name := o.currentName()
	if name != o.name {
		o.rev = 0
	} else {
		o.rev++
	}
	o.name, o.opened = name, o.now()

	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if o.opts.GZIP || o.opts.RotateInterval > 0 {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	numbered := strings.Contains(name, "<REV>")
	for ; ; o.rev++ {
		rel := strings.ReplaceAll(name, "<REV>", revision(o.rev))
		path := filepath.Join(o.opts.WorkDir, rel)
		if err := makeParent(path); err != nil {
			return fmt.Errorf("unable to create dir: %w", err)
		}
		if o.opts.WorkDir != o.opts.OutputDir {
			out := filepath.Join(o.opts.OutputDir, rel)
			if err := makeParent(out); err != nil {
				return fmt.Errorf("unable to create dir: %w", err)
			}
			_, err := os.Stat(out)
			if err == nil && numbered {
				o.logf(levelWarn, "%s output file already exists: %s", o.tag, out)
				continue
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("unable to stat output file %s: %w", out, err)
			}
		}
		f, err := os.OpenFile(path, flags, 0o666)
		if errors.Is(err, fs.ErrExist) && numbered {
			o.logf(levelWarn, "%s working file already exists: %s", o.tag, path)
			continue
		}
		if err != nil {
			return fmt.Errorf("unable to open %s: %w", path, err)
		}
		o.logf(levelInfo, "%s opening %s", o.tag, path)
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("unable to stat file %s: %w", path, err)
		}
		if o.opts.RotateSize > 0 && fi.Size() > o.opts.RotateSize && numbered {
			o.logf(levelInfo, "%s %s currently %d bytes (> %d), rotating...", o.tag, path, fi.Size(), o.opts.RotateSize)
			f.Close()
			continue
		}
		o.f, o.rel, o.size = f, rel, fi.Size()
		return nil
	}
}

// makeParent creates the directory path is in, as upstream (mode 0770).
func makeParent(path string) error {
	if dir := filepath.Dir(path); dir != "." {
		return os.MkdirAll(dir, 0o770)
	}
	return nil
}
