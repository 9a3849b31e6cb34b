/*
 * pwhash — see pwhash.h. OpenSSL provides the randomness, the digest and the
 * constant-time comparison.
 */
#include "util/pwhash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

static int
digest(const unsigned char *salt, const void *secret, size_t len,
    unsigned char out[PWHASH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, salt, PWHASH_SALT_LEN) == 1 &&
	    EVP_DigestUpdate(ctx, secret, len) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == PWHASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
pwhash_set(struct pwhash *h, const void *secret, size_t len)
{
	memset(h, 0, sizeof *h);
	if (RAND_bytes(h->salt, sizeof h->salt) != 1 ||
	    digest(h->salt, secret, len, h->hash) != 0) {
		memset(h, 0, sizeof *h);
		return -1;
	}
	h->set = true;
	return 0;
}

bool
pwhash_check(const struct pwhash *h, const void *secret, size_t len)
{
	unsigned char got[PWHASH_LEN];

	if (!h->set || digest(h->salt, secret, len, got) != 0)
		return false;
	return CRYPTO_memcmp(got, h->hash, PWHASH_LEN) == 0;
}
