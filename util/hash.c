#include "hash.h"
#include "buf.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
md_hash_init(struct md_hash *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		fputs("mdrun: cannot initialise SHA-256\n", stderr);
		abort();
	}
	h->ctx = ctx;
}

void
md_hash_update(struct md_hash *h, const void *data, size_t n)
{
	if (n)
		EVP_DigestUpdate(h->ctx, data, n);
}

void
md_hash_field(struct md_hash *h, const char *tag, const void *data, size_t n)
{
	char head[64];
	int k = snprintf(head, sizeof(head), "%s %zu:", tag, n);

	md_hash_update(h, head, (size_t)k);
	md_hash_update(h, data, n);
	md_hash_update(h, "\n", 1);
}

void
md_hash_final(char out[MD_HASH_HEX], struct md_hash *h)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_DigestFinal_ex(h->ctx, md, &n);
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
	for (i = 0; i < n && i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

void
md_hash_bytes(char out[MD_HASH_HEX], const void *data, size_t n)
{
	struct md_hash h;

	md_hash_init(&h);
	md_hash_update(&h, data, n);
	md_hash_final(out, &h);
}

void
md_base64(struct md_buf *out, const void *data, size_t n)
{
	/* A multiple of 3 bytes, so the chunks' encodings join. */
	enum { CHUNK = 3 * 4096 };

	md_buf_grow(out, (n + 2) / 3 * 4);
	for (size_t i = 0; i < n; i += CHUNK) {
		size_t k = n - i < CHUNK ? n - i : CHUNK;

		md_buf_grow(out, CHUNK / 3 * 4);
		out->len += (size_t)EVP_EncodeBlock(
			(unsigned char *)out->ptr + out->len,
			(const unsigned char *)data + i, (int)k);
	}
	if (out->ptr)
		out->ptr[out->len] = '\0';
}
