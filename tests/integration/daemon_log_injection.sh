#!/usr/bin/env bash
# daemon_log_injection.sh: a file name cannot forge journal lines (issue 11, finding 4). A file named
# "x<LF><0>EMERGENCY forged<CR><LF><6>y.log" in the watched directory is shipped like any other
# (its 5 entries arrive exactly once), and the daemon's stderr in service mode (sd-daemon "<N>"
# prefixes, what journald parses) holds only whole lines of its own: every line starts with a
# priority prefix, none with <0>, and the one line naming the file is exactly the expected one
# with the control bytes escaped. Bounded: about 6 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/log-injection
name=$'x\n<0>EMERGENCY forged\r\n<6>y.log'
haf_gen "$T/audit/$name" 0 5
haf_write_config "sources:
  - path: $T/audit/*.log
    log_group: $G
    log_stream: injected"
# Service mode: no -f, stderr not a terminal, so lines carry "<N>" as under systemd.
"$HAF_BIN" -c "$T/haf.yaml" >>"$T/daemon.out" 2>>"$T/daemon.log" &
HAF_PID=$!
haf_wait_exact "$G" 0 4 20 || haf_fail "the entries of the oddly named file were not shipped exactly once"
haf_stop

bad=$(grep -av '^<[0-7]>' "$T/daemon.log")
[ -z "$bad" ] || haf_fail "lines without a priority prefix (forged or split): $bad"
grep -aq '^<0>' "$T/daemon.log" && haf_fail "a line with priority 0 (emergency) was written"
want="<6>$T/audit/x\\n<0>EMERGENCY forged\\r\\n<6>y.log: new file, reading from byte 0 (stream $G/injected)"
got=$(grep -a 'EMERGENCY' "$T/daemon.log")
[ "$got" = "$want" ] || haf_fail "the file's line is not exactly the escaped one:
want: $want
got:  $got"
front_assert_clean
echo "PASS daemon_log_injection"
