#!/usr/bin/env bash
# daemon_state_version.sh: the state file's format version across upgrades and downgrades
# (checkpoint.c "Versions"). The daemon ships 0..9 and stops; state.json says "version": 2.
# (1) The same file labelled with a future version (3), as a newer release would leave it for an
# older one: the daemon refuses to start, exit code 1, with the exact error on stderr, and leaves
# state.json byte for byte as it was (nothing set aside as corrupt, nothing re-sent). (2) The same
# file labelled version 1 (the previous format, which already held these keys): the daemon reads
# it and ships only 10..19, so the group holds 0..19 exactly once. Bounded: about 10 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/state-version
haf_gen "$T/audit/hsm.log" 0 10
haf_config "$G" "hsm"
haf_start
haf_wait_exact "$G" 0 9 20 || haf_fail "first run did not ship 0..9"
haf_stop
grep -q '"version": 2,' "$T/state/state.json" || haf_fail "state.json is not version 2"

relabel() {
    python3 - "$T/state/state.json" "$1" <<'PY'
import re, sys
p, v = sys.argv[1], sys.argv[2]
s = open(p).read()
s2 = re.sub(r'"version": 2,', '"version": %s,' % v, s, count=1)
assert s2 != s
open(p, "w").write(s2)
PY
}

# (1) a future version: refused, untouched
relabel 3
cp -p "$T/state/state.json" "$T/future.json"
haf_gen "$T/audit/hsm.log" 10 10
timeout 20 "$HAF_BIN" -f -c "$T/haf.yaml" >"$T/future.out" 2>"$T/future.err"
rc=$?
[ "$rc" -eq 1 ] || { cat "$T/future.err" >&2; haf_fail "exit code $rc on a future state version, not 1"; }
want="state directory $T/state: invalid argument: $T/state/state.json: version 3 is newer than this program understands (2); refusing to discard it (it was written by a newer release: run that release or a newer one; moving the file away re-sends everything it covers)"
grep -qF -- "$want" "$T/future.err" || { cat "$T/future.err" >&2; haf_fail "not the documented error"; }
grep -qF -- "cannot start: invalid argument" "$T/future.err" || haf_fail "no 'cannot start' line"
cmp -s "$T/state/state.json" "$T/future.json" || haf_fail "state.json was changed"
set -- "$T"/state/state.json.corrupt-*
[ ! -e "$1" ] || haf_fail "a future state was set aside as corrupt: $1"
out=$(haf_check "$G" 0 9 --quiet 2>&1)
case "$out" in *"lost 0 unexpected 0 "*"duplicates 0 "* | *"duplicates 0 "*"lost 0 unexpected 0 "*) ;; *) haf_fail "something was sent: $out" ;; esac
echo "future version: exit 1, state untouched"

# (2) the previous version: read, nothing re-sent
relabel_back() { sed -i 's/"version": 3,/"version": 1,/' "$T/state/state.json"; }
relabel_back
haf_start
haf_wait_exact "$G" 0 19 20 || haf_fail "version 1 state: 0..19 not exactly once"
haf_stop
grep -q '"version": 2,' "$T/state/state.json" || haf_fail "state.json not rewritten as version 2"
front_assert_clean
echo "PASS daemon_state_version"
