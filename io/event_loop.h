/* A small epoll loop for the tools: readable callbacks for sockets, one
 * timer on an absolute CLOCK_MONOTONIC deadline (tern_time), and a stop
 * that also works from signal handlers and other threads. */
#ifndef TERN_IO_EVENT_LOOP_H
#define TERN_IO_EVENT_LOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <signal.h>

#include "tern/types.h"

#define IO_LOOP_MAX_FDS 64

typedef struct io_loop io_loop;
typedef void (*io_loop_fd_callback)(io_loop *loop, int fd, void *arg);
typedef void (*io_loop_timer_callback)(io_loop *loop, void *arg);

typedef struct io_loop_watch {
    int fd;
    io_loop_fd_callback callback; /* NULL: free slot */
    void *arg;
} io_loop_watch;

struct io_loop {
    int epoll_fd;
    int timer_fd;  /* timerfd, CLOCK_MONOTONIC, absolute deadlines: only
                      where epoll_pwait2 is missing (use_timerfd) */
    bool use_timerfd;
    int wake_fd;   /* eventfd written by io_loop_stop */
    int signal_fd; /* signalfd for SIGINT/SIGTERM, -1 unless asked */
    sigset_t saved_mask;
    atomic_bool stop_requested;
    tern_time deadline;
    io_loop_timer_callback timer_callback;
    void *timer_arg;
    io_loop_watch watches[IO_LOOP_MAX_FDS];
};

/* Current CLOCK_MONOTONIC time in nanoseconds, the clock of every deadline. */
tern_time io_now(void);

/* stop_on_signals: SIGINT and SIGTERM stop the loop instead of killing the
 * process. They are blocked in the calling thread (and read through a
 * signalfd) until io_loop_destroy restores the previous mask; create the
 * loop before starting threads so they inherit the block. */
int io_loop_init(io_loop *loop, bool stop_on_signals);
void io_loop_destroy(io_loop *loop);

/* The callback runs while fd is readable (level-triggered): read until
 * EAGAIN or it will be called again at once. One watch per fd. */
int io_loop_add_fd(io_loop *loop, int fd, io_loop_fd_callback callback, void *arg);
int io_loop_remove_fd(io_loop *loop, int fd);

/* Arms the single timer for the absolute deadline (io_now() clock);
 * TERN_TIME_INFINITE disarms it. A deadline in the past fires on the next
 * iteration. The timer fires once; callbacks usually re-arm it from the
 * engine's next_timer. */
int io_loop_set_timer(io_loop *loop, tern_time deadline, io_loop_timer_callback callback, void *arg);

/* Runs until io_loop_stop or a handled signal. Returns 0, or a negative
 * errno when epoll fails. */
int io_loop_run(io_loop *loop);
/* One epoll_wait of at most timeout_ms (-1: no limit) and its callbacks;
 * returns the number of events handled or a negative errno. For tests and
 * for callers that drive the loop themselves. */
int io_loop_run_once(io_loop *loop, int timeout_ms);

/* Async-signal-safe and thread-safe: the loop returns after the current
 * round of callbacks. */
void io_loop_stop(io_loop *loop);
bool io_loop_stopped(const io_loop *loop);

#endif
