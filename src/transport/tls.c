/*
 * tls — TLS contexts for servers and clients. See tls.h.
 *
 * Both builders share the hardening (harden) and the failure path (fail),
 * so that a server and a client can never drift apart in what they accept
 * or in how they report a bad file.
 */
#include "transport/tls.h"

#include <stdbool.h>

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "util/xalloc.h"

#define OCPP_TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
	"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:" \
	"AES128-GCM-SHA256:AES256-GCM-SHA384"
#define OCPP_TLS13_SUITES \
	"TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:" \
	"TLS_CHACHA20_POLY1305_SHA256"

/* Free ctx and say what failed: "cannot <what>[ <file>]: <OpenSSL>". */
static SSL_CTX *
fail(SSL_CTX *ctx, char **cause, const char *what, const char *file)
{
	char buf[160] = "";
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	*cause = xasprintf("cannot %s%s%s: %s", what, file ? " " : "",
	    file ? file : "", buf);
	SSL_CTX_free(ctx);
	return NULL;
}

/* Versions, options and suites; false when OpenSSL refuses the suites. */
static bool
harden(SSL_CTX *ctx, long extra_options)
{
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | extra_options);
	return SSL_CTX_set_cipher_list(ctx, OCPP_TLS12_CIPHERS) == 1 &&
	    SSL_CTX_set_ciphersuites(ctx, OCPP_TLS13_SUITES) == 1;
}

SSL_CTX *
tls_server_ctx(const struct tls_server_opts *o, char **cause)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	STACK_OF(X509_NAME) *names;

	if (ctx == NULL)
		return fail(ctx, cause, "create a TLS context", NULL);
	if (!harden(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE))
		return fail(ctx, cause, "set the cipher suites", NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1)
		return fail(ctx, cause, "load the certificate", o->cert);
	if (o->key == NULL ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return fail(ctx, cause, "load the private key", o->key);
	if (o->client_ca == NULL)
		return ctx;
	if (SSL_CTX_load_verify_locations(ctx, o->client_ca, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(o->client_ca)) == NULL)
		return fail(ctx, cause, "load the client CA", o->client_ca);
	SSL_CTX_set_client_CA_list(ctx, names);
	/* Certificates are asked for, and verified when sent; whether one is
	 * required is the caller's decision, so that profile 2 and 3
	 * chargers can share the port. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"sitegate",
	    8);
	return ctx;
}

/* The server's certificate must be for host: an address (IPv4 or IPv6) as
 * an IP SAN, a name as a DNS name without partial wildcards ("w*.x"). */
static bool
verify_name(SSL_CTX *ctx, const char *host)
{
	X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ctx);
	unsigned char ip[16];

	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(vp, host) == 1;
	return X509_VERIFY_PARAM_set1_host(vp, host, 0) == 1;
}

SSL_CTX *
tls_client_ctx(const struct tls_client_opts *o, char **cause)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return fail(ctx, cause, "create a TLS context", NULL);
	if (!harden(ctx, 0))
		return fail(ctx, cause, "set the cipher suites", NULL);
	if (o->ca_file != NULL ?
	    SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(ctx) != 1)
		return fail(ctx, cause, "load the CA file", o->ca_file);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (o->cert != NULL || o->key != NULL) {
		if (o->cert == NULL || o->key == NULL ||
		    SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1)
			return fail(ctx, cause, "load the client certificate",
			    o->cert);
		if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) !=
		    1 || SSL_CTX_check_private_key(ctx) != 1)
			return fail(ctx, cause, "load the client key", o->key);
	}
	if (o->verify_host != NULL && !verify_name(ctx, o->verify_host))
		return fail(ctx, cause, "set the name to verify", o->verify_host);
	return ctx;
}
