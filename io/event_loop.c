#define _GNU_SOURCE
#include "event_loop.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS_PER_WAIT 32

/* epoll_data.ptr values for the loop's own descriptors; watches use their
 * slot address, which never collides with these. */
static char timer_tag, wake_tag, signal_tag;

tern_time io_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (tern_time)ts.tv_sec * 1000000000ULL + (tern_time)ts.tv_nsec;
}

static int watch_internal(io_loop *loop, int fd, void *tag)
{
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = tag};
    return epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event) == 0 ? 0 : -errno;
}

int io_loop_init(io_loop *loop, bool stop_on_signals)
{
    memset(loop, 0, sizeof(*loop));
    loop->timer_fd = loop->wake_fd = loop->signal_fd = -1;
    loop->deadline = TERN_TIME_INFINITE;
    atomic_init(&loop->stop_requested, false);
    for (size_t i = 0; i < IO_LOOP_MAX_FDS; i++)
        loop->watches[i].fd = -1;

    int rc = 0;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epoll_fd < 0)
        return -errno;
    loop->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->timer_fd < 0 || loop->wake_fd < 0)
        rc = -errno;
    if (rc == 0)
        rc = watch_internal(loop, loop->timer_fd, &timer_tag);
    if (rc == 0)
        rc = watch_internal(loop, loop->wake_fd, &wake_tag);
    if (rc == 0 && stop_on_signals) {
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGINT);
        sigaddset(&signals, SIGTERM);
        /* signalfd only sees signals that are blocked, else the default
         * action (terminate) happens first. */
        rc = -pthread_sigmask(SIG_BLOCK, &signals, &loop->saved_mask);
        if (rc == 0) {
            loop->signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
            if (loop->signal_fd < 0) {
                rc = -errno;
                pthread_sigmask(SIG_SETMASK, &loop->saved_mask, NULL);
            }
        }
        if (rc == 0)
            rc = watch_internal(loop, loop->signal_fd, &signal_tag);
    }
    if (rc != 0)
        io_loop_destroy(loop);
    return rc;
}

void io_loop_destroy(io_loop *loop)
{
    if (loop->signal_fd >= 0) {
        close(loop->signal_fd);
        pthread_sigmask(SIG_SETMASK, &loop->saved_mask, NULL);
    }
    if (loop->timer_fd >= 0)
        close(loop->timer_fd);
    if (loop->wake_fd >= 0)
        close(loop->wake_fd);
    if (loop->epoll_fd >= 0)
        close(loop->epoll_fd);
    loop->signal_fd = loop->timer_fd = loop->wake_fd = loop->epoll_fd = -1;
}

int io_loop_add_fd(io_loop *loop, int fd, io_loop_fd_callback callback, void *arg)
{
    if (fd < 0 || callback == NULL)
        return -EINVAL;
    io_loop_watch *free_slot = NULL;
    for (size_t i = 0; i < IO_LOOP_MAX_FDS; i++) {
        if (loop->watches[i].callback == NULL && free_slot == NULL)
            free_slot = &loop->watches[i];
        else if (loop->watches[i].callback != NULL && loop->watches[i].fd == fd)
            return -EEXIST;
    }
    if (free_slot == NULL)
        return -ENOSPC;
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = free_slot};
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0)
        return -errno;
    free_slot->fd = fd;
    free_slot->callback = callback;
    free_slot->arg = arg;
    return 0;
}

int io_loop_remove_fd(io_loop *loop, int fd)
{
    for (size_t i = 0; i < IO_LOOP_MAX_FDS; i++) {
        io_loop_watch *watch = &loop->watches[i];
        if (watch->callback != NULL && watch->fd == fd) {
            /* Events already fetched for this slot are skipped because the
             * callback is gone (see dispatch). */
            epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
            watch->callback = NULL;
            watch->arg = NULL;
            watch->fd = -1;
            return 0;
        }
    }
    return -ENOENT;
}

/* The timer is the timeout of epoll_pwait2 (nanoseconds, Linux 5.11):
 * arming it costs no system call, nor does a fire (a timerfd costs a
 * timerfd_settime per arming and a read per fire; the tools re-arm after
 * every event, issue 13's profile showed 5,760 timerfd_settime calls per
 * GiB). The timerfd stays as the fallback for kernels without
 * epoll_pwait2, armed only when the deadline changes. */
static int arm_timerfd(io_loop *loop, tern_time deadline)
{
    struct itimerspec spec = {0};
    if (deadline != TERN_TIME_INFINITE) {
        /* An all-zero it_value would disarm: a deadline of 0 means "now". */
        tern_time when = deadline == 0 ? 1 : deadline;
        spec.it_value.tv_sec = (time_t)(when / 1000000000ULL);
        spec.it_value.tv_nsec = (long)(when % 1000000000ULL);
    }
    return timerfd_settime(loop->timer_fd, TFD_TIMER_ABSTIME, &spec, NULL) == 0 ? 0 : -errno;
}

int io_loop_set_timer(io_loop *loop, tern_time deadline, io_loop_timer_callback callback, void *arg)
{
    loop->timer_callback = callback;
    loop->timer_arg = arg;
    bool changed = deadline != loop->deadline;
    loop->deadline = deadline;
    if (!loop->use_timerfd || !changed) return 0;
    return arm_timerfd(loop, deadline);
}

static void drain(int fd, size_t size)
{
    uint8_t buffer[sizeof(struct signalfd_siginfo)];
    while (read(fd, buffer, size) > 0) {
    }
}

static void fire_timer(io_loop *loop)
{
    uint64_t expirations;
    if (loop->use_timerfd && read(loop->timer_fd, &expirations, sizeof(expirations)) <= 0)
        return; /* re-armed or disarmed since the event was queued */
    io_loop_timer_callback callback = loop->timer_callback;
    loop->deadline = TERN_TIME_INFINITE;
    if (callback != NULL)
        callback(loop, loop->timer_arg);
}

int io_loop_run_once(io_loop *loop, int timeout_ms)
{
    struct epoll_event events[MAX_EVENTS_PER_WAIT];
    int ready;
    if (!loop->use_timerfd) {
        /* Sleep until the deadline or timeout_ms, whichever comes first. */
        tern_time now = io_now(), wait = TERN_TIME_INFINITE;
        if (loop->deadline != TERN_TIME_INFINITE) wait = loop->deadline > now ? loop->deadline - now : 0;
        if (timeout_ms >= 0 && (tern_time)timeout_ms * 1000000ULL < wait) wait = (tern_time)timeout_ms * 1000000ULL;
        struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000ULL), .tv_nsec = (long)(wait % 1000000000ULL)};
        ready = epoll_pwait2(loop->epoll_fd, events, MAX_EVENTS_PER_WAIT, wait == TERN_TIME_INFINITE ? NULL : &ts,
                             NULL);
        if (ready < 0 && errno == ENOSYS) {
            loop->use_timerfd = true;
            int rc = arm_timerfd(loop, loop->deadline);
            return rc < 0 ? rc : 0;
        }
    } else {
        ready = epoll_wait(loop->epoll_fd, events, MAX_EVENTS_PER_WAIT, timeout_ms);
    }
    if (ready < 0)
        return errno == EINTR ? 0 : -errno;
    int handled = ready;
    for (int i = 0; i < ready; i++) {
        void *tag = events[i].data.ptr;
        if (tag == &timer_tag) {
            fire_timer(loop);
        } else if (tag == &wake_tag) {
            drain(loop->wake_fd, sizeof(uint64_t));
            atomic_store(&loop->stop_requested, true);
        } else if (tag == &signal_tag) {
            drain(loop->signal_fd, sizeof(struct signalfd_siginfo));
            atomic_store(&loop->stop_requested, true);
        } else {
            io_loop_watch *watch = tag;
            if (watch->callback != NULL)
                watch->callback(loop, watch->fd, watch->arg);
        }
    }
    /* The epoll_pwait2 timer: due once the deadline has passed, whether the
     * wait timed out or sockets woke it. */
    if (!loop->use_timerfd && loop->deadline != TERN_TIME_INFINITE && io_now() >= loop->deadline) {
        fire_timer(loop);
        handled++;
    }
    return handled;
}

int io_loop_run(io_loop *loop)
{
    /* A stop requested before run is still pending in wake_fd, so clearing
     * the flag here does not lose it. */
    atomic_store(&loop->stop_requested, false);
    while (!atomic_load(&loop->stop_requested)) {
        int rc = io_loop_run_once(loop, -1);
        if (rc < 0)
            return rc;
    }
    /* Consume this stop's wake-up so the next run does not end at once. */
    drain(loop->wake_fd, sizeof(uint64_t));
    return 0;
}

void io_loop_stop(io_loop *loop)
{
    uint64_t one = 1;
    atomic_store(&loop->stop_requested, true);
    /* write(2) is async-signal-safe; the result does not matter because a
     * full eventfd counter is already readable. */
    ssize_t ignored = write(loop->wake_fd, &one, sizeof(one));
    (void)ignored;
}

bool io_loop_stopped(const io_loop *loop)
{
    return atomic_load(&((io_loop *)loop)->stop_requested);
}
