/*
 * netio.h - sockets, byte buffers and peer reporting shared by the
 * diagnostic pair `msgsec serve` and `msgsec connect` and by the MSGin5G
 * examples (tools/libmsgsec-netio, an internal library).
 *
 * The library is sans-IO: these helpers are where the tool meets the
 * network. They use only the public API <msgsec/msgsec.h>.
 */
#ifndef MSGSEC_NETIO_H
#define MSGSEC_NETIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <msgsec/msgsec.h>

#include "cli.h"

/* Longest line either command handles (stream framing, standard input). */
#define MSGSEC_NET_LINE_MAX 65536u
/* Room for "HOST:PORT" texts and error messages. */
#define MSGSEC_NET_ADDR_MAX 300
#define MSGSEC_NET_ERR_MAX 512
/* Room for the " scheme=... identity=..." text of a peer. */
#define MSGSEC_NET_PEER_MAX 2048

/* A growable byte queue: bytes live at p[off .. off+len). */
typedef struct msgsec_netbuf {
    unsigned char *p;
    size_t off, len, cap;
} msgsec_netbuf;

/* Appends n bytes; 0, or MSGSEC_ERR_NOMEM (b unchanged). */
int msgsec_netbuf_append(msgsec_netbuf *b, const void *d, size_t n);
/* Drops the first n bytes. */
void msgsec_netbuf_consume(msgsec_netbuf *b, size_t n);
/* Wipes and releases the storage. */
void msgsec_netbuf_free(msgsec_netbuf *b);

/* Moves the bytes the session queued for the peer into b.
 * 0, or MSGSEC_ERR_NOMEM. */
int msgsec_net_pull(msgsec_session *s, msgsec_netbuf *b);

/*
 * As msgsec_net_pull(), but while b is empty the bytes go straight to the
 * non-blocking socket fd; only what it does not take is queued in b (a
 * connection keeps no output buffer while the peer keeps up). A write
 * error leaves the bytes in b for msgsec_net_flush() to report.
 * 0, or MSGSEC_ERR_NOMEM.
 */
int msgsec_net_pull_send(int fd, msgsec_session *s, msgsec_netbuf *b);

/*
 * Writes as much of b to the non-blocking socket fd as it takes.
 * Returns 0 (b may still hold bytes: wait for POLLOUT/EPOLLOUT) or -errno.
 */
int msgsec_net_flush(int fd, msgsec_netbuf *b);

/*
 * Splits "HOST:PORT" or "[IPV6]:PORT" into host and port. Returns 0, or -1
 * with err filled.
 */
int msgsec_net_split(const char *arg, char *host, size_t host_len, char *port,
                     size_t port_len, char *err, size_t err_len);

/*
 * A non-blocking listening TCP socket on host:port (port "0": the system
 * picks one). Returns 0 with *fd, or -1 with err filled.
 */
int msgsec_net_listen(const char *host, const char *port, int backlog,
                      int *fd, char *err, size_t err_len);

/*
 * Connects to host:port, trying each address in turn, within timeout_ms in
 * all (<= 0: no limit). Returns 0 with *fd (non-blocking, connected), or
 * MSGSEC_ERR_IO / MSGSEC_ERR_TIMEOUT with err filled.
 */
int msgsec_net_connect(const char *host, const char *port, int timeout_ms,
                       int *fd, char *err, size_t err_len);

/* "127.0.0.1:PORT" or "[::1]:PORT" for a socket address. */
void msgsec_net_addr_text(const struct sockaddr *sa, socklen_t len, char *buf,
                          size_t n);
/* The local address of a socket as text; 0 or -errno. */
int msgsec_net_local_text(int fd, char *buf, size_t n);

/*
 * Copies s to out for display: bytes outside '!'..'~', and '\', become
 * \xHH, so that a peer's identity can neither break a line nor fake a field.
 * NULL prints as "-".
 */
void msgsec_net_escape(const char *s, char *out, size_t n);

/*
 * The authenticated peer as " scheme=S identity=I[ supi=..][ gpsi=..]
 * [ expiry=YYYY-MM-DDTHH:MM:SSZ]" (leading space included).
 */
void msgsec_net_peer_text(const msgsec_peer *peer, char *out, size_t n);

/* The session's failure as "NAME: detail" (detail or the code's message). */
void msgsec_net_fail_text(const msgsec_session *s, int code, char *out,
                          size_t n);

/*
 * Exit status for a session that failed with code: a refused or broken
 * session is a provider problem (3); the network, the clock and memory
 * (I/O, timeout, a connection cut after the handshake) give 4.
 */
int msgsec_net_exit_for(int code);

/* Monotonic clock in milliseconds. */
int64_t msgsec_net_now_ms(void);

/* One line on standard output, at once: scripts follow it live. */
void msgsec_net_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Blocks the signals of sigs (a 0-ended list) and returns a non-blocking
 * signalfd for them, or -1 with errno. Their actions are reset to the
 * default: an ignored signal (a shell starts background jobs with SIGINT
 * ignored) never reaches a signalfd, and blocked, the default action cannot
 * strike. Call it before any thread starts (a core's provider threads), so
 * that threads inherit the mask.
 */
int msgsec_net_signalfd(const int *sigs);

/* Adds, changes (op EPOLL_CTL_ADD, _MOD) or removes (_DEL) fd in the epoll
 * set epfd, the event pointing at ptr. 0, or -1 with errno. */
int msgsec_net_epoll(int epfd, int fd, void *ptr, uint32_t events, int op);

/*
 * The end of a server's connection: ACTIVE, then FINISHING (its last bytes,
 * a close or an alert, are written out), then DRAINING (our side shut
 * down; what the peer still sends is read and dropped until it closes, so
 * that closing the socket does not reset the connection and destroy those
 * last bytes in transit).
 */
enum msgsec_net_phase {
    MSGSEC_NET_ACTIVE = 0,
    MSGSEC_NET_FINISHING,
    MSGSEC_NET_DRAINING
};

/* Writes out what out holds (unless DRAINING) and moves a FINISHING
 * connection whose bytes are all out to DRAINING. 0, or -errno: the
 * connection is to be ended. */
int msgsec_net_linger_step(int fd, msgsec_netbuf *out, int *phase);

/*
 * Accepts one connection on the non-blocking listening socket lfd (the new
 * socket non-blocking, close-on-exec, TCP_NODELAY) and writes its address
 * as text into addr. Returns the descriptor, 0 when none is waiting, or
 * -errno (e.g. -EMFILE: out of descriptors; pause accepting for a while).
 */
int msgsec_net_accept(int lfd, char *addr, size_t n);

/* The epoll events a connection needs: input while reading (or draining),
 * output while bytes wait (unless draining). */
uint32_t msgsec_net_watch_mask(int phase, int reading, size_t out_len);

/*
 * Opens the core of a diagnostic command: as msgsec_cli_open_core(), then
 * refuses a core that could not serve sessions and a service the policy
 * does not declare (listing those it does). Returns an exit status; on
 * success *out owns the core.
 */
int msgsec_net_open_core(const char *cmd, const char *policy,
                         const char *service, int verbose, msgsec_core **out);

/*
 * msgsec_session_recv() into *buf (*cap bytes), the buffer grown to the
 * message's size (old contents wiped) when it is too small. Returns what
 * msgsec_session_recv() returned (*len the message's length), or
 * MSGSEC_ERR_NOMEM, or MSGSEC_ERR_MESSAGE_TOO_LARGE with *len when the
 * message is over max bytes (max 0: no limit; the message stays queued).
 */
int msgsec_net_recv_grow(msgsec_session *s, unsigned char **buf, size_t *cap,
                         size_t max, size_t *len);

/* The authenticated peer of s, its scheme the session's provider when the
 * provider names none. 0, or the error (peer zeroed but for the scheme). */
int msgsec_net_session_peer(msgsec_session *s, msgsec_peer *peer);

/* Parses "message" or "stream"; MSGSEC_FRAMING_* or -1. */
int msgsec_net_framing(const char *arg);

/* The two commands and their --help texts (for the table in msgsec.c). */
extern const char msgsec_serve_usage[];
extern const char msgsec_connect_usage[];
int msgsec_cmd_serve(const msgsec_cli_command *cmd, int argc, char **argv);
int msgsec_cmd_connect(const msgsec_cli_command *cmd, int argc, char **argv);

#endif /* MSGSEC_NETIO_H */
