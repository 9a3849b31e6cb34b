/*
 * sdnotify — the systemd notification protocol, without libsystemd.
 *
 * Under a unit with Type=notify, systemd passes the address of a datagram
 * socket in $NOTIFY_SOCKET and waits for the service to say "READY=1"
 * before it counts the start as done. Every message is one datagram of
 * newline-separated VAR=value assignments:
 *
 *   READY=1\nSTATUS=ready: chargers on ws://127.0.0.1:8180/ocpp/<id>
 *   RELOADING=1\nMONOTONIC_USEC=81522934 ... READY=1
 *   STOPPING=1
 *   WATCHDOG=1            (every WatchdogSec/2, from the event loop)
 *
 * The address is a file-system path ("/run/systemd/notify") or, when it
 * starts with '@', a Linux abstract socket whose name is the rest (the '@'
 * stands for the leading NUL byte). See sd_notify(3) and the protocol
 * description in systemd's docs/NOTIFY.md; this is the part of it a
 * daemon needs, in a page of libc.
 *
 * Each message opens its own socket (AF_UNIX, SOCK_DGRAM, non-blocking,
 * close-on-exec) and closes it again: there is no state, the environment
 * is read at every call (so tests may change it with setenv), and a
 * receiver that is gone or full never blocks the loop — the send fails
 * and the caller decides whether to log it. Without $NOTIFY_SOCKET (not
 * started by systemd) every call is a no-op that succeeds.
 *
 * The watchdog: with WatchdogSec= set, systemd passes $WATCHDOG_USEC (and
 * $WATCHDOG_PID, the process it means). sdnotify_watchdog_usec() reads
 * them; the caller sends "WATCHDOG=1" at about half that period from its
 * event loop, so that a loop that hangs stops the pings and systemd
 * restarts the service.
 */
#ifndef SITEGATE_SDNOTIFY_H
#define SITEGATE_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#define SDNOTIFY_MAX 4096	/* bytes of one formatted message */

enum sdnotify_err {
	SDNOTIFY_OK = 0,
	SDNOTIFY_E_ADDR = -1,	/* $NOTIFY_SOCKET is not a usable address */
	SDNOTIFY_E_SOCKET = -2,	/* socket() failed (errno says why) */
	SDNOTIFY_E_SEND = -3,	/* sendto() failed or was short (errno) */
};

/* Send state, one or more "VAR=value" lines separated by '\n' (e.g.
 * "READY=1\nSTATUS=ready"), as one datagram to $NOTIFY_SOCKET. state is
 * not kept. Returns SDNOTIFY_OK when sent, and also when $NOTIFY_SOCKET
 * is unset or empty (nothing to tell); otherwise a negative
 * sdnotify_err, with errno set for E_SOCKET and E_SEND (ENOENT: no one
 * listens at the path, EAGAIN: the receiver's queue is full). Never
 * blocks; never raises SIGPIPE. */
int sdnotify_send(const char *state);

/* As sdnotify_send, the state formatted like printf. A formatted state
 * of SDNOTIFY_MAX bytes or more is refused before anything is sent:
 * SDNOTIFY_E_SEND with errno EMSGSIZE. */
int sdnotify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when $NOTIFY_SOCKET is set and not empty: someone listens. */
bool sdnotify_enabled(void);

/* The watchdog period systemd asks of this process, in microseconds, from
 * $WATCHDOG_USEC: a decimal integer above 0 with nothing after it. Counts
 * only when $WATCHDOG_PID is unset or equals getpid() (a child that
 * inherited the environment must not answer for its parent). Returns 0
 * when there is no watchdog (unset, malformed, or another process's). */
uint64_t sdnotify_watchdog_usec(void);

#endif
