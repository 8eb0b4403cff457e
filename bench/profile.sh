#!/bin/bash
# Profiles the Signet server during signed transfers (issue 8): smbclient
# 3.1.1 (GMAC) and 3.0.2 (CMAC) put and get, then the Signet client's, one
# CPU profile per transfer (OUTDIR/cpu1.pprof is the first transfer, see
# the order below; cpu0 is start-up) and the server's CPU seconds per GiB
# from /proc/PID/stat, written to OUTDIR/summary. Shares live in /dev/shm.
#
#   go build -tags perfprof -o /tmp/signet-prof ./cmd/signet
#   bench/profile.sh /tmp/signet-prof /tmp/prof 512 20801
#   go tool pprof -top /tmp/signet-prof /tmp/prof/cpu2.pprof
#
# usage: profile.sh BIN OUTDIR [SIZE_MiB] [PORT]; needs smbclient and bc.
BIN=$1; OUT=$2; MB=${3:-512}; PORT=${4:-20801}
set -e; trap "kill \$PID 2>/dev/null" EXIT
W=/dev/shm/signet-profile-$PORT; rm -rf $W; mkdir -p $W/share $OUT
cat > $W/signet.toml <<C
[server]
listen = "127.0.0.1:$PORT"
require_signing = true
users_file = "users"
[[share]]
name = "share"
path = "share"
C
SIGNET_PASSWORD='Bench-pass#1' $BIN user add benchuser --users-file $W/users >/dev/null
[ -f /dev/shm/signet-profile-src-$MB ] || head -c ${MB}M /dev/urandom > /dev/shm/signet-profile-src-$MB
SRC=/dev/shm/signet-profile-src-$MB
SIGNET_PROFDIR=$OUT $BIN serve --config $W/signet.toml 2>$OUT/server.log &
PID=$!; N=0
sleep 1
cpu() { awk '{print $14+$15}' /proc/$PID/stat; }
phase() { # name cmd...
  local name=$1; shift
  kill -USR1 $PID; sleep 0.2; N=$((N+1))
  local c0=$(cpu) t0=$(date +%s.%N)
  "$@" >/dev/null 2>$OUT/$name.err || { echo "FAIL $name"; cat $OUT/$name.err; }
  local t1=$(date +%s.%N) c1=$(cpu)
  echo "$name cpu$N.pprof $(echo "scale=3; ($c1-$c0)/100/($MB/1024)" | bc) cpu_s_per_GiB $(echo "scale=0; $MB*1.048576/($t1-$t0)" | bc) MB/s" | tee -a $OUT/summary
}
SMB=(smbclient //127.0.0.1/share -p $PORT -U benchuser%Bench-pass#1 "--option=client signing=required")
phase smb311put "${SMB[@]}" -m SMB3_11 --option='client min protocol=SMB3_11' -c "put $SRC f.bin"
phase smb311get "${SMB[@]}" -m SMB3_11 --option='client min protocol=SMB3_11' -c "get f.bin $W/got.bin"
cmp $SRC $W/got.bin; rm -f $W/got.bin || echo CMPFAIL
phase smb302put "${SMB[@]}" -m SMB3_02 --option='client min protocol=SMB3_02' -c "put $SRC f.bin"
phase smb302get "${SMB[@]}" -m SMB3_02 --option='client min protocol=SMB3_02' -c "get f.bin $W/got.bin"
cmp $SRC $W/got.bin; rm -f $W/got.bin || echo CMPFAIL
export SIGNET_PASSWORD='Bench-pass#1'
phase sig311put $BIN put -U benchuser --dialect 3.1.1 $SRC //127.0.0.1:$PORT/share/g.bin
phase sig311get $BIN get -U benchuser --dialect 3.1.1 //127.0.0.1:$PORT/share/g.bin $W/got.bin
cmp $SRC $W/got.bin; rm -f $W/got.bin || echo CMPFAIL
phase sig302put $BIN put -U benchuser --dialect 3.0.2 $SRC //127.0.0.1:$PORT/share/g.bin
phase sig302get $BIN get -U benchuser --dialect 3.0.2 //127.0.0.1:$PORT/share/g.bin $W/got.bin
cmp $SRC $W/got.bin; rm -f $W/got.bin || echo CMPFAIL
kill -USR1 $PID; sleep 0.2
kill -USR2 $PID; sleep 0.5
kill $PID; wait $PID || true
rm -rf $W $SRC
