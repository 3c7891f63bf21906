#!/bin/bash
# tern-server --rotate --prefix over IPv6 in network namespaces the test
# makes: the server namespace routes 2001:db8:1::/64 to itself as AnyIP
# (ip -6 route add local ... dev lo) and serves the whole /64 from one
# wildcard socket (IPV6_FREEBIND, the source chosen per datagram); a 30 MB
# download paced at 100 Mbit/s moves every 0.2 s to a random address of the
# prefix and arrives intact. Datagrams to an address of the host outside the
# configured ones are not served (the serve filter).
# Exit 77 (skipped) without root or namespaces.
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tools/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: network namespaces need root" >&2; exit 77; }
ID=$$
SNS=tern-v6s-$ID CNS=tern-v6c-$ID
ip netns add "$SNS" 2>/dev/null || { echo "SKIP: cannot create network namespaces" >&2; exit 77; }
ip netns add "$CNS" || { ip netns del "$SNS"; fail "cannot create the client namespace"; }
teardown() {
    for ns in "$SNS" "$CNS"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
}
trap 'teardown; cleanup' EXIT
ip link add v6s-$ID type veth peer name v6c-$ID || fail "cannot create a veth pair"
ip link set v6s-$ID netns "$SNS" && ip link set v6c-$ID netns "$CNS" || fail "cannot move the veth ends"
S() { ip netns exec "$SNS" "$@"; }
C() { ip netns exec "$CNS" "$@"; }
S ip link set lo up && C ip link set lo up
S ip link set v6s-$ID up && C ip link set v6c-$ID up
S ip -6 addr add 2001:db8::1/64 dev v6s-$ID nodad
C ip -6 addr add 2001:db8::2/64 dev v6c-$ID nodad
# AnyIP: every address of the /64 is local to the server.
S ip -6 route add local 2001:db8:1::/64 dev lo || fail "cannot add the AnyIP route"
C ip -6 route add 2001:db8:1::/64 via 2001:db8::1 || fail "cannot route the prefix from the client"
# An address of the server outside the configured ones.
S ip -6 addr add 2001:db8:2::5/128 dev lo nodad
C ip -6 route add 2001:db8:2::/64 via 2001:db8::1

mkdir "$WORK/root"
make_file "$WORK/root/f" 30
SRV_LOG=$WORK/server.log
# (not through S: a function in the background would give a subshell's pid)
ip netns exec "$SNS" env TMPDIR="$WORK" "$SERVER" --listen '[2001:db8::1]:4433' --root "$WORK/root" --rotate 0.2 \
    --prefix 2001:db8:1::/64:0 --max-rate 100 > "$SRV_LOG" 2>&1 &
SRV_PID=$!
PIDS+=($SRV_PID)
wait_log "(rotation prefix, one socket)" || { cat "$SRV_LOG" >&2; fail "tern-server did not start"; }
PPORT=$(sed -n 's|^tern-server: listening on 2001:db8:1::/64 port \([0-9]*\) (rotation prefix, one socket)$|\1|p' "$SRV_LOG")
[ -n "$PPORT" ] || { cat "$SRV_LOG" >&2; fail "no prefix port"; }
C timeout 60 "$CLIENT" --insecure --json --output "$WORK/got" 'https://[2001:db8::1]:4433/f' > "$WORK/c.json" \
    2> "$WORK/c.log" || { tail -20 "$WORK/c.log" "$SRV_LOG" >&2; fail "tern-client exit status $?"; }
same_file "$WORK/root/f" "$WORK/got" "30 MB rotating through a /64"
python3 - "$WORK/c.json" "$PPORT" <<'PY' || { tail -30 "$WORK/c.log" >&2; fail "server addresses"; }
import ipaddress, json, sys
d = json.load(open(sys.argv[1]))
net = ipaddress.ip_network("2001:db8:1::/64")
addrs = [a["address"] for a in d["server_addresses"] if a["sequence"] > 0]
assert len(addrs) >= 5, addrs
for a in addrs:
    host, port = a.rsplit(":", 1)
    assert ipaddress.ip_address(host.strip("[]")) in net and port == sys.argv[2], a
assert len(set(addrs)) == len(addrs), addrs
assert d["migrations"] >= 5 and d["packets_undecryptable"] == 0, d
print("%d moves through %d distinct addresses of the /64, e.g. %s" % (d["migrations"], len(set(addrs)), addrs[0]))
PY
ok "30 MB intact while rotating every 0.2 s through random addresses of 2001:db8:1::/64"
# Not served: 2001:db8:2::5 is the host's, but not configured.
C timeout 10 "$CLIENT" --insecure --timeout 2 "https://[2001:db8:2::5]:$PPORT/f" > /dev/null 2> "$WORK/x.log"
rc=$?
[ $rc = 3 ] || { cat "$WORK/x.log" >&2; fail "a client of an unconfigured address: exit status $rc, want 3"; }
grep -q "no answer" "$WORK/x.log" || { cat "$WORK/x.log" >&2; fail "unexpected answer"; }
kill "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
grep -q "not served: [1-9][0-9]* datagrams to other addresses dropped" "$SRV_LOG" ||
    { tail -5 "$SRV_LOG" >&2; fail "no filter count at exit"; }
ok "datagrams to an unconfigured address of the host are dropped, not served"
