/*
 * Unit tests for transport/wshs: the HTTP upgrade handshake as pure
 * functions. One table of requests (each breaking one rule, with the status
 * expected), then subprotocol selection, Basic credentials, the accept key
 * (RFC 6455's own example), URLs, and the client's check of a response.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "transport/wshs.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

#define GOOD_HEADERS \
	"Host: gw:8180\r\n" \
	"Upgrade: websocket\r\n" \
	"Connection: Upgrade\r\n" \
	"Sec-WebSocket-Key: " KEY "\r\n" \
	"Sec-WebSocket-Version: 13\r\n"

static int
parse(const char *text, struct wshs_request *req)
{
	return wshs_parse_request(text, strlen(text), "/ocpp/", req);
}

struct req_case {
	const char *name;
	const char *text;
	int status;		/* 0: accepted */
	const char *id;		/* when accepted */
};

static const struct req_case req_cases[] = {
	{ "valid", "GET /ocpp/CP-01 HTTP/1.1\r\n" GOOD_HEADERS
	    "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n", 0, "CP-01" },
	{ "percent-decoded id", "GET /ocpp/CP%2D01%40x HTTP/1.1\r\n"
	    GOOD_HEADERS "\r\n", 0, "CP-01@x" },
	{ "query ignored", "GET /ocpp/CP-01?x=1 HTTP/1.1\r\n" GOOD_HEADERS
	    "\r\n", 0, "CP-01" },
	{ "header names any case, lists, tabs",
	    "GET /ocpp/A HTTP/1.1\r\nhost: gw\r\nUPGRADE:\tWebSocket\r\n"
	    "connection: keep-alive, upgrade\r\nsec-websocket-key: " KEY "\r\n"
	    "sec-websocket-version: 13\r\nX-Other: \r\n\r\n", 0, "A" },
	{ "48 characters", "GET /ocpp/"
	    "123456789012345678901234567890123456789012345678 HTTP/1.1\r\n"
	    GOOD_HEADERS "\r\n", 0,
	    "123456789012345678901234567890123456789012345678" },
	{ "49 characters", "GET /ocpp/"
	    "1234567890123456789012345678901234567890123456789 HTTP/1.1\r\n"
	    GOOD_HEADERS "\r\n", 400, NULL },
	{ "colon in id", "GET /ocpp/CP:01 HTTP/1.1\r\n" GOOD_HEADERS "\r\n",
	    400, NULL },
	{ "encoded colon in id", "GET /ocpp/CP%3a01 HTTP/1.1\r\n" GOOD_HEADERS
	    "\r\n", 400, NULL },
	{ "encoded control char", "GET /ocpp/CP%0A HTTP/1.1\r\n" GOOD_HEADERS
	    "\r\n", 400, NULL },
	{ "encoded non-ASCII", "GET /ocpp/CP%C3%A9 HTTP/1.1\r\n" GOOD_HEADERS
	    "\r\n", 400, NULL },
	{ "bad percent escape", "GET /ocpp/CP%2 HTTP/1.1\r\n" GOOD_HEADERS
	    "\r\n", 400, NULL },
	{ "bad percent hex", "GET /ocpp/CP%zz HTTP/1.1\r\n" GOOD_HEADERS
	    "\r\n", 400, NULL },
	{ "wrong prefix", "GET /other/CP-01 HTTP/1.1\r\n" GOOD_HEADERS "\r\n",
	    404, NULL },
	{ "no id", "GET /ocpp/ HTTP/1.1\r\n" GOOD_HEADERS "\r\n", 404, NULL },
	{ "two segments", "GET /ocpp/a/CP-01 HTTP/1.1\r\n" GOOD_HEADERS "\r\n",
	    404, NULL },
	{ "method POST", "POST /ocpp/CP-01 HTTP/1.1\r\n" GOOD_HEADERS "\r\n",
	    405, NULL },
	{ "HTTP/1.0", "GET /ocpp/CP-01 HTTP/1.0\r\n" GOOD_HEADERS "\r\n", 505,
	    NULL },
	{ "garbage version", "GET /ocpp/CP-01 HTTX/1.1\r\n" GOOD_HEADERS "\r\n",
	    400, NULL },
	{ "no target", "GET  HTTP/1.1\r\n" GOOD_HEADERS "\r\n", 400, NULL },
	{ "one word", "GET\r\n" GOOD_HEADERS "\r\n", 400, NULL },
	{ "absolute URI", "GET http://x/ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "\r\n", 400, NULL },
	{ "bare LF", "GET /ocpp/A HTTP/1.1\nHost: x\r\n" GOOD_HEADERS "\r\n",
	    400, NULL },
	{ "obs-fold", "GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS " folded\r\n\r\n",
	    400, NULL },
	{ "no colon", "GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS "Nonsense\r\n\r\n",
	    400, NULL },
	{ "space before colon", "GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "X-A : b\r\n\r\n", 400, NULL },
	{ "control char in value", "GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "X-A: b\001c\r\n\r\n", 400, NULL },
	{ "no Host", "GET /ocpp/A HTTP/1.1\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", 400, NULL },
	{ "duplicate Host", "GET /ocpp/A HTTP/1.1\r\nHost: a\r\n" GOOD_HEADERS
	    "\r\n", 400, NULL },
	{ "no Upgrade", "GET /ocpp/A HTTP/1.1\r\nHost: gw\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", 400, NULL },
	{ "Upgrade: h2c", "GET /ocpp/A HTTP/1.1\r\nHost: gw\r\nUpgrade: h2c\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", 400, NULL },
	{ "Connection: close", "GET /ocpp/A HTTP/1.1\r\nHost: gw\r\n"
	    "Upgrade: websocket\r\nConnection: close\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
	    400, NULL },
	{ "missing key", "GET /ocpp/A HTTP/1.1\r\nHost: gw\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", 400, NULL },
	{ "short key", "GET /ocpp/A HTTP/1.1\r\nHost: gw\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", 400, NULL },
	{ "key not base64", "GET /ocpp/A HTTP/1.1\r\nHost: gw\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ!==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", 400, NULL },
	{ "version 8", "GET /ocpp/A HTTP/1.1\r\nHost: gw\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 8\r\n\r\n",
	    426, NULL },
	{ "missing version", "GET /ocpp/A HTTP/1.1\r\nHost: gw\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\n\r\n", 426, NULL },
	{ "bad subprotocol list", "GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "Sec-WebSocket-Protocol: ocpp1.6,,ocpp2.0.1\r\n\r\n", 400, NULL },
	{ "no final empty line", "GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS, 400,
	    NULL },
};

static void
test_request_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof req_cases / sizeof *req_cases; i++) {
		const struct req_case *c = &req_cases[i];
		struct wshs_request req;
		int r = parse(c->text, &req);

		if (c->status == 0) {
			if (r != WSHS_OK)
				fail_msg("%s: refused with %d (%s)", c->name,
				    req.http_status, req.error);
			assert_string_equal(req.id, c->id);
			assert_string_equal(req.key, KEY);
		} else {
			if (r != WSHS_E_BAD || req.http_status != c->status)
				fail_msg("%s: expected %d, got r=%d status=%d", c->name,
				    c->status, r, req.http_status);
			assert_non_null(req.error);
		}
	}
}

static void
test_oversized_and_too_many(void **state)
{
	char buf[WSHS_MAX_HEADER_BYTES + 200];
	struct wshs_request req;
	int n;

	(void)state;
	/* Just over the byte limit. */
	n = snprintf(buf, sizeof buf, "GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "X-Pad: ");
	while (n < WSHS_MAX_HEADER_BYTES)
		buf[n++] = 'a';
	memcpy(buf + n, "\r\n\r\n", 5);
	assert_int_equal(parse(buf, &req), WSHS_E_BAD);
	assert_int_equal(req.http_status, 431);

	/* Within the byte limit, too many fields. */
	n = snprintf(buf, sizeof buf, "GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS);
	for (int i = 0; i < WSHS_MAX_HEADERS; i++)
		n += snprintf(buf + n, sizeof buf - (size_t)n, "X-%d: y\r\n", i);
	snprintf(buf + n, sizeof buf - (size_t)n, "\r\n");
	assert_int_equal(parse(buf, &req), WSHS_E_BAD);
	assert_int_equal(req.http_status, 431);
}

static void
test_subprotocol_selection(void **state)
{
	static const char *const prefs[] = { "ocpp2.1", "ocpp2.0.1", "ocpp1.6" };
	static const char *const no21[] = { "ocpp2.0.1", "ocpp1.6" };
	struct wshs_request req;

	(void)state;
	assert_int_equal(parse("GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "Sec-WebSocket-Protocol: ocpp1.6, ocpp2.0.1\r\n\r\n", &req), WSHS_OK);
	assert_int_equal(req.nprotocols, 2);
	/* The server's preference wins over the client's order. */
	assert_int_equal(wshs_select_protocol(&req, prefs, 3), 1);
	assert_int_equal(wshs_select_protocol(&req, no21 + 1, 1), 0);

	/* Offered over two headers; 2.1 only when the server enables it. */
	assert_int_equal(parse("GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "Sec-WebSocket-Protocol: ocpp1.6\r\n"
	    "Sec-WebSocket-Protocol: ocpp2.1\r\n\r\n", &req), WSHS_OK);
	assert_int_equal(wshs_select_protocol(&req, prefs, 3), 0);
	assert_int_equal(wshs_select_protocol(&req, no21, 2), 1);

	/* None in common, or none offered. */
	assert_int_equal(parse("GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "Sec-WebSocket-Protocol: ocpp1.5, wamp\r\n\r\n", &req), WSHS_OK);
	assert_int_equal(wshs_select_protocol(&req, prefs, 3), -1);
	assert_int_equal(parse("GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS "\r\n",
	    &req), WSHS_OK);
	assert_int_equal(req.nprotocols, 0);
	assert_int_equal(wshs_select_protocol(&req, prefs, 3), -1);
}

static void
test_basic_auth(void **state)
{
	struct wshs_request req;

	(void)state;
	/* "CP-01:secret-password" */
	assert_int_equal(parse("GET /ocpp/CP-01 HTTP/1.1\r\n" GOOD_HEADERS
	    "Authorization: Basic Q1AtMDE6c2VjcmV0LXBhc3N3b3Jk\r\n\r\n", &req),
	    WSHS_OK);
	assert_true(req.has_basic);
	assert_false(req.basic_malformed);
	assert_string_equal(req.user, "CP-01");
	assert_int_equal(req.password_len, strlen("secret-password"));
	assert_memory_equal(req.password, "secret-password", req.password_len);

	/* Binary password (a 1.6 AuthorizationKey): "A:" + 00 ff 3a 10. */
	assert_int_equal(parse("GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "authorization: basic QToA/zoQ\r\n\r\n", &req), WSHS_OK);
	assert_true(req.has_basic && !req.basic_malformed);
	assert_int_equal(req.password_len, 4);
	assert_memory_equal(req.password, "\x00\xff\x3a\x10", 4);

	/* Not base64; no colon; another scheme. */
	assert_int_equal(parse("GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "Authorization: Basic !!!!\r\n\r\n", &req), WSHS_OK);
	assert_true(req.has_basic && req.basic_malformed);
	assert_int_equal(parse("GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "Authorization: Basic QUJD\r\n\r\n", &req), WSHS_OK);
	assert_true(req.has_basic && req.basic_malformed);
	assert_int_equal(parse("GET /ocpp/A HTTP/1.1\r\n" GOOD_HEADERS
	    "Authorization: Bearer abc\r\n\r\n", &req), WSHS_OK);
	assert_false(req.has_basic);
}

static void
test_accept_key(void **state)
{
	char out[WSHS_ACCEPT_LEN], key[WSHS_KEY_LEN + 1], key2[WSHS_KEY_LEN + 1];

	(void)state;
	/* RFC 6455 section 1.3. */
	assert_int_equal(wshs_accept_key(KEY, out), WSHS_OK);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(wshs_make_key(key), WSHS_OK);
	assert_int_equal(wshs_make_key(key2), WSHS_OK);
	assert_int_equal(strlen(key), WSHS_KEY_LEN);
	assert_string_not_equal(key, key2);
}

static void
test_urls(void **state)
{
	struct wshs_url u;
	char enc[64];

	(void)state;
	assert_int_equal(wshs_parse_url("ws://127.0.0.1:9000/ocpp", &u),
	    WSHS_OK);
	assert_false(u.tls);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 9000);
	assert_string_equal(u.path, "/ocpp");
	assert_int_equal(wshs_parse_url("wss://csms.example.com", &u), WSHS_OK);
	assert_true(u.tls);
	assert_int_equal(u.port, 443);
	assert_string_equal(u.path, "/");
	assert_int_equal(wshs_parse_url("WSS://[::1]:8443/a/b?x=1", &u),
	    WSHS_OK);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 8443);
	assert_string_equal(u.path, "/a/b?x=1");
	assert_int_equal(wshs_parse_url("http://x/", &u), WSHS_E_ARG);
	assert_int_equal(wshs_parse_url("ws://", &u), WSHS_E_ARG);
	assert_int_equal(wshs_parse_url("ws://x:0/", &u), WSHS_E_ARG);
	assert_int_equal(wshs_parse_url("ws://x:65536/", &u), WSHS_E_ARG);
	assert_int_equal(wshs_parse_url("ws://x:80a/", &u), WSHS_E_ARG);
	assert_int_equal(wshs_parse_url("ws://u:p@x/", &u), WSHS_E_ARG);
	assert_int_equal(wshs_parse_url("ws://x/#frag", &u), WSHS_E_ARG);
	assert_int_equal(wshs_parse_url("ws://[::1/", &u), WSHS_E_ARG);

	assert_int_equal(wshs_pct_encode("CP 01/ä:", enc, sizeof enc), WSHS_OK);
	assert_string_equal(enc, "CP%2001%2F%C3%A4%3A");
	assert_int_equal(wshs_pct_encode("abc", enc, 3), WSHS_E_ARG);
}

static void
test_response(void **state)
{
	char accept[WSHS_ACCEPT_LEN], buf[512];
	struct wshs_response res;

	(void)state;
	wshs_accept_key(KEY, accept);
#define RESP(extra) "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" \
	"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" \
	extra "\r\n"
	snprintf(buf, sizeof buf, RESP("Sec-WebSocket-Protocol: ocpp1.6\r\n"));
	assert_int_equal(wshs_parse_response(buf, strlen(buf), accept, "ocpp1.6",
	    &res), WSHS_OK);
	assert_int_equal(res.http_status, 101);
	/* Another subprotocol, or none. */
	assert_int_equal(wshs_parse_response(buf, strlen(buf), accept,
	    "ocpp2.0.1", &res), WSHS_E_BAD);
	snprintf(buf, sizeof buf, RESP(""));
	assert_int_equal(wshs_parse_response(buf, strlen(buf), accept, "ocpp1.6",
	    &res), WSHS_E_BAD);
	/* Wrong accept key. */
	snprintf(buf, sizeof buf, RESP("Sec-WebSocket-Protocol: ocpp1.6\r\n"));
	assert_int_equal(wshs_parse_response(buf, strlen(buf),
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "ocpp1.6", &res), WSHS_E_BAD);
	/* Refused. */
	snprintf(buf, sizeof buf, "HTTP/1.1 401 Unauthorized\r\n"
	    "Content-Length: 0\r\n\r\n");
	assert_int_equal(wshs_parse_response(buf, strlen(buf), accept, "ocpp1.6",
	    &res), WSHS_E_BAD);
	assert_int_equal(res.http_status, 401);
	snprintf(buf, sizeof buf, "SSH-2.0-OpenSSH\r\n\r\n");
	assert_int_equal(wshs_parse_response(buf, strlen(buf), accept, "ocpp1.6",
	    &res), WSHS_E_BAD);
	assert_int_equal(res.http_status, 0);
#undef RESP
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_table),
		cmocka_unit_test(test_oversized_and_too_many),
		cmocka_unit_test(test_subprotocol_selection),
		cmocka_unit_test(test_basic_auth),
		cmocka_unit_test(test_accept_key),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
