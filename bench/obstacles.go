package main

import (
	"fmt"
	"math"
	"strings"
)

// mbPerGiB converts GiB/s to MB/s.
const mbPerGiB = float64(1<<30) / 1e6

// cpuLimit is the most MB/s two programs can move on cores CPUs when they
// spend client and server CPU seconds per GiB: all their CPU has to fit in
// the cores' time, however well the two overlap. A single-threaded client
// (smbclient) can also use no more than one core; single is then true.
func cpuLimit(client, server float64, cores int, single bool) float64 {
	if math.IsNaN(client) || math.IsNaN(server) || client+server <= 0 || cores <= 0 {
		return math.NaN()
	}
	v := float64(cores) / (client + server) * mbPerGiB
	if single && client > 0 {
		v = math.Min(v, mbPerGiB/client)
	}
	return v
}

// busy is the share of cores the two programs kept busy at rate MB/s.
func busy(rate, client, server float64, cores int) float64 {
	return rate / mbPerGiB * (client + server) / float64(cores)
}

// profileOf returns the run's profile of a server with a client and
// operation, or nil.
func (r *results) profileOf(server, client, op string) *profile {
	for _, p := range r.profiles {
		if p.Server == server && p.Client == client && p.Op == op {
			return p
		}
	}
	return nil
}

// kindsOf says where a server's CPU went during the profiled transfer.
func (r *results) kindsOf(server, client, op string) string {
	p := r.profileOf(server, client, op)
	if p == nil || len(p.Kinds) == 0 {
		return ""
	}
	return fmt.Sprintf("%s's CPU during the profiled %s (%.2f s/GiB): %s.", server, op, p.CPU, kindsText(p.Kinds, p.CPU))
}

// kernelData is the share of a profiled server's samples that went to
// the kernel's data copies and page work, which any server that copies
// the data into and out of the page cache pays, applied to the median CPU
// per GiB of the same server, client and operation (the profile is one
// extra transfer, which may have been an unlucky one): seconds per GiB.
// NaN without a profile or a median.
func (r *results) kernelData(server, client, op string) float64 {
	p := r.profileOf(server, client, op)
	cpu := r.cpu(server, client, op)
	if p == nil || len(p.Kinds) == 0 || math.IsNaN(cpu) {
		return math.NaN()
	}
	return (p.Kinds[kindCopy] + p.Kinds[kindPages]) / 100 * cpu
}

// obstacles explains every missed target from this run's own figures:
// what a server storing nothing reached (the bound part), the CPU each
// side spent per GiB and what that allows on this machine's cores, and
// where the server's CPU went in the profile. It returns one Markdown
// list item per missed half of a target.
func (r *results) obstacles(cores int) []string {
	var out []string
	f := func(v float64) string { return fmtVal(v) }
	for _, t := range r.targets() {
		if t.Status != "missed" {
			continue
		}
		switch t.ID {
		case "1a", "10":
			cl, want := cliSmbGMAC, 1.5
			if t.ID == "10" {
				cl = cliSmbEnc
			}
			for _, op := range []string{"read", "write"} {
				sig, sam := r.med(srvSignet, cl, op), r.med(srvSamba, cl, op)
				if math.IsNaN(sig) || math.IsNaN(sam) || sig/sam >= want {
					continue
				}
				var b strings.Builder
				fmt.Fprintf(&b, "**%s, %s** (%s with %s: %.2fx Samba, wanted %.1fx): Signet %s MB/s, Samba %s MB/s.", t.ID, op, op, cl, sig/sam, want, f(sig), f(sam))
				if null := r.med(srvNull, cl, op); !math.IsNaN(null) {
					fmt.Fprintf(&b, " Against the share that stores nothing the same client reached %s MB/s, %.2fx Samba", f(null), null/sam)
					if null/sam < want {
						b.WriteString(": **no server could have reached the target with this client in this run**; the client and the connection bound it")
					} else {
						fmt.Fprintf(&b, "; Signet reached %.0f%% of that, so the target is within a server's reach and what Signet does beyond the protocol (storing or fetching the data) is in the way", sig/null*100)
					}
					b.WriteString(".")
				}
				cc, sc := r.clientCPU(srvSignet, cl, op), r.cpu(srvSignet, cl, op)
				if !math.IsNaN(cc) && !math.IsNaN(sc) {
					fmt.Fprintf(&b, " Per GiB, smbclient spent %.2f s of CPU against Signet (%.2f against Samba) and Signet's server %.2f s (Samba's %.2f)", cc, r.clientCPU(srvSamba, cl, op), sc, r.cpu(srvSamba, cl, op))
					if nc := r.cpu(srvNull, cl, op); !math.IsNaN(nc) {
						fmt.Fprintf(&b, "; the null share's server %.2f s", nc)
						if sc > nc {
							fmt.Fprintf(&b, ", so storing or fetching the file cost Signet %.2f s", sc-nc)
						}
					}
					lim := cpuLimit(cc, sc, cores, true)
					fmt.Fprintf(&b, ". On %d cores these costs allow at most %s MB/s (smbclient is one thread: at most %s MB/s by itself); %.1fx Samba is %s MB/s", cores, f(lim), f(mbPerGiB/cc), want, f(want*sam))
					if need := float64(cores)/(want*sam/mbPerGiB) - cc; lim < want*sam && need > 0 && mbPerGiB/cc >= want*sam {
						fmt.Fprintf(&b, ", for which Signet's server would have to spend at most %.2f s/GiB with this client's %.2f", need, cc)
					} else if lim >= want*sam {
						b.WriteString(", so the cores left room and waiting, not CPU, held the transfer back")
					}
					fmt.Fprintf(&b, " (the two kept the cores %.0f%% busy).", busy(sig, cc, sc, cores)*100)
					if store, nc := median(r.storeCPU), r.cpu(srvNull, cl, op); op == "write" && !math.IsNaN(store) && !math.IsNaN(nc) {
						floor := nc + store
						fl := cpuLimit(cc, floor, cores, true)
						fmt.Fprintf(&b, " Storing alone cost %.2f s/GiB in this run (the probe above), so a server that stores the data spends at least the null share's %.2f plus that, %.2f s/GiB; with smbclient's %.2f the cores would allow at most %s MB/s even then, %.0f%% of %.1fx Samba, and only with both kept fully busy", store, nc, floor, cc, f(fl), fl/(want*sam)*100, want)
						if fl < want*sam {
							b.WriteString(": **no server storing the file here could have reached the target with this client**")
						}
						b.WriteString(".")
					}
				}
				if k := r.kindsOf(srvSignet, cl, op); k != "" {
					b.WriteString(" " + k)
				}
				out = append(out, b.String())
			}
		case "2", "2m":
			cl := cliSigGMAC
			if t.ID == "2m" {
				cl = cliSigMem
			}
			ceil := r.med(srvCeiling, cliCeiling, opCeiling)
			for _, op := range []string{"read", "write"} {
				sig := r.med(srvSignet, cl, op)
				if math.IsNaN(sig) || math.IsNaN(ceil) || sig/ceil >= 0.7 {
					continue
				}
				var b strings.Builder
				fmt.Fprintf(&b, "**%s, %s** (%s: %.2fx the TCP ceiling of %s MB/s, wanted 0.7x = %s MB/s): Signet %s MB/s.", t.ID, op, cl, sig/ceil, f(ceil), f(0.7*ceil), f(sig))
				cc, sc := r.clientCPU(srvSignet, cl, op), r.cpu(srvSignet, cl, op)
				if !math.IsNaN(cc) && !math.IsNaN(sc) {
					lim := cpuLimit(cc, sc, cores, false)
					fmt.Fprintf(&b, " Per GiB the Signet client spent %.2f s of CPU and the server %.2f s; on %d cores that allows at most %s MB/s, %.2fx the ceiling (the two were %.0f%% busy)", cc, sc, cores, f(lim), lim/ceil, busy(sig, cc, sc, cores)*100)
					if lim/ceil < 0.7 {
						fmt.Fprintf(&b, ": **the CPU the two sides spend rules the target out on this machine**; together they would have to spend at most %.2f s per GiB", float64(cores)/(0.7*ceil/mbPerGiB))
					} else {
						b.WriteString(", so the cores left room and waiting, not CPU, held the transfer back")
					}
					b.WriteString(".")
				}
				if null := r.med(srvNull, cliSigMem, op); !math.IsNaN(null) {
					fmt.Fprintf(&b, " From and into memory against the share that stores nothing: %s MB/s, %.2fx the ceiling", f(null), null/ceil)
					if nc, ncc := r.cpu(srvNull, cliSigMem, op), r.clientCPU(srvNull, cliSigMem, op); !math.IsNaN(nc) && !math.IsNaN(ncc) {
						fmt.Fprintf(&b, " (client %.2f s/GiB, server %.2f s/GiB: the protocol, the MACs and the socket copies alone)", ncc, nc)
					}
					b.WriteString(".")
				}
				if k := r.kindsOf(srvSignet, cliSigGMAC, op); k != "" {
					b.WriteString(" " + k)
				}
				out = append(out, b.String())
			}
		case "3":
			for _, op := range []string{"read", "write"} {
				sig, uns := r.med(srvSignet, cliSigGMAC, op), r.med(srvUnsigned, cliSigNoSign, op)
				if math.IsNaN(sig) || math.IsNaN(uns) || sig/uns >= 0.95 {
					continue
				}
				var b strings.Builder
				fmt.Fprintf(&b, "**3, %s** (signed / unsigned %.2fx, wanted 0.95x): signed %s MB/s, unsigned %s MB/s.", op, sig/uns, f(sig), f(uns))
				cs, ss := r.clientCPU(srvSignet, cliSigGMAC, op), r.cpu(srvSignet, cliSigGMAC, op)
				cu, su := r.clientCPU(srvUnsigned, cliSigNoSign, op), r.cpu(srvUnsigned, cliSigNoSign, op)
				if !math.IsNaN(cs) && !math.IsNaN(ss) && !math.IsNaN(cu) && !math.IsNaN(su) {
					fmt.Fprintf(&b, " CPU per GiB, client + server: signed %.2f + %.2f = %.2f s, unsigned %.2f + %.2f = %.2f s; signing added %.2f s (client %+.2f, server %+.2f).", cs, ss, cs+ss, cu, su, cu+su, cs+ss-cu-su, cs-cu, ss-su)
					bu := busy(uns, cu, su, cores)
					fmt.Fprintf(&b, " The unsigned transfer kept the %d cores %.0f%% busy", cores, bu*100)
					if bu >= 0.85 {
						fmt.Fprintf(&b, ", so the extra CPU costs rate almost one for one: with both cores busy the signed rate could be at most %.2fx the unsigned one. **What is in the way is the CPU of the MAC on both sides**, not waiting", (cu+su)/(cs+ss))
					} else {
						b.WriteString(", so the cores were not the limit and waiting (the pipeline, not the MAC's CPU) is in the way")
					}
					b.WriteString(".")
				}
				out = append(out, b.String())
			}
		case "6":
			for _, op := range []string{"read", "write"} {
				sig, sam := r.cpu(srvSignet, cliSmbGMAC, op), r.cpu(srvSamba, cliSmbGMAC, op)
				if math.IsNaN(sig) || math.IsNaN(sam) || sig/sam <= 0.6 {
					continue
				}
				var b strings.Builder
				fmt.Fprintf(&b, "**6, %s** (server CPU per GiB with %s, Signet / Samba %.2fx, wanted at most 0.6x = %.2f s): Signet %.2f s/GiB, Samba %.2f.", op, cliSmbGMAC, sig/sam, 0.6*sam, sig, sam)
				if nc := r.cpu(srvNull, cliSmbGMAC, op); !math.IsNaN(nc) {
					fmt.Fprintf(&b, " Signet's server with nothing stored or fetched: %.2f s/GiB (%.2fx Samba), so the file's part cost Signet %.2f s.", nc, nc/sam, sig-nc)
				}
				if kd := r.kernelData(srvSignet, cliSmbGMAC, op); !math.IsNaN(kd) {
					fmt.Fprintf(&b, " The kernel's data copies and page work alone (their share of the profile, applied to the median) took %.2f s/GiB of Signet's server", kd)
					if kd >= 0.6*sam {
						b.WriteString(", more than the whole budget: **the kernel's copies into and out of the socket and the page cache, which Samba pays too, are in the way**")
					} else {
						fmt.Fprintf(&b, ", %.0f%% of the budget", kd/(0.6*sam)*100)
					}
					if sd := r.kernelData(srvSamba, cliSmbGMAC, op); !math.IsNaN(sd) {
						fmt.Fprintf(&b, " (Samba's: %.2f s/GiB)", sd)
					}
					b.WriteString(".")
				}
				for _, s := range []string{srvSignet, srvSamba} {
					if k := r.kindsOf(s, cliSmbGMAC, op); k != "" {
						b.WriteString(" " + k)
					}
				}
				out = append(out, b.String())
			}
		default:
			out = append(out, fmt.Sprintf("**%s** (%s): %s; see the tables above.", t.ID, t.Got, t.Shortfall))
		}
	}
	return out
}
