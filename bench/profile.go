package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// profile is a flat CPU profile of one server during one transfer.
type profile struct {
	Server, Client, Op string
	ByObject           string   // the largest shares by executable or library
	Lines              []string // top symbols, percent of the server's samples
	// Kinds is every sample's share sorted into the kinds of work of
	// kindOrder (percent of the server's samples), from all symbols, not
	// only the top ones.
	Kinds map[string]float64
	// CPU is the server's CPU seconds per GiB during the profiled
	// transfer, so that a kind's share can be read as seconds per GiB.
	CPU float64
}

// The kinds of work a server's samples are sorted into (classify).
const (
	kindMAC      = "MAC and cipher"
	kindCopy     = "data copies (socket and file)"
	kindPages    = "page allocation, faults and memory accounting"
	kindSched    = "task switches, futexes and locks"
	kindIRQ      = "interrupts-off sections (_raw_spin_unlock_irq*: wake-ups, page and LRU locks)"
	kindNet      = "TCP/IP and system-call entry"
	kindKernel   = "other kernel"
	kindOwn      = "the server's executable (for Signet its code and Go runtime)"
	kindOwnOther = "libraries (for Samba its own code, libc)"
)

var kindOrder = []string{kindMAC, kindCopy, kindPages, kindIRQ, kindSched, kindNet, kindKernel, kindOwn, kindOwnOther}

// classify sorts one line of `perf report --sort dso,sym` ("12.5% dso
// [k] symbol") into a kind of work and returns it with the line's
// percentage; ok is false for a line that is not a sample line.
//
// The kernel's names are matched by prefix or substring and are a
// judgement, not a fact of the profile: _copy_to_iter, for one, is the
// socket's receive copy on a write and the file's read copy on a read,
// so both go into one "data copies" kind. On a VM, perf cannot sample
// while interrupts are off, so that time shows up at the
// _raw_spin_unlock_irq* that turns them back on; what ran there (waking
// a task, the page allocator's and the LRU lists' locks) cannot be told
// from a flat profile, so it is a kind of its own.
func classify(line string) (kind string, pct float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasSuffix(f[0], "%") {
		return "", 0, false
	}
	pct, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
	if err != nil {
		return "", 0, false
	}
	dso := f[1]
	sym := ""
	if len(f) >= 4 {
		sym = strings.Join(f[3:], " ")
	}
	has := func(subs ...string) bool {
		for _, x := range subs {
			if strings.Contains(sym, x) {
				return true
			}
		}
		return false
	}
	pre := func(ps ...string) bool {
		for _, x := range ps {
			if strings.HasPrefix(sym, x) {
				return true
			}
		}
		return false
	}
	kernel := strings.Contains(dso, "kernel")
	switch {
	case !kernel && (strings.Contains(dso, "gnutls") || strings.Contains(dso, "nettle") || strings.Contains(dso, "hogweed") ||
		strings.Contains(dso, "libcrypto") || strings.Contains(dso, "gcrypt") || pre("crypto/", "vendor/golang.org/x/crypto", "golang.org/x/crypto") ||
		has("/smbcrypto.", "ghash", "aesCTR", "gcmAes")):
		return kindMAC, pct, true
	case !kernel && has("memmove", "memcpy"):
		return kindCopy, pct, true
	case !kernel && (pre("runtime.futex", "runtime.usleep", "runtime.osyield", "runtime.lock", "runtime.unlock", "runtime.notesleep", "runtime.notewakeup") ||
		has("pthread_mutex", "pthread_cond", "__lll_lock")):
		return kindSched, pct, true
	case !kernel && strings.HasPrefix(dso, "lib"):
		return kindOwnOther, pct, true
	case !kernel:
		return kindOwn, pct, true
	case has("copy_folio", "copy_to_iter", "copy_from_iter", "copy_page_to_iter", "copy_page_from_iter", "copy_user", "rep_movs", "memcpy", "memmove", "shmem_file_read_iter", "filemap_read"):
		return kindCopy, pct, true
	case has("shmem_", "folio", "page", "alloc_pages", "get_page_from_freelist", "clear_page", "mem_cgroup", "memcg", "lruvec", "lru_", "vm_enough_memory", "fault", "_mm", "rmqueue", "zap_", "tlb", "filemap_", "xas_", "mmap", "munmap", "vma"):
		return kindPages, pct, true
	case has("_raw_spin_unlock_irq"):
		return kindIRQ, pct, true
	case has("finish_task_switch", "spin_unlock", "spin_lock", "schedule", "wake_up", "futex", "pv_queued", "ttwu", "enqueue_", "dequeue_", "update_curr", "pick_next", "switch_", "rwsem", "mutex", "epoll", "ep_poll", "select_task", "idle", "hrtimer", "__switch_to"):
		return kindSched, pct, true
	case pre("tcp_", "__tcp", "skb_", "__skb", "ip_", "__ip_", "ipv4_", "dev_", "__dev_", "loopback", "net_", "__net", "netif", "__netif", "sock_", "__sock", "sk_", "__sk_", "inet_", "release_sock", "lock_sock") ||
		has("softirq", "entry_SYSCALL", "syscall", "__x64_sys", "do_syscall", "__sys_", "rcv", "xmit", "napi", "check_object_size", "kmalloc", "kmem_cache", "kfree", "ksize", "fdget", "fput", "__fget"):
		return kindNet, pct, true
	}
	return kindKernel, pct, true
}

// kinds sums the percentages of perf report lines by kind.
func kinds(lines []string) map[string]float64 {
	out := map[string]float64{}
	for _, l := range lines {
		if k, p, ok := classify(l); ok {
			out[k] += p
		}
	}
	return out
}

// kindsText renders shares by kind, largest first, with seconds per GiB
// when cpu (the server's CPU seconds per GiB) is known.
func kindsText(k map[string]float64, cpu float64) string {
	names := slices.Clone(kindOrder)
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(k[b], k[a]) })
	var parts []string
	for _, n := range names {
		if k[n] < 0.5 {
			continue
		}
		if cpu > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f%% (%.2f s/GiB)", n, k[n], k[n]/100*cpu))
		} else {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", n, k[n]))
		}
	}
	return strings.Join(parts, ", ")
}

// perfUsable says whether system-wide sampling with perf works here.
func perfUsable() error {
	if _, err := exec.LookPath("perf"); err != nil {
		return fmt.Errorf("perf not found (Debian: apt-get install linux-perf)")
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("sampling smbd and the server with perf needs root")
	}
	return nil
}

// profileTransfer samples the server's process (perf record -p, which
// follows its threads and the children it forks, like smbd's per-connection
// process) during one extra transfer, not counted in the results.
func profileTransfer(x xfer, srv *server, p *payload, op, work string, top int) (*profile, error) {
	data := filepath.Join(work, "perf.data")
	defer os.Remove(data)
	rec := exec.Command("perf", "record", "-F", "997", "-p", strconv.Itoa(srv.pids()[0]), "-o", data)
	var recOut bytes.Buffer
	rec.Stdout, rec.Stderr = &recOut, &recOut
	if err := rec.Start(); err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond)
	m, terr := x.run(srv, p, op, work)
	rec.Process.Signal(syscall.SIGINT)
	werr := rec.Wait()
	if terr != nil {
		return nil, terr
	}
	if _, err := os.Stat(data); err != nil {
		return nil, fmt.Errorf("perf record: %v %v\n%s", werr, err, recOut.String())
	}
	out, err := exec.Command("perf", "report", "-i", data, "--stdio", "-q", "--no-children", "--sort", "dso").Output()
	if err != nil {
		return nil, fmt.Errorf("perf report: %v", err)
	}
	byDSO := perfLines(out)
	if len(byDSO) > 4 {
		byDSO = byDSO[:4]
	}
	out, err = exec.Command("perf", "report", "-i", data, "--stdio", "-q", "--no-children", "--sort", "dso,sym").Output()
	if err != nil {
		return nil, fmt.Errorf("perf report: %v", err)
	}
	lines := perfLines(out)
	if len(lines) == 0 {
		return nil, fmt.Errorf("perf: no samples of %s", srv.name)
	}
	k := kinds(lines)
	if len(lines) > top {
		lines = lines[:top]
	}
	return &profile{Server: srv.name, Client: x.client, Op: op, ByObject: strings.Join(byDSO, ", "), Lines: lines, Kinds: k, CPU: m.serverCPU}, nil
}

// perfLines returns the non-empty, non-comment lines of perf report
// output, with runs of spaces squeezed.
func perfLines(out []byte) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return lines
}
