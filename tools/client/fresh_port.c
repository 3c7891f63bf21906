#define _GNU_SOURCE /* struct mmsghdr in udp_socket.h */
#include "fresh_port.h"

#include <errno.h>
#include <string.h>

#include "addr.h"

/* How often a follow that met another validation in progress is retried,
 * and for how long (validations end within seconds, profile §2). */
#define FP_RETRY TERN_MS(5)
#define FP_RETRY_FOR TERN_SEC(10)

void fp_init(fp_state *f, bool enabled, const tern_addr *local_ip)
{
    memset(f, 0, sizeof *f);
    f->enabled = enabled;
    f->local_ip = *local_ip;
    f->local_ip.port = 0;
    f->retry_at = TERN_TIME_INFINITE;
}

static int socket_of(const tl_node *n, const tern_addr *local)
{
    for (size_t i = 0; i < n->nsocks; i++)
        if (n->socks[i].fd >= 0 && io_addr_equal(&n->socks[i].bound, local)) return (int)i;
    return -1;
}

static void try_follow(fp_state *f, tl_node *n, tern_conn *c, tern_time now)
{
    f->retry_at = TERN_TIME_INFINITE;
    if (!f->have_pending) return;
    int idx = tl_node_add_socket(n, &f->local_ip);
    char a[IO_ADDR_STRLEN];
    if (idx < 0) {
        /* Every slot busy: sockets of paths being left close within 3 PTO. */
        if (idx == -ENOSPC) {
            f->retry_at = now + FP_RETRY;
            return;
        }
        tl_err("fresh port: cannot open a socket on %s: %s", tl_addr_str(&f->local_ip, a, sizeof a),
               strerror(-idx));
        f->have_pending = false;
        f->follow_failures++;
        return;
    }
    tern_err e = tern_conn_follow_locator(c, f->pending, &n->socks[idx].bound, NULL, now);
    if (e == TERN_OK) {
        f->sockets_opened++;
        f->have_pending = false;
        tl_log("server address %llu: validating from new local port %s", (unsigned long long)f->pending,
               tl_addr_str(&n->socks[idx].bound, a, sizeof a));
        return;
    }
    tl_node_remove_socket(n, idx);
    if (e == TERN_ERR_INVALID_STATE && now < f->pending_since + FP_RETRY_FOR) {
        /* Another validation runs (one at a time, profile §2), or the
         * handshake is not confirmed yet: again shortly. */
        f->retry_at = now + FP_RETRY;
        return;
    }
    /* Refused (superseded or deprecated meanwhile): nothing to follow. */
    f->have_pending = false;
    f->follow_failures++;
    tl_log("server address %llu: not followed: %s", (unsigned long long)f->pending, tern_err_name(e));
}

void fp_on_locator(fp_state *f, tl_node *n, tern_conn *c, const tern_locator_change *l, tern_time now)
{
    if (!f->enabled || !c) return;
    if (l->reason == TERN_LOCATOR_REASON_ADVERTISED && l->new_state == TERN_LOCATOR_UNVERIFIED) {
        /* The newest address is the server's preferred one (profile §2). */
        if (!f->have_pending || l->sequence > f->pending) {
            f->pending = l->sequence;
            f->pending_since = now;
        }
        f->have_pending = true;
        try_follow(f, n, c, now);
    } else if (f->have_pending && l->sequence == f->pending && l->new_state == TERN_LOCATOR_DEPRECATED) {
        f->have_pending = false; /* withdrawn before we got to it */
    }
}

void fp_on_path(fp_state *f, tl_node *n, tern_conn *c, const tern_event *ev)
{
    if (!f->enabled || !c || ev->path != TERN_PATH_ABANDONED) return;
    tern_path_info paths[8];
    size_t k = tern_conn_paths(c, paths, 8);
    if (k > 8) k = 8;
    for (size_t i = 0; i < k; i++)
        if (paths[i].id != ev->path_id && io_addr_equal(&paths[i].local, &ev->local)) return;
    int idx = socket_of(n, &ev->local);
    if (idx < 0) return;
    tl_node_remove_socket(n, idx);
    f->sockets_closed++;
    char a[IO_ADDR_STRLEN];
    tl_log("local port %s closed (no path uses it)", tl_addr_str(&ev->local, a, sizeof a));
}

void fp_on_deadline(fp_state *f, tl_node *n, tern_conn *c, tern_time now)
{
    if (f->enabled && c && now >= f->retry_at) try_follow(f, n, c, now);
}
