/*
 * The key serialization: two different field tuples never give the same
 * bytes, and equal ones (lists in another order or with repeats) always
 * do.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key_tuple.h"

struct sample {
	char *bytes; /* kt_serialize */
	size_t len;
	char *meaning; /* kt_canonical */
};

static int
by_bytes(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->bytes, y->bytes, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int
by_meaning(const void *a, const void *b)
{
	return strcmp(((const struct sample *)a)->meaning,
		      ((const struct sample *)b)->meaning);
}

/* Do the bytes read back (kt_decode) to the tuple they came from? */
static bool
reads_back(const char *bytes, size_t len, const char *meaning)
{
	struct kt_tuple back;
	struct md_buf m = MD_BUF_INIT;
	bool ok = kt_decode(&back, bytes, len);

	if (ok) {
		kt_canonical(&m, &back);
		ok = !strcmp(m.ptr, meaning);
	}
	kt_dispose(&back);
	md_buf_dispose(&m);
	return ok;
}

/* A linear congruential generator: the same tuples on every run. */
static uint64_t seed = 0x6d6472756e;

static uint8_t
next_byte(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint8_t)(seed >> 56);
}

Test(key, different_tuples_never_share_bytes)
{
	enum { N = 60000 };
	struct sample *s = calloc(N, sizeof(*s));
	size_t i, collisions = 0, merged = 0, unreadable = 0;

	for (i = 0; i < N; i++) {
		uint8_t raw[64];
		struct kt_reader r = { raw, sizeof(raw) };
		struct kt_tuple t;
		struct md_buf b = MD_BUF_INIT, m = MD_BUF_INIT;

		for (size_t j = 0; j < sizeof(raw); j++)
			raw[j] = next_byte();
		kt_read(&t, &r);
		kt_serialize(&b, &t);
		kt_canonical(&m, &t);
		if (!reads_back(b.ptr, b.len, m.ptr))
			unreadable++;
		s[i].len = b.len;
		s[i].bytes = md_buf_detach(&b);
		s[i].meaning = md_buf_detach(&m);
		kt_dispose(&t);
	}
	/* Equal bytes: equal meaning. */
	qsort(s, N, sizeof(*s), by_bytes);
	for (i = 1; i < N; i++) {
		if (by_bytes(&s[i - 1], &s[i]))
			continue;
		merged++;
		if (strcmp(s[i - 1].meaning, s[i].meaning)) {
			collisions++;
			cr_log_error("one serialization for %s and %s",
				     s[i - 1].meaning, s[i].meaning);
		}
	}
	cr_expect_eq(unreadable, 0, "%zu serializations do not read back",
		     unreadable);
	cr_expect_eq(collisions, 0, "%zu tuples share bytes", collisions);
	/* Equal meaning: equal bytes; and the sample has such pairs. */
	qsort(s, N, sizeof(*s), by_meaning);
	for (i = 1; i < N; i++)
		if (!strcmp(s[i - 1].meaning, s[i].meaning))
			cr_expect(by_bytes(&s[i - 1], &s[i]) == 0,
				  "%s serialized two ways", s[i].meaning);
	cr_expect_gt(merged, 100, "the sample should hold equal tuples");
	for (i = 0; i < N; i++) {
		free(s[i].bytes);
		free(s[i].meaning);
	}
	free(s);
}

/* The bytes of an env field of the given pairs. */
static char *
env_field(struct md_key_pair *p, size_t n)
{
	struct md_buf b = MD_BUF_INIT;

	md_key_pairs(&b, p, n);
	return md_buf_detach(&b);
}

Test(key, a_value_with_a_newline_cannot_spell_another_variable)
{
	struct md_key_pair one[] = { { "A", "x\nB=y" }, { "B", NULL } };
	struct md_key_pair two[] = { { "A", "x" }, { "B", "y" } };
	char *a = env_field(one, 2), *b = env_field(two, 2);

	cr_expect_str_neq(a, b);
	free(a);
	free(b);
}

Test(key, list_order_and_repeats_do_not_count)
{
	struct md_key_pair one[] = { { "b", "2" }, { "a", "1" }, { "b", "2" } };
	struct md_key_pair two[] = { { "a", "1" }, { "b", "2" } };
	char *a = env_field(one, 3), *b = env_field(two, 2);

	cr_expect_str_eq(a, b);
	free(a);
	free(b);
}

Test(key, an_unset_variable_differs_from_an_empty_one)
{
	struct md_key_pair one[] = { { "A", NULL } };
	struct md_key_pair two[] = { { "A", "" } };
	char *a = env_field(one, 1), *b = env_field(two, 1);

	cr_expect_str_neq(a, b);
	free(a);
	free(b);
}

Test(key, names_and_values_are_framed)
{
	struct store_field one[] = { { "a", "1 b" } };
	struct store_field two[] = { { "a", "1" }, { "b", "" } };
	char k1[MD_HASH_HEX], k2[MD_HASH_HEX];

	store_key(k1, one, 1);
	store_key(k2, two, 2);
	cr_expect_str_neq(k1, k2);
}
