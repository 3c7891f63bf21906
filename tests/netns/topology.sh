# Network-namespace topology for the relay tests (sourced by bash scripts).
#
#   client 198.18.0.2 --+
#   relay  198.18.0.3 --+-- "wan": a bridge in its own namespace (the internet)
#   nat    198.18.0.4 --+
#   nat    198.19.0.1 ----- server 198.19.0.2 (default route via the NAT)
#
# The NAT masquerades 198.19.0.0/24 behind 198.18.0.4 (nftables) and lets
# in only what conntrack knows as a reply: address-and-port dependent
# filtering, as a TURN relay is needed for. No namespace has a route out:
# only 198.18.0.0/15 exists (profile §5).
#
# Usage:
#   . tests/netns/topology.sh
#   topo_require            # exit 77 (ctest SKIP_RETURN_CODE) when not possible
#   topo_up                 # creates the namespaces; topo_down runs at EXIT
#   topo_exec client CMD... # runs CMD in a namespace (client relay nat server wan)
#   topo_spawn server CMD... > log  # the same in the background; TOPO_PID is
#                           # CMD's own pid (kill it to stop CMD: "topo_exec
#                           # ... &" would give the pid of a subshell)
#   topo_bytes relay        # "RX TX" byte counters of that host's interface
#   topo_down               # deletes everything (idempotent)
#
# Names are unique per run: tern-<role>-<TOPO_ID> (TOPO_ID defaults to $$).
# Addresses for tests: TOPO_CLIENT_IP TOPO_RELAY_IP TOPO_NAT_PUBLIC_IP
# TOPO_NAT_PRIVATE_IP TOPO_SERVER_IP. Each host's interface is eth0 (the NAT
# has pub and priv); the interface toward the bridge in "wan" is <role>.

TOPO_ID=${TOPO_ID:-$$}
TOPO_CLIENT_IP=198.18.0.2
TOPO_RELAY_IP=198.18.0.3
TOPO_NAT_PUBLIC_IP=198.18.0.4
TOPO_NAT_PRIVATE_IP=198.19.0.1
TOPO_SERVER_IP=198.19.0.2
TOPO_ROLES="wan client relay nat server"
TOPO_UP=0

topo_ns() { echo "tern-$1-$TOPO_ID"; }

topo_exec() {
    local role=$1
    shift
    ip netns exec "$(topo_ns "$role")" "$@"
}

topo_spawn() {
    local role=$1
    shift
    ip netns exec "$(topo_ns "$role")" "$@" &
    TOPO_PID=$!
}

# Exits 77 with a message when namespaces cannot be made here.
topo_require() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: network namespaces need root" >&2
        exit 77
    fi
    local probe="tern-probe-$TOPO_ID"
    if ! ip netns add "$probe" 2>/dev/null; then
        echo "SKIP: cannot create a network namespace (ip netns add failed)" >&2
        exit 77
    fi
    ip netns del "$probe"
    command -v nft > /dev/null || {
        echo "SKIP: nft (nftables) not installed (make deps)" >&2
        exit 77
    }
}

# veth pair: topo_link ROLE_A IF_A ROLE_B IF_B
topo_link() {
    ip link add name "$2" netns "$(topo_ns "$1")" type veth peer name "$4" netns "$(topo_ns "$3")"
}

topo_up() {
    local r
    for r in $TOPO_ROLES; do
        ip netns add "$(topo_ns "$r")" || { topo_down; return 1; }
        topo_exec "$r" ip link set lo up
        # IPv4 only: no IPv6 autoconfiguration noise on the links.
        topo_exec "$r" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
    TOPO_UP=1
    # Chain the cleanup in front of whatever EXIT trap the caller set.
    local prev
    prev=$(trap -p EXIT | sed "s/^trap -- '\(.*\)' EXIT$/\1/")
    trap "topo_down; $prev" EXIT

    topo_exec wan ip link add br0 type bridge
    topo_exec wan ip link set br0 up
    topo_link client eth0 wan client
    topo_link relay eth0 wan relay
    topo_link nat pub wan nat
    topo_link nat priv server eth0
    for r in client relay nat; do
        topo_exec wan ip link set "$r" master br0
        topo_exec wan ip link set "$r" up
    done
    topo_exec client ip addr add "$TOPO_CLIENT_IP/24" dev eth0
    topo_exec relay ip addr add "$TOPO_RELAY_IP/24" dev eth0
    topo_exec nat ip addr add "$TOPO_NAT_PUBLIC_IP/24" dev pub
    topo_exec nat ip addr add "$TOPO_NAT_PRIVATE_IP/24" dev priv
    topo_exec server ip addr add "$TOPO_SERVER_IP/24" dev eth0
    for r in client relay server; do topo_exec "$r" ip link set eth0 up; done
    topo_exec nat ip link set pub up
    topo_exec nat ip link set priv up
    topo_exec server ip route add default via "$TOPO_NAT_PRIVATE_IP"
    topo_exec nat sysctl -qw net.ipv4.ip_forward=1
    topo_exec nat nft -f - << 'EOF'
table ip tern_nat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "pub" masquerade
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
        iifname "priv" oifname "pub" accept
        iifname "pub" oifname "priv" ct state established,related accept
    }
}
EOF
}

# "RX TX": bytes received and sent on ROLE's interface (eth0; the NAT: pub).
topo_bytes() {
    local ifname=eth0
    [ "$1" = nat ] && ifname=pub
    local rx tx
    rx=$(topo_exec "$1" cat "/sys/class/net/$ifname/statistics/rx_bytes")
    tx=$(topo_exec "$1" cat "/sys/class/net/$ifname/statistics/tx_bytes")
    echo "$rx $tx"
}

# Kills what still runs in the namespaces (processes the test started
# there), then deletes them.
topo_down() {
    [ "$TOPO_UP" = 1 ] || return 0
    local r ns p
    for r in $TOPO_ROLES; do
        ns=$(topo_ns "$r")
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
    done
    for r in $TOPO_ROLES; do
        ns=$(topo_ns "$r")
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done
            kill -9 "$p" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null
    done
    TOPO_UP=0
}
