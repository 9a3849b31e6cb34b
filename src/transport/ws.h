/*
 * ws — WebSocket (RFC 6455) server and client on libevent bufferevents.
 *
 * Plain TCP or TLS (OpenSSL through bufferevent_openssl: TLS 1.2 and 1.3
 * only, no compression, no renegotiation, the cipher suites OCPP asks for).
 * wslay does the framing (fragments, ping/pong, close codes, masking per
 * side, UTF-8 of text frames, the message size limit); the HTTP upgrade is
 * checked by wshs.c. This module knows nothing of OCPP messages: it moves
 * whole text messages and tells its owner when a connection opens or ends.
 *
 * Life of a connection
 *
 *   server: accept -> [TLS] -> HTTP request -> auth callback -> 101 ->
 *           on_connect(conn) -> messages ... -> close -> on_close(conn)
 *   client: ws_connect() -> DNS -> TCP -> [TLS] -> request -> 101 ->
 *           on_open(conn) -> messages ... -> close -> on_close(conn)
 *
 * The module owns every struct ws_conn. A connection is never freed inside
 * one of its own callbacks: closing (by either side, by a timeout, by bad
 * input) only marks it, and a zero-delay event frees it later from the
 * loop, after calling on_close exactly once. After on_close returns, the
 * conn pointer is invalid. on_close is called for every connection the
 * owner was told about (server: after on_connect; client: always, also when
 * the connection never opened).
 *
 * Limits protect the process from one bad peer: a handshake must complete
 * within handshake_timeout_ms and its header block fit in 8 KiB; a message
 * larger than max_message_bytes closes that connection with 1009; unsent
 * output beyond max_output_bytes (a peer that does not read) drops it; a
 * peer that does not answer a ping within ping_interval_ms is dropped; no
 * text message for idle_timeout_ms closes with 1001. A second connection
 * with the identity of an open one replaces it: the old one is closed with
 * 1000 "replaced by a new connection" (its on_close comes after the new
 * one's on_connect).
 *
 * The process must ignore SIGPIPE (a peer may vanish while we write).
 */
#ifndef SITEGATE_WS_H
#define SITEGATE_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/x509.h>

struct ws_server;
struct ws_conn;

enum ws_err {
	WS_OK = 0,
	WS_E_CLOSED = -1,	/* the connection is not open (any more) */
	WS_E_ARG = -2,		/* bad argument (empty, too large, bad URL) */
	WS_E_NOMEM = -3,
	WS_E_LISTEN = -4,	/* cannot bind or listen */
	WS_E_TLS = -5,		/* TLS files or settings unusable */
};

/* RFC 6455 close codes used here. */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL_ERROR = 1002,
	WS_CLOSE_UNSUPPORTED_DATA = 1003,
	WS_CLOSE_ABNORMAL = 1006,	/* never sent: no close frame seen */
	WS_CLOSE_INVALID_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

/* Answer of the server's auth callback. */
enum ws_auth {
	WS_AUTH_ACCEPT = 0,
	WS_AUTH_UNAUTHORIZED = 401,
	WS_AUTH_NOT_FOUND = 404,
};

/* What the server knows of a peer when it asks the owner to authorize it.
 * Valid only during the callback. */
struct ws_auth_request {
	const char *peer;		/* "address:port" */
	const char *id;			/* identity, percent-decoded */
	bool has_basic;			/* an Authorization: Basic was sent */
	bool basic_ok;			/* ...and it decoded to user:password */
	const char *user;		/* when basic_ok */
	const unsigned char *password;	/* when basic_ok; any bytes */
	size_t password_len;
	X509 *cert;			/* verified client certificate or NULL */
	const char *cert_cn;		/* its subject common name or NULL */
};

typedef enum ws_auth (*ws_auth_fn)(const struct ws_auth_request *req,
    void *arg);

struct ws_limits {
	size_t max_message_bytes;	/* default 65536 */
	size_t max_output_bytes;	/* default 1 MiB + max_message_bytes */
	int max_connections;		/* server only; default 1000 */
	int handshake_timeout_ms;	/* default 10000 (client: connect too) */
	int ping_interval_ms;		/* 0: no pings */
	int idle_timeout_ms;		/* 0: none */
	int close_timeout_ms;		/* wait for the peer's close; 3000 */
};

/* How a connection ended; valid during on_close only. */
struct ws_close_info {
	uint16_t code;		/* the close code received, or sent, or 1006 */
	const char *reason;	/* "" when none */
	int http_status;	/* client: the status of a refused upgrade */
	bool was_open;		/* the WebSocket was open at some point */
};

/* Callbacks of one connection, set by its owner. Any may be NULL. */
struct ws_handler {
	/* Client: the handshake completed; messages may be sent now. */
	void (*on_open)(struct ws_conn *conn, void *arg);
	/* A complete text message (valid UTF-8; not NUL-terminated; the
	 * buffer is the module's and valid during the call only). */
	void (*on_message)(struct ws_conn *conn, const char *text, size_t len,
	    void *arg);
	/* The connection is gone (see the lifecycle note above). */
	void (*on_close)(struct ws_conn *conn, const struct ws_close_info *info,
	    void *arg);
};

struct ws_server_opts {
	const char *host;		/* literal address or name; "" for any */
	uint16_t port;			/* 0: any free port (ws_server_port()) */
	const char *path_prefix;	/* identities follow it; "/ocpp/" */
	/* Subprotocols, most preferred first; the server picks the first one
	 * the client offers. None in common: 101 without the header, then an
	 * immediate close (1002). */
	const char *const *protocols;
	size_t nprotocols;
	const char *tls_cert;		/* NULL: plain ws:// */
	const char *tls_key;
	const char *tls_client_ca;	/* NULL: no client certificates */
	struct ws_limits limits;
	ws_auth_fn auth;		/* NULL: everyone is accepted */
	/* A connection is open. Set its handler here (ws_conn_set_handler),
	 * or it is closed again with 1011. */
	void (*on_connect)(struct ws_conn *conn, void *arg);
	void *arg;			/* for auth and on_connect */
	const char *log_module;		/* default "ws" */
};

/* Start listening. Returns the server, or NULL with a malloc'd *cause
 * (bind failure, unreadable TLS files). Strings in opts are copied. Raises
 * the soft RLIMIT_NOFILE toward the hard limit when max_connections needs
 * it. */
struct ws_server *ws_server_new(struct event_base *base,
    const struct ws_server_opts *opts, char **cause);

/* The port actually bound (useful with port 0). */
uint16_t ws_server_port(const struct ws_server *srv);

/* Take new subprotocols, limits, auth and callbacks from opts for
 * connections accepted from now on (host, port and TLS files are not
 * changed: that needs a new server). Open connections are kept. Returns
 * WS_OK or WS_E_ARG. */
int ws_server_reconfigure(struct ws_server *srv,
    const struct ws_server_opts *opts);

/* Connections that completed the handshake and are not closed yet. */
size_t ws_server_count(const struct ws_server *srv);

/* Stop listening, close every connection with 1001 and give the peers up
 * to close_timeout_ms to answer, then free what is left; on_close is called
 * for every open connection. The waiting runs the event loop, so call this
 * after event_base_dispatch() has returned (a daemon shutting down); from
 * inside the loop libevent refuses the nested run and the connections are
 * dropped without waiting. Never from a callback of this server's
 * connections. NULL is a no-op. */
void ws_server_free(struct ws_server *srv);

struct ws_client_opts {
	const char *url;		/* ws://host[:port]/path or wss://... */
	const char *id;			/* appended as one percent-encoded
					 * path segment; NULL: URL as is */
	const char *protocol;		/* the one subprotocol offered */
	const char *password;		/* HTTP Basic with user = id; NULL */
	const char *ca_file;		/* wss: CA to verify the server with;
					 * NULL: the system's default CAs */
	const char *cert, *key;		/* wss: client certificate; NULL */
	struct ws_limits limits;
	struct evdns_base *dns;		/* NULL: the connection makes its own */
};

/* Start connecting; the host name is resolved without blocking the loop,
 * and the server's certificate and host name are verified. Returns the
 * connection (on_open or on_close follow, never from inside this call), or
 * NULL with a malloc'd *cause when opts are unusable (bad URL, TLS files).
 * Strings in opts are copied. */
struct ws_conn *ws_connect(struct event_base *base,
    const struct ws_client_opts *opts, const struct ws_handler *handler,
    void *arg, char **cause);

/* Adopt a connected stream socket whose upgrade is already done (unit
 * tests drive both ends of a socketpair this way). server says which side
 * of RFC 6455 masking this end plays; id and protocol are recorded as if
 * negotiated. The connection is open at once; on_close follows its end as
 * for a client connection. Returns NULL (fd untouched) on bad arguments. */
struct ws_conn *ws_conn_adopt(struct event_base *base, evutil_socket_t fd,
    bool server, const struct ws_limits *limits, const char *id,
    const char *protocol, const struct ws_handler *handler, void *arg);

/* Set the callbacks of conn (copied). */
void ws_conn_set_handler(struct ws_conn *conn, const struct ws_handler *h,
    void *arg);

/* Queue one text message (len bytes of UTF-8; copied). Returns WS_OK,
 * WS_E_CLOSED when the connection is not open, WS_E_ARG when len is 0 or
 * larger than max_message_bytes. A peer that lets more than
 * max_output_bytes pile up is dropped (on_close follows). */
int ws_conn_send(struct ws_conn *conn, const char *text, size_t len);

/* Start the close handshake with code and reason (at most 123 bytes,
 * UTF-8; may be NULL). The connection stops delivering messages at once;
 * on_close follows from the loop. Safe inside any callback; closing a
 * closing connection does nothing. */
void ws_conn_close(struct ws_conn *conn, uint16_t code, const char *reason);

/* Free conn now, without calling on_close, after a best-effort 1001 close
 * frame. For owners shutting down; never call it from inside one of this
 * connection's callbacks. NULL is a no-op. */
void ws_conn_free(struct ws_conn *conn);

/* The identity (server: from the path; client: opts.id or ""). */
const char *ws_conn_id(const struct ws_conn *conn);

/* The peer as "address:port". */
const char *ws_conn_peer(const struct ws_conn *conn);

/* The agreed subprotocol ("" before the handshake completes). */
const char *ws_conn_protocol(const struct ws_conn *conn);

/* True when the connection runs over TLS. */
bool ws_conn_is_tls(const struct ws_conn *conn);

#endif
