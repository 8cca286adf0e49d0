/*
 * Key tuples for the tests of the key serialization (test_plan.c and the
 * fuzz_key target): a tuple is a few fields, read from bytes, whose values
 * are plain strings or, for a field whose name starts with 'L', lists of
 * pairs as env=, inputs= and deps= give.
 *
 * kt_serialize builds the bytes a key hashes through the functions keys
 * use (md_key_pairs, store_key_bytes). kt_canonical writes what the tuple
 * means, independently: every string in hex, a list as its sorted set of
 * pairs. The property: two tuples serialize to the same bytes exactly
 * when their canonical forms are equal. kt_decode reads serialized bytes
 * back into the canonical form: an encoding with a left inverse is
 * injective.
 */
#ifndef KEY_TUPLE_H
#define KEY_TUPLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../mdrun/core/plan.h"
#include "../store/store.h"
#include "../util/buf.h"

#define KT_FIELDS 4
#define KT_PAIRS 4

struct kt_field {
	char *name;
	char *value; /* a plain field */
	struct md_key_pair pairs[KT_PAIRS]; /* a list field */
	size_t npairs;
};

struct kt_tuple {
	struct kt_field f[KT_FIELDS];
	size_t n;
};

/* Reads bytes one at a time; 0 once they are used up. */
struct kt_reader {
	const uint8_t *d;
	size_t n;
};

static uint8_t
kt_byte(struct kt_reader *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->d++;
}

/*
 * A short string over bytes that frame the serialization (digits, ':',
 * '=', '!', ' ', newline), so that a serialization that is not injective
 * shows up soon.
 */
static char *
kt_string(struct kt_reader *r)
{
	static const char alphabet[] = "ab1:=! \n";
	size_t len = kt_byte(r) % 5, i;
	char *s = malloc(len + 1);

	for (i = 0; i < len; i++)
		s[i] = alphabet[kt_byte(r) % (sizeof(alphabet) - 1)];
	s[len] = '\0';
	return s;
}

static void
kt_read(struct kt_tuple *t, struct kt_reader *r)
{
	static const char *const names[] = { "a", "b", "La", "Lb" };

	memset(t, 0, sizeof(*t));
	t->n = kt_byte(r) % (KT_FIELDS + 1);
	for (size_t i = 0; i < t->n; i++) {
		struct kt_field *f = &t->f[i];
		f->name = strdup(names[kt_byte(r) % 4]);
		if (f->name[0] != 'L') {
			f->value = kt_string(r);
			continue;
		}
		f->npairs = kt_byte(r) % (KT_PAIRS + 1);
		for (size_t j = 0; j < f->npairs; j++) {
			f->pairs[j].a = kt_string(r);
			f->pairs[j].b = kt_byte(r) % 3 ? kt_string(r) : NULL;
		}
	}
}

static void
kt_dispose(struct kt_tuple *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->f[i].name);
		free(t->f[i].value);
		for (size_t j = 0; j < t->f[i].npairs; j++) {
			free((char *)t->f[i].pairs[j].a);
			free((char *)t->f[i].pairs[j].b);
		}
	}
	memset(t, 0, sizeof(*t));
}

static void
kt_serialize(struct md_buf *out, struct kt_tuple *t)
{
	struct store_field fields[KT_FIELDS];
	struct md_buf lists[KT_FIELDS];

	for (size_t i = 0; i < t->n; i++) {
		struct kt_field *f = &t->f[i];
		struct md_key_pair copy[KT_PAIRS];

		lists[i] = (struct md_buf)MD_BUF_INIT;
		fields[i].name = f->name;
		fields[i].value = f->value;
		if (f->name[0] == 'L') {
			/* md_key_pairs reorders its pairs: not the tuple's. */
			memcpy(copy, f->pairs, sizeof(copy));
			md_key_pairs(&lists[i], copy, f->npairs);
			md_buf_put(&lists[i], "", 0);
			fields[i].value = lists[i].ptr;
		}
	}
	store_key_bytes(out, fields, t->n);
	for (size_t i = 0; i < t->n; i++)
		md_buf_dispose(&lists[i]);
	md_buf_put(out, "", 0);
}

static void
kt_hex(struct md_buf *out, const char *s)
{
	for (; *s; s++)
		md_buf_printf(out, "%02x", (unsigned char)*s);
}

static int
kt_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hex keeps the byte order, so sorting hex strings sorts the pairs. */
static void
kt_canonical(struct md_buf *out, const struct kt_tuple *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct kt_field *f = &t->f[i];
		char *items[KT_PAIRS];
		size_t j;

		md_buf_puts(out, f->name);
		md_buf_puts(out, "(");
		if (f->name[0] != 'L') {
			kt_hex(out, f->value);
			md_buf_puts(out, ")");
			continue;
		}
		for (j = 0; j < f->npairs; j++) {
			struct md_buf item = MD_BUF_INIT;
			kt_hex(&item, f->pairs[j].a);
			md_buf_puts(&item, ",");
			if (f->pairs[j].b)
				kt_hex(&item, f->pairs[j].b);
			else
				md_buf_puts(&item, "unset");
			md_buf_put(&item, "", 0);
			items[j] = md_buf_detach(&item);
		}
		qsort(items, f->npairs, sizeof(*items), kt_strcmp);
		for (j = 0; j < f->npairs; j++) {
			if (j == 0 || strcmp(items[j], items[j - 1])) {
				md_buf_puts(out, items[j]);
				md_buf_puts(out, ";");
			}
		}
		for (j = 0; j < f->npairs; j++)
			free(items[j]);
		md_buf_puts(out, ")");
	}
	md_buf_put(out, "", 0);
}

/* Reads "LEN:" and LEN bytes at *p (before end) into a new string. */
static char *
kt_item(const char **p, const char *end)
{
	size_t len = 0;
	const char *c = *p;
	char *s;

	if (c >= end || *c < '0' || *c > '9')
		return NULL;
	for (; c < end && *c >= '0' && *c <= '9'; c++) {
		if (len > (size_t)(end - c))
			return NULL;
		len = len * 10 + (size_t)(*c - '0');
	}
	if (c >= end || *c != ':' || len > (size_t)(end - c - 1))
		return NULL;
	c++;
	s = malloc(len + 1);
	memcpy(s, c, len);
	s[len] = '\0';
	*p = c + len;
	return s;
}

/*
 * Reads serialized bytes back into a tuple: false when they are not a
 * serialization, or hold more than a tuple can.
 */
static bool
kt_decode(struct kt_tuple *t, const char *p, size_t n)
{
	const char *end = p + n;

	memset(t, 0, sizeof(*t));
	while (p < end) {
		struct kt_field *f = &t->f[t->n];
		const char *v, *vend;
		char *value;

		if (t->n == KT_FIELDS || !(f->name = kt_item(&p, end)))
			return false;
		t->n++;
		if (p >= end || *p++ != ' ' || !(value = kt_item(&p, end)))
			return false;
		if (p >= end || *p++ != '\n') {
			free(value);
			return false;
		}
		if (f->name[0] != 'L') {
			f->value = value;
			continue;
		}
		for (v = value, vend = value + strlen(value); v < vend;) {
			struct md_key_pair *q = &f->pairs[f->npairs];
			char *a;

			if (f->npairs == KT_PAIRS || !(a = kt_item(&v, vend)))
				break;
			q->a = a;
			f->npairs++;
			if (v < vend && *v == '!') {
				v++;
			} else if (v >= vend || *v++ != '=' ||
				   !(q->b = kt_item(&v, vend))) {
				break;
			}
		}
		bool whole = v == vend;
		free(value);
		if (!whole)
			return false;
	}
	return true;
}

#endif
