// Package filewatch calls a function when a file changes. It watches the
// file's folder rather than the file, so that editors and tools that
// replace the file atomically (write a temporary file, then rename it over
// the original) are noticed too, as are changes of mode or owner (so that
// fixing the permissions of a refused file counts), and debounces: a burst of events (an
// editor's write-rename-chmod) gives one call once the file has been quiet
// for the debounce time.
package filewatch

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch calls changed after every burst of changes to the file at path,
// until ctx is done, on the calling goroutine; watcher errors go to
// watchErr. It returns nil when ctx is done, and an error only when the
// watch cannot be set up.
func Watch(ctx context.Context, path string, debounce time.Duration, changed func(), watchErr func(error)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", path, err)
	}
	defer w.Close()
	if err := w.Add(filepath.Dir(path)); err != nil {
		return fmt.Errorf("watch %s: %w", filepath.Dir(path), err)
	}
	loop(ctx, w, filepath.Base(path), debounce, changed, watchErr)
	return nil
}

func loop(ctx context.Context, w *fsnotify.Watcher, base string, debounce time.Duration, changed func(), watchErr func(error)) {
	timer := time.NewTimer(debounce)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if touchesFile(ev, base) {
				timer.Reset(debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			watchErr(err)
		case <-timer.C:
			changed()
		}
	}
}

// touchesFile reports whether ev may have changed the watched file.
func touchesFile(ev fsnotify.Event, base string) bool {
	if filepath.Base(ev.Name) != base {
		return false
	}
	return ev.Has(fsnotify.Write) || ev.Has(fsnotify.Create) ||
		ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Remove) ||
		ev.Has(fsnotify.Chmod) // mode or owner: a refused file may now be trusted
}
