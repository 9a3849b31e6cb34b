/*
 * tls — the one place where the gateway's TLS contexts are built, for its
 * servers (chargers connecting, profiles 2 and 3) and its clients (the
 * uplink toward the upstream CSMS, the EMS link).
 *
 * Every context speaks TLS 1.2 or 1.3 only, without compression or
 * renegotiation, with the cipher suites OCPP asks for (the 1.6 security
 * whitepaper and 2.0.1 Part 2: ECDHE with AES-GCM, and the two RSA
 * key-exchange suites both list for RSA certificates; for TLS 1.3
 * OpenSSL's AEAD suites). A client always verifies the server's chain;
 * which name it must carry is set per connection by the caller
 * (SSL_set1_host), or for the whole context with verify_host.
 *
 * A failure says what could not be done and with which file, followed by
 * OpenSSL's first error, e.g. "cannot load the certificate /etc/x.pem:
 * error:80000002:system library::No such file or directory". The OCPP
 * suites apply to the EMS link too: one hardening for every link the
 * gateway opens (a broker offering only older suites is refused).
 */
#ifndef SITEGATE_TLS_H
#define SITEGATE_TLS_H

#include <openssl/ssl.h>

struct tls_server_opts {
	const char *cert;		/* PEM certificate chain */
	const char *key;		/* PEM private key */
	const char *client_ca;		/* NULL: no client certificates */
};

struct tls_client_opts {
	const char *ca_file;		/* NULL: the system's CAs */
	const char *cert;		/* client certificate: both or neither */
	const char *key;
	const char *verify_host;	/* the name (or address) the server's
					   certificate must be for; NULL: the
					   caller sets it per SSL */
};

/* A server context. With client_ca, certificates are asked for and
 * verified when sent; whether one is required is the caller's decision
 * per connection. Returns NULL with a malloc'd *cause on failure. */
SSL_CTX *tls_server_ctx(const struct tls_server_opts *o, char **cause);

/* A client context that verifies the server. Returns NULL with a malloc'd
 * *cause on failure. */
SSL_CTX *tls_client_ctx(const struct tls_client_opts *o, char **cause);

#endif
