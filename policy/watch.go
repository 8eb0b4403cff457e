package policy

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/signetsmb/signet/internal/filewatch"
)

// watchDebounce is how long the file must stay quiet before a reload, so
// that an editor's write-rename-chmod sequence causes a single reload.
const watchDebounce = 100 * time.Millisecond

// Watch reloads the configuration whenever its file changes, until ctx is
// done. It watches the file's folder rather than the file, so that editors
// and tools that replace the file atomically (write a temporary file, then
// rename it over the original) are noticed too. A change of mode or owner
// counts, so fixing the permissions of a refused file reloads it. Changes
// are debounced by about 100 ms. Each reload logs one line listing the changed values
// ("config reloaded: server.require_signing true -> false"); each rejected
// file logs one line with the reason, and the previous snapshot stays.
//
// Watch returns nil when ctx is done, and at once when the snapshot has no
// file. It returns an error only when the watch cannot be set up.
func (s *Store) Watch(ctx context.Context, logger *slog.Logger) error {
	return s.watch(ctx, logger, watchDebounce)
}

func (s *Store) watch(ctx context.Context, logger *slog.Logger, debounce time.Duration) error {
	path := s.Current().Path
	if path == "" {
		return nil
	}
	return filewatch.Watch(ctx, path, debounce,
		func() { s.ReloadAndLog(logger, "file changed") },
		func(err error) { logger.Warn("config watcher error", "file", s.Current().Name, "err", err) })
}

// ReloadOnSignal reloads, logging as Watch does, each time a signal
// arrives on sigs, until ctx is done or sigs is closed. The caller does the
// signal.Notify(sigs, syscall.SIGHUP).
func (s *Store) ReloadOnSignal(ctx context.Context, logger *slog.Logger, sigs <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig, ok := <-sigs:
			if !ok {
				return
			}
			s.ReloadAndLog(logger, "signal "+sig.String())
		}
	}
}

// ReloadAndLog reloads and logs the outcome: the new snapshot's warnings,
// then one line with the changed values, or one line with the reason the
// file was rejected. trigger says what caused the reload ("file changed",
// "signal hangup", "admin request") and is logged as an attribute.
func (s *Store) ReloadAndLog(logger *slog.Logger, trigger string) error {
	old, next, err := s.reload()
	name := old.Name
	if err != nil {
		logger.Error("config rejected, keeping the previous one: "+err.Error(), "file", name, "trigger", trigger)
		return err
	}
	if next == nil {
		logger.Info("config reload skipped: built-in configuration has no file", "trigger", trigger)
		return nil
	}
	for _, w := range next.Warnings() {
		logger.Warn("config warning: "+w.Key+": "+w.Message, "file", name)
	}
	logger.Info("config reloaded: "+describeChanges(Diff(old, next)), "file", name, "trigger", trigger)
	return nil
}

func describeChanges(chs []Change) string {
	if len(chs) == 0 {
		return "no changes"
	}
	parts := make([]string, len(chs))
	for i, ch := range chs {
		parts[i] = ch.String()
	}
	return strings.Join(parts, "; ")
}
