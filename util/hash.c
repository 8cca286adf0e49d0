#include "hash.h"
#include "buf.h"

#include <ctype.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static EVP_MD *sha256;
static pthread_key_t spare_key;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
spare_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void
sha256_fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	pthread_key_create(&spare_key, spare_free);
}

/*
 * SHA-256 is fetched once and each thread keeps one spare context: an
 * implicit fetch and a fresh context on every init cost more than hashing
 * a short string, and a render hashes thousands.
 */
void
md_hash_init(struct md_hash *h)
{
	EVP_MD_CTX *ctx;

	pthread_once(&sha256_once, sha256_fetch);
	if ((ctx = pthread_getspecific(spare_key)))
		pthread_setspecific(spare_key, NULL);
	else
		ctx = EVP_MD_CTX_new();
	if (!ctx || !sha256 || EVP_DigestInit_ex2(ctx, sha256, NULL) != 1) {
		fputs("mdrun: cannot initialise SHA-256\n", stderr);
		abort();
	}
	h->ctx = ctx;
	h->len = 0;
}

static void
flush(struct md_hash *h)
{
	if (h->len)
		EVP_DigestUpdate(h->ctx, h->buf, h->len);
	h->len = 0;
}

/* Small updates are gathered: each EVP_DigestUpdate has a fixed cost. */
void
md_hash_update(struct md_hash *h, const void *data, size_t n)
{
	if (n > sizeof(h->buf) - h->len) {
		flush(h);
		if (n >= sizeof(h->buf)) {
			EVP_DigestUpdate(h->ctx, data, n);
			return;
		}
	}
	if (n)
		memcpy(h->buf + h->len, data, n);
	h->len += n;
}

void
md_hash_field(struct md_hash *h, const char *tag, const void *data, size_t n)
{
	char num[24];
	size_t k = sizeof(num), v = n;

	/* "TAG LEN:" without printf, which costs more than the hashing. */
	num[--k] = ':';
	do
		num[--k] = (char)('0' + v % 10);
	while ((v /= 10) && k > 0);
	md_hash_update(h, tag, strlen(tag));
	md_hash_update(h, " ", 1);
	md_hash_update(h, num + k, sizeof(num) - k);
	md_hash_update(h, data, n);
	md_hash_update(h, "\n", 1);
}

void
md_hash_final(char out[MD_HASH_HEX], struct md_hash *h)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	flush(h);
	EVP_DigestFinal_ex(h->ctx, md, &n);
	if (pthread_getspecific(spare_key))
		EVP_MD_CTX_free(h->ctx);
	else
		pthread_setspecific(spare_key, h->ctx);
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
	if (out->cap)
		out->ptr[out->len] = '\0';
}

bool
md_base64_decode(struct md_buf *out, const char *s, size_t n)
{
	struct md_buf text = MD_BUF_INIT;
	size_t pad = 0, k;
	int got = -1;

	/* Line breaks and blanks between the characters are not data. */
	md_buf_grow(&text, n);
	for (k = 0; k < n; k++)
		if (!strchr(" \t\r\n", s[k]) || !s[k])
			text.ptr[text.len++] = s[k];
	s = text.ptr;
	n = text.len;
	if (n % 4 || n / 4 * 3 > (size_t)INT_MAX)
		goto done;
	for (k = 0; k < n; k++)
		if (!isalnum((unsigned char)s[k]) && s[k] != '+' &&
		    s[k] != '/' && !(s[k] == '=' && k + 2 >= n))
			goto done;
	while (pad < 2 && n > pad && s[n - 1 - pad] == '=')
		pad++;
	if (n >= 2 && s[n - 2] == '=' && s[n - 1] != '=')
		goto done;
	md_buf_grow(out, n / 4 * 3 + 1);
	got = EVP_DecodeBlock((unsigned char *)out->ptr + out->len,
			      (const unsigned char *)s, (int)n);
	if (got >= 0 && (size_t)got >= pad) {
		out->len += (size_t)got - pad;
		out->ptr[out->len] = '\0';
	}
done:
	md_buf_dispose(&text);
	return got >= 0 && (size_t)got >= pad;
}
