#!/usr/bin/env bash
# daemon_new_file.sh: files that appear after start are read from their beginning, even with
# start_position: end. With start_position: end on the first run, the entries already in
# existing.log are NOT shipped (only what is appended after start is); a file created later in the
# watched directory, and a file created later in a directory that did not exist at start (its
# parent is watched or polled), are each shipped from byte 0, exactly once, into their own streams
# ({file}). The log says where each file was started. Bounded: about 8 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/new-file
haf_gen "$T/audit/existing.log" 0 100
size=$(stat -c %s "$T/audit/existing.log")
haf_write_config "sources:
  - path: $T/audit/*.log
    log_group: $G
    log_stream: \"{file}\"
    start_position: end
  - path: $T/later/sub/*.log
    log_group: $G
    log_stream: \"{file}\"
    start_position: end"
[ -e "$T/later" ] && haf_fail "the late directory exists already"
haf_start
haf_wait_log "watching 1 files" 10 || haf_fail "daemon did not start watching existing.log"
grep -q "existing.log: new file, reading from byte $size " "$T/daemon.log" ||
    haf_fail "start_position: end did not start existing.log at its size $size"

haf_gen "$T/audit/existing.log" 100 50
haf_gen "$T/audit/appeared.log" 0 40
mkdir -p "$T/later/sub"
haf_gen "$T/later/sub/deep.log" 0 30

haf_wait_exact "$G" 100 149 20 --streams-prefix existing.log ||
    haf_fail "existing.log: not exactly the appended 100..149 (start_position: end)"
haf_wait_exact "$G" 0 39 20 --streams-prefix appeared.log ||
    haf_fail "appeared.log (created after start) not shipped from its beginning"
haf_wait_exact "$G" 0 29 20 --streams-prefix deep.log ||
    haf_fail "deep.log (in a directory created after start) not shipped from its beginning"
grep -q "appeared.log: new file, reading from byte 0 " "$T/daemon.log" ||
    haf_fail "appeared.log not started at byte 0"
grep -q "deep.log: new file, reading from byte 0 " "$T/daemon.log" ||
    haf_fail "deep.log not started at byte 0"
haf_stop
front_assert_clean
echo "PASS daemon_new_file"
