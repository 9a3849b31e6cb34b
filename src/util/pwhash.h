/*
 * pwhash — a salted hash of a shared secret, checked in constant time.
 *
 * Charger passwords (OCPP security profiles 1 and 2) are hashed when the
 * configuration is loaded and the plain text is wiped; only this hash is kept
 * in memory. The hash is SHA-256 over a random 16-byte salt and the secret.
 * It is deliberately fast (it is checked on every charger connection, a
 * thousand of them after a power cut): it protects against a memory dump
 * leaking reusable passwords, not against offline guessing of weak ones,
 * which the 16-character minimum of OCPP addresses.
 *
 * struct pwhash is a small fixed-size value, embedded in its owner.
 */
#ifndef SITEGATE_PWHASH_H
#define SITEGATE_PWHASH_H

#include <stdbool.h>
#include <stddef.h>

#define PWHASH_SALT_LEN 16
#define PWHASH_LEN 32

struct pwhash {
	bool set;
	unsigned char salt[PWHASH_SALT_LEN];
	unsigned char hash[PWHASH_LEN];
};

/* Hash len bytes of secret with a fresh random salt into *h.
 * Returns 0, or -1 when no randomness or digest was available (*h is then
 * left unset). */
int pwhash_set(struct pwhash *h, const void *secret, size_t len);

/* True when h is set and secret hashes to it. Constant time in the secret's
 * content (not its length, which is not secret here). */
bool pwhash_check(const struct pwhash *h, const void *secret, size_t len);

#endif
