/*
 * SHA-256 (OpenSSL libcrypto) behind a small streaming interface. Keys and
 * realization hashes are its lowercase hex digests. Also base64, from the
 * same library, for reports that embed bytes.
 */
#ifndef MD_HASH_H
#define MD_HASH_H

#include <stdbool.h>
#include <stddef.h>

#define MD_HASH_HEX 65 /* 64 hex digits and a NUL */

struct md_hash {
	void *ctx; /* EVP_MD_CTX */
	unsigned char buf[1024]; /* small updates, not yet hashed */
	size_t len;
};

void md_hash_init(struct md_hash *h);
void md_hash_update(struct md_hash *h, const void *data, size_t n);
/*
 * Adds "TAG LEN:BYTES\n", a length-prefixed field, so that no two different
 * field sequences serialize to the same bytes.
 */
void md_hash_field(struct md_hash *h, const char *tag, const void *data,
		   size_t n);
/* Writes the hex digest into out and releases the context. */
void md_hash_final(char out[MD_HASH_HEX], struct md_hash *h);
/* One-shot digest of a byte string. */
void md_hash_bytes(char out[MD_HASH_HEX], const void *data, size_t n);

struct md_buf;
/* Appends the n bytes at data in base64 (RFC 4648, no line breaks). */
void md_base64(struct md_buf *out, const void *data, size_t n);
/*
 * Appends what the base64 text s (n bytes; line breaks and blanks in it
 * are skipped, as nbformat allows them) holds; false, with out as it was,
 * when s is not base64.
 */
bool md_base64_decode(struct md_buf *out, const char *s, size_t n);

#endif
