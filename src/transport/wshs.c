/*
 * wshs — see wshs.h. Everything here works on caller-owned buffers; a
 * header block is walked line by line without copying it.
 */
#include "transport/wshs.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "util/num.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* A slice of the header block. */
struct span {
	const char *p;
	size_t n;
};

static bool
is_tchar(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool
span_caseeq(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

static struct span
trim_ows(struct span s)
{
	while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/* Walk a comma-separated list of tokens (RFC 7230 #token). Calls fn for
 * each element; returns -1 when an element is empty or not a token. */
static int
each_token(struct span v, int (*fn)(struct span, void *), void *arg)
{
	size_t start = 0;

	for (size_t i = 0; i <= v.n; i++) {
		if (i == v.n || v.p[i] == ',') {
			struct span el = trim_ows((struct span){ v.p + start,
			    i - start });

			if (el.n == 0)
				return -1;
			for (size_t k = 0; k < el.n; k++)
				if (!is_tchar((unsigned char)el.p[k]))
					return -1;
			if (fn(el, arg) != 0)
				return -1;
			start = i + 1;
		}
	}
	return 0;
}

struct has_token {
	const char *want;
	bool found;
};

static int
has_token_fn(struct span el, void *arg)
{
	struct has_token *h = arg;

	if (span_caseeq(el, h->want))
		h->found = true;
	return 0;
}

static bool
list_has(struct span v, const char *want)
{
	struct has_token h = { want, false };

	return each_token(v, has_token_fn, &h) == 0 && h.found;
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict base64 (with padding) into out; returns the decoded length, or -1
 * when the text is not canonical base64 or does not fit in size bytes. */
static long
b64_decode(struct span in, unsigned char *out, size_t size)
{
	size_t o = 0;

	if (in.n == 0 || in.n % 4 != 0)
		return -1;
	for (size_t i = 0; i < in.n; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in.p[i + k];

			if (c == '=' && i + 4 == in.n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64val(c)) < 0)
				return -1;
		}
		if (o + 3 - (size_t)pad > size)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	return (long)o;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
refuse(struct wshs_request *req, int status, const char *why)
{
	req->http_status = status;
	req->error = why;
	return WSHS_E_BAD;
}

/* The identity from the request target: prefix + one segment (+ query). */
static int
parse_target(struct wshs_request *req, struct span target, const char *prefix)
{
	size_t plen = strlen(prefix), n = 0, end = 0;

	while (end < target.n && target.p[end] != '?')
		end++;
	if (end < plen || memcmp(target.p, prefix, plen) != 0)
		return refuse(req, 404, "path is not under the OCPP prefix");
	if (end == plen)
		return refuse(req, 404, "no charging station identity in the path");
	for (size_t i = plen; i < end; i++) {
		int c = (unsigned char)target.p[i];

		if (c == '/')
			return refuse(req, 404, "path has more than one segment "
			    "after the prefix");
		if (c == '%') {
			int hi, lo;

			if (i + 2 >= end)
				return refuse(req, 400, "bad percent-encoding in the "
				    "identity");
			hi = hexval((unsigned char)target.p[i + 1]);
			lo = hexval((unsigned char)target.p[i + 2]);
			if (hi < 0 || lo < 0)
				return refuse(req, 400, "bad percent-encoding in the "
				    "identity");
			c = hi << 4 | lo;
			i += 2;
		}
		if (c < 0x21 || c > 0x7e)
			return refuse(req, 400, "identity holds a character that "
			    "is not printable ASCII");
		if (c == ':')
			return refuse(req, 400, "identity holds ':'");
		if (n == WSHS_ID_MAX)
			return refuse(req, 400, "identity longer than 48 characters");
		req->id[n++] = (char)c;
	}
	req->id[n] = '\0';
	return WSHS_OK;
}

static int
add_protocol(struct span el, void *arg)
{
	struct wshs_request *req = arg;

	if (el.n > WSHS_PROTOCOL_MAX || req->nprotocols == WSHS_MAX_PROTOCOLS)
		return 0;	/* cannot be one we speak; ignore */
	memcpy(req->protocols[req->nprotocols], el.p, el.n);
	req->protocols[req->nprotocols][el.n] = '\0';
	req->nprotocols++;
	return 0;
}

static void
parse_basic(struct wshs_request *req, struct span v)
{
	unsigned char dec[WSHS_ID_MAX + 1 + WSHS_PASSWORD_MAX + 8];
	struct span b64;
	long n;
	const unsigned char *colon;
	size_t ulen;

	req->has_basic = true;
	/* "Basic" 1*SP token68 */
	if (v.n < 7 || strncasecmp(v.p, "Basic ", 6) != 0) {
		req->basic_malformed = true;
		return;
	}
	b64 = trim_ows((struct span){ v.p + 6, v.n - 6 });
	if (b64.n > 4 * ((sizeof dec + 2) / 3)) {
		req->password_too_long = true;
		return;
	}
	n = b64_decode(b64, dec, sizeof dec);
	if (n < 0 || (colon = memchr(dec, ':', (size_t)n)) == NULL) {
		req->basic_malformed = true;
		explicit_bzero(dec, sizeof dec);
		return;
	}
	ulen = (size_t)(colon - dec);
	if (ulen > WSHS_ID_MAX) {
		req->basic_malformed = true;
		explicit_bzero(dec, sizeof dec);
		return;
	}
	memcpy(req->user, dec, ulen);
	req->user[ulen] = '\0';
	req->password_len = (size_t)n - ulen - 1;
	if (req->password_len > WSHS_PASSWORD_MAX) {
		req->password_too_long = true;
		req->password_len = 0;
	} else {
		memcpy(req->password, colon + 1, req->password_len);
	}
	explicit_bzero(dec, sizeof dec);
}

/* A cursor over the CRLF-separated lines of a header block. */
struct hdr_walk {
	const char *buf;
	size_t len, off;
};

/* The next line (without its CRLF) into *line: 0, or -1 when no complete
 * CRLF-terminated line is left or one holds a bare LF. */
static int
next_line(struct hdr_walk *w, struct span *line)
{
	const char *p = w->buf + w->off;
	size_t left = w->len - w->off;
	const char *cr = memchr(p, '\r', left);

	if (cr == NULL || (size_t)(cr - p) + 1 >= left || cr[1] != '\n')
		return -1;
	/* A bare LF inside the line is not HTTP. */
	if (memchr(p, '\n', (size_t)(cr - p)) != NULL)
		return -1;
	line->p = p;
	line->n = (size_t)(cr - p);
	w->off += line->n + 2;
	return 0;
}

/* Split "Name: value" with RFC 7230 rules. 0 or -1. */
static int
split_header(struct span line, struct span *name, struct span *value)
{
	const char *colon = memchr(line.p, ':', line.n);

	if (line.n == 0 || line.p[0] == ' ' || line.p[0] == '\t')
		return -1;	/* obs-fold or empty */
	if (colon == NULL || colon == line.p)
		return -1;
	name->p = line.p;
	name->n = (size_t)(colon - line.p);
	for (size_t i = 0; i < name->n; i++)
		if (!is_tchar((unsigned char)name->p[i]))
			return -1;
	*value = trim_ows((struct span){ colon + 1,
	    line.n - name->n - 1 });
	for (size_t i = 0; i < value->n; i++) {
		unsigned char c = (unsigned char)value->p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
	}
	return 0;
}

int
wshs_parse_request(const char *buf, size_t len, const char *prefix,
    struct wshs_request *req)
{
	struct hdr_walk w = { buf, len, 0 };
	struct span line, method, target, version, name, value;
	struct span host = { NULL, 0 }, upgrade = { NULL, 0 };
	struct span connection = { NULL, 0 }, key = { NULL, 0 };
	struct span wsversion = { NULL, 0 }, auth = { NULL, 0 };
	const char *sp1, *sp2;
	unsigned char keybytes[18];
	int nheaders = 0, r;

	memset(req, 0, sizeof *req);
	if (len > WSHS_MAX_HEADER_BYTES)
		return refuse(req, 431, "request header block too large");
	if (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0)
		return refuse(req, 400, "request does not end with an empty line");

	if (next_line(&w, &line) != 0)
		return refuse(req, 400, "malformed request line");
	sp1 = memchr(line.p, ' ', line.n);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', line.n - (size_t)(sp1 + 1 - line.p)) :
	    NULL;
	if (sp1 == NULL || sp2 == NULL || sp1 == line.p)
		return refuse(req, 400, "malformed request line");
	method = (struct span){ line.p, (size_t)(sp1 - line.p) };
	target = (struct span){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
	version = (struct span){ sp2 + 1, line.n - (size_t)(sp2 + 1 - line.p) };
	for (size_t i = 0; i < method.n; i++)
		if (!is_tchar((unsigned char)method.p[i]))
			return refuse(req, 400, "malformed request line");
	if (target.n == 0 || target.p[0] != '/')
		return refuse(req, 400, "request target is not an absolute path");
	for (size_t i = 0; i < target.n; i++) {
		unsigned char c = (unsigned char)target.p[i];

		if (c < 0x21 || c > 0x7e)
			return refuse(req, 400, "request target holds a character "
			    "that is not printable ASCII");
	}
	if (version.n != 8 || memcmp(version.p, "HTTP/", 5) != 0 ||
	    !isdigit((unsigned char)version.p[5]) || version.p[6] != '.' ||
	    !isdigit((unsigned char)version.p[7]))
		return refuse(req, 400, "malformed HTTP version");
	if (!span_eq(method, "GET"))
		return refuse(req, 405, "method is not GET");
	if (!span_eq(version, "HTTP/1.1"))
		return refuse(req, 505, "HTTP version is not 1.1");

	for (;;) {
		if (next_line(&w, &line) != 0)
			return refuse(req, 400, "malformed header line");
		if (line.n == 0)
			break;
		if (++nheaders > WSHS_MAX_HEADERS)
			return refuse(req, 431, "too many header fields");
		if (split_header(line, &name, &value) != 0)
			return refuse(req, 400, "malformed header field");
#define ONCE(var, what) do { \
	if ((var).p != NULL) \
		return refuse(req, 400, "duplicate " what " header"); \
	(var) = value; \
} while (0)
		if (span_caseeq(name, "Host"))
			ONCE(host, "Host");
		else if (span_caseeq(name, "Upgrade"))
			ONCE(upgrade, "Upgrade");
		else if (span_caseeq(name, "Connection"))
			ONCE(connection, "Connection");
		else if (span_caseeq(name, "Sec-WebSocket-Key"))
			ONCE(key, "Sec-WebSocket-Key");
		else if (span_caseeq(name, "Sec-WebSocket-Version"))
			ONCE(wsversion, "Sec-WebSocket-Version");
		else if (span_caseeq(name, "Authorization"))
			ONCE(auth, "Authorization");
		else if (span_caseeq(name, "Sec-WebSocket-Protocol")) {
			if (each_token(value, add_protocol, req) != 0)
				return refuse(req, 400, "malformed "
				    "Sec-WebSocket-Protocol header");
		}
#undef ONCE
	}
	if (w.off != len)
		return refuse(req, 400, "data inside the header block");

	if ((r = parse_target(req, target, prefix)) != WSHS_OK)
		return r;
	if (host.p == NULL || host.n == 0)
		return refuse(req, 400, "no Host header");
	if (upgrade.p == NULL || !list_has(upgrade, "websocket"))
		return refuse(req, 400, "not a WebSocket upgrade (Upgrade header)");
	if (connection.p == NULL || !list_has(connection, "Upgrade"))
		return refuse(req, 400, "not a WebSocket upgrade (Connection "
		    "header)");
	if (wsversion.p == NULL || !span_eq(wsversion, "13"))
		return refuse(req, 426, "Sec-WebSocket-Version is not 13");
	if (key.p == NULL)
		return refuse(req, 400, "no Sec-WebSocket-Key header");
	if (key.n != WSHS_KEY_LEN ||
	    b64_decode(key, keybytes, sizeof keybytes) != 16)
		return refuse(req, 400, "Sec-WebSocket-Key is not 16 bytes in "
		    "base64");
	memcpy(req->key, key.p, key.n);
	req->key[key.n] = '\0';
	if (auth.p != NULL && auth.n >= 5 && strncasecmp(auth.p, "Basic", 5) == 0)
		parse_basic(req, auth);
	return WSHS_OK;
}

int
wshs_select_protocol(const struct wshs_request *req, const char *const *prefs,
    size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < req->nprotocols; k++)
			if (strcmp(prefs[i], req->protocols[k]) == 0)
				return (int)i;
	return -1;
}

int
wshs_accept_key(const char *key, char out[WSHS_ACCEPT_LEN])
{
	unsigned char md[SHA_DIGEST_LENGTH];
	char in[WSHS_KEY_LEN + sizeof WS_GUID];
	size_t klen = strlen(key);
	unsigned int mdlen = 0;

	if (klen > WSHS_KEY_LEN)
		return WSHS_E_ARG;
	memcpy(in, key, klen);
	memcpy(in + klen, WS_GUID, sizeof WS_GUID - 1);
	if (EVP_Digest(in, klen + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(),
	    NULL) != 1 || mdlen != SHA_DIGEST_LENGTH)
		return WSHS_E_ARG;
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
	return WSHS_OK;
}

int
wshs_make_key(char out[WSHS_KEY_LEN + 1])
{
	unsigned char raw[16];

	if (RAND_bytes(raw, sizeof raw) != 1)
		return WSHS_E_ARG;
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw);
	return WSHS_OK;
}

int
wshs_parse_url(const char *url, struct wshs_url *out)
{
	const char *p, *auth_end, *host_end, *port_at = NULL;
	size_t hlen;

	memset(out, 0, sizeof *out);
	if (strncasecmp(url, "ws://", 5) == 0) {
		p = url + 5;
		out->port = 80;
	} else if (strncasecmp(url, "wss://", 6) == 0) {
		p = url + 6;
		out->tls = true;
		out->port = 443;
	} else {
		return WSHS_E_ARG;
	}
	auth_end = p + strcspn(p, "/?#");
	if (*auth_end == '#' || strchr(auth_end, '#') != NULL)
		return WSHS_E_ARG;
	if (memchr(p, '@', (size_t)(auth_end - p)) != NULL)
		return WSHS_E_ARG;	/* no user info in OCPP URLs */
	if (*p == '[') {
		host_end = memchr(p, ']', (size_t)(auth_end - p));
		if (host_end == NULL)
			return WSHS_E_ARG;
		hlen = (size_t)(host_end - p - 1);
		if (hlen >= sizeof out->host)
			return WSHS_E_ARG;
		memcpy(out->host, p + 1, hlen);
		host_end++;
		if (host_end < auth_end && *host_end != ':')
			return WSHS_E_ARG;
	} else {
		host_end = memchr(p, ':', (size_t)(auth_end - p));
		if (host_end == NULL)
			host_end = auth_end;
		hlen = (size_t)(host_end - p);
		if (hlen >= sizeof out->host)
			return WSHS_E_ARG;
		memcpy(out->host, p, hlen);
	}
	out->host[hlen] = '\0';
	if (hlen == 0)
		return WSHS_E_ARG;
	for (size_t i = 0; i < hlen; i++) {
		unsigned char c = (unsigned char)out->host[i];

		if (c <= 0x20 || c >= 0x7f)
			return WSHS_E_ARG;
	}
	if (host_end < auth_end && *host_end == ':')
		port_at = host_end + 1;
	if (port_at != NULL) {
		char num[8];
		size_t nlen = (size_t)(auth_end - port_at);
		int64_t v;

		if (nlen == 0 || nlen >= sizeof num)
			return WSHS_E_ARG;
		memcpy(num, port_at, nlen);
		num[nlen] = '\0';
		if (num_parse_i64(num, 1, 65535, &v) != 0)
			return WSHS_E_ARG;
		out->port = (uint16_t)v;
	}
	if (*auth_end == '\0') {
		strcpy(out->path, "/");
	} else {
		size_t plen = strlen(auth_end);
		size_t off = *auth_end == '?' ? 1 : 0;

		if (plen + off >= sizeof out->path)
			return WSHS_E_ARG;
		out->path[0] = '/';
		memcpy(out->path + off, auth_end, plen + 1);
		for (size_t i = 0; out->path[i]; i++) {
			unsigned char c = (unsigned char)out->path[i];

			if (c <= 0x20 || c >= 0x7f)
				return WSHS_E_ARG;
		}
	}
	return WSHS_OK;
}

int
wshs_pct_encode(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~') {
			if (o + 1 >= size)
				return WSHS_E_ARG;
			out[o++] = (char)*p;
		} else {
			if (o + 3 >= size)
				return WSHS_E_ARG;
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o >= size)
		return WSHS_E_ARG;
	out[o] = '\0';
	return WSHS_OK;
}

static int
bad_response(struct wshs_response *res, const char *why)
{
	res->error = why;
	return WSHS_E_BAD;
}

int
wshs_parse_response(const char *buf, size_t len, const char *accept,
    const char *protocol, struct wshs_response *res)
{
	struct hdr_walk w = { buf, len, 0 };
	struct span line, name, value;
	struct span upgrade = { NULL, 0 }, connection = { NULL, 0 };
	struct span acc = { NULL, 0 }, proto = { NULL, 0 };
	bool ext = false;
	int nheaders = 0;

	memset(res, 0, sizeof *res);
	if (len > WSHS_MAX_HEADER_BYTES)
		return bad_response(res, "response header block too large");
	if (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0 ||
	    next_line(&w, &line) != 0)
		return bad_response(res, "malformed response");
	if (line.n < 12 || memcmp(line.p, "HTTP/1.1 ", 9) != 0 ||
	    !isdigit((unsigned char)line.p[9]) ||
	    !isdigit((unsigned char)line.p[10]) ||
	    !isdigit((unsigned char)line.p[11]) ||
	    (line.n > 12 && line.p[12] != ' '))
		return bad_response(res, "malformed status line");
	res->http_status = (line.p[9] - '0') * 100 + (line.p[10] - '0') * 10 +
	    (line.p[11] - '0');
	for (;;) {
		if (next_line(&w, &line) != 0)
			return bad_response(res, "malformed header line");
		if (line.n == 0)
			break;
		if (++nheaders > WSHS_MAX_HEADERS)
			return bad_response(res, "too many header fields");
		if (split_header(line, &name, &value) != 0)
			return bad_response(res, "malformed header field");
		if (span_caseeq(name, "Upgrade"))
			upgrade = value;
		else if (span_caseeq(name, "Connection"))
			connection = value;
		else if (span_caseeq(name, "Sec-WebSocket-Accept")) {
			if (acc.p != NULL)
				return bad_response(res, "duplicate "
				    "Sec-WebSocket-Accept");
			acc = value;
		} else if (span_caseeq(name, "Sec-WebSocket-Protocol")) {
			if (proto.p != NULL)
				return bad_response(res, "duplicate "
				    "Sec-WebSocket-Protocol");
			proto = value;
		} else if (span_caseeq(name, "Sec-WebSocket-Extensions"))
			ext = true;
	}
	if (res->http_status != 101)
		return bad_response(res, "the server refused the upgrade");
	if (upgrade.p == NULL || !list_has(upgrade, "websocket") ||
	    connection.p == NULL || !list_has(connection, "Upgrade"))
		return bad_response(res, "the server did not upgrade to "
		    "WebSocket");
	if (acc.p == NULL || !span_eq(acc, accept))
		return bad_response(res, "wrong Sec-WebSocket-Accept");
	if (ext)
		return bad_response(res, "the server chose an extension we did "
		    "not offer");
	if (proto.p == NULL)
		return bad_response(res, "the server accepted no subprotocol");
	if (!span_eq(proto, protocol))
		return bad_response(res, "the server chose another subprotocol");
	return WSHS_OK;
}
