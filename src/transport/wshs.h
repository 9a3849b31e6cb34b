/*
 * wshs — the HTTP/1.1 upgrade handshake of RFC 6455, as pure functions.
 *
 * No I/O, no allocation, no logging: ws.c reads bytes off the socket until
 * it holds a complete header block (ending in CRLF CRLF, at most
 * WSHS_MAX_HEADER_BYTES) and hands it here. That keeps every rule of the
 * handshake in one place where a unit test can reach it.
 *
 * Server side, a request is accepted only when all of this holds, and each
 * failure names the HTTP status to answer with:
 *
 *   GET /ocpp/CP%2D01 HTTP/1.1          method GET (405), version 1.1 (505),
 *   Host: gw:8180                       path = prefix + one segment (404),
 *   Upgrade: websocket                  id percent-decoded, 1..48 printable
 *   Connection: keep-alive, Upgrade     ASCII characters, no ':' (400);
 *   Sec-WebSocket-Key: <16 bytes b64>   Host, Upgrade, Connection, Key
 *   Sec-WebSocket-Version: 13           present and right (400), version 13
 *   Sec-WebSocket-Protocol: ocpp1.6     (426); header names are tokens,
 *   Authorization: Basic <b64>          values printable, no line folding,
 *                                       at most WSHS_MAX_HEADERS (431).
 *
 * Subprotocols may be spread over several headers; they are collected as
 * they come. Authorization other than Basic is ignored (the caller then sees
 * no credentials); a Basic header that does not decode to "user:password"
 * is kept as "present but malformed", which the caller answers with 401.
 * The password may hold any bytes (a 1.6 AuthorizationKey is 20 raw bytes).
 *
 * Client side: wshs_parse_url() splits a ws:// or wss:// URL, and
 * wshs_parse_response() checks the server's answer to our request (101, the
 * accept key, exactly the subprotocol we offered).
 */
#ifndef SITEGATE_WSHS_H
#define SITEGATE_WSHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSHS_MAX_HEADER_BYTES 8192	/* request line + headers + CRLF CRLF */
#define WSHS_MAX_HEADERS 64
#define WSHS_ID_MAX 48			/* OCPP charging station identity */
#define WSHS_MAX_PROTOCOLS 8		/* subprotocols kept from the offer */
#define WSHS_PROTOCOL_MAX 32		/* longest subprotocol name kept */
#define WSHS_PASSWORD_MAX 128		/* longer Basic passwords never match */
#define WSHS_KEY_LEN 24			/* base64 of 16 bytes */
#define WSHS_ACCEPT_LEN 29		/* base64 of a SHA-1, + NUL */
#define WSHS_HOST_MAX 256
#define WSHS_PATH_MAX 1024

enum wshs_err {
	WSHS_OK = 0,
	WSHS_E_BAD = -1,	/* refused; see http_status and error */
	WSHS_E_ARG = -2,	/* caller error (buffer too small, bad URL) */
};

struct wshs_request {
	char id[WSHS_ID_MAX + 1];		/* percent-decoded identity */
	char key[WSHS_KEY_LEN + 1];		/* Sec-WebSocket-Key as sent */
	char protocols[WSHS_MAX_PROTOCOLS][WSHS_PROTOCOL_MAX + 1];
	size_t nprotocols;
	bool has_basic;				/* a Basic header was present */
	bool basic_malformed;			/* ...but did not decode */
	char user[WSHS_ID_MAX + 1];
	unsigned char password[WSHS_PASSWORD_MAX];
	size_t password_len;
	bool password_too_long;			/* never matches anything */
	/* On failure: the status to answer with, and why (static text). */
	int http_status;
	const char *error;
};

/* Parse a complete request header block (len bytes, through the final
 * CRLF CRLF; need not be NUL-terminated). prefix is the path the identity
 * follows, e.g. "/ocpp/". Returns WSHS_OK with *req filled, or WSHS_E_BAD
 * with req->http_status and req->error set. The caller should wipe
 * req->password once it has used it. */
int wshs_parse_request(const char *buf, size_t len, const char *prefix,
    struct wshs_request *req);

/* The index in prefs[0..n) (most preferred first) of the first subprotocol
 * the client offered, or -1 when none is in common. */
int wshs_select_protocol(const struct wshs_request *req,
    const char *const *prefs, size_t n);

/* Compute Sec-WebSocket-Accept for key into out (WSHS_ACCEPT_LEN bytes).
 * Returns WSHS_OK, or WSHS_E_ARG when the digest is not available. */
int wshs_accept_key(const char *key, char out[WSHS_ACCEPT_LEN]);

/* A fresh random Sec-WebSocket-Key into out (WSHS_KEY_LEN + 1 bytes).
 * Returns WSHS_OK, or WSHS_E_ARG when no randomness is available. */
int wshs_make_key(char out[WSHS_KEY_LEN + 1]);

struct wshs_url {
	bool tls;			/* wss:// */
	char host[WSHS_HOST_MAX];	/* without brackets for IPv6 literals */
	uint16_t port;			/* default 80 / 443 */
	char path[WSHS_PATH_MAX];	/* "/" when the URL has none */
};

/* Split a ws:// or wss:// URL. No user info, no fragment; the path (with
 * any query) is kept as written. Returns WSHS_OK or WSHS_E_ARG. */
int wshs_parse_url(const char *url, struct wshs_url *out);

/* Percent-encode an identity for a path segment (RFC 3986 unreserved
 * characters are kept) into out (size bytes). Returns WSHS_OK, or
 * WSHS_E_ARG when it does not fit. */
int wshs_pct_encode(const char *in, char *out, size_t size);

struct wshs_response {
	int http_status;		/* as the server sent it, 0 if unreadable */
	const char *error;		/* on failure, static text */
};

/* Check a server's complete response header block to our request:
 * "101", Upgrade/Connection right, Sec-WebSocket-Accept equal to accept
 * (from wshs_accept_key of our key), and Sec-WebSocket-Protocol equal to
 * protocol (the one we offered). Returns WSHS_OK or WSHS_E_BAD with
 * res->error set. */
int wshs_parse_response(const char *buf, size_t len, const char *accept,
    const char *protocol, struct wshs_response *res);

#endif
