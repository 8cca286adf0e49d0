/*
 * A document's snapshot: what the read-ahead of its last render found
 * (store_prefetch), kept as one row, so that a warm render reads one row
 * rather than two lookups a block, wherever the store's B-trees put them.
 *
 * It holds, for each key the render used, the key's runs and the row of
 * its latest run (the one a warm render shows), as the store held them
 * when it was read, and that moment's generation: a counter every
 * transaction that adds or removes a run or a realization increments
 * (store_bump). A snapshot is used only while the counter still says
 * its number, so it never says other than a lookup would.
 *
 * The bytes, all integers little-endian:
 *
 *   "mdrunsnap1\n"   magic (11 bytes)
 *   u32              number of entries, in key order
 *   entry:           key (64 hex), u32 number of runs, the runs,
 *                    u8 1 when the latest run's row follows, else 0
 *   run:             rhash (64 hex), u64 seq, i64 ns, u64 cut,
 *                    u8 flags (1 failed, 2 reads, 4 writes)
 *   row:             u8 flags (1 files, 2 timed out), i32 exit code,
 *                    i32 signal, f64 start, f64 end, u64 cut, then
 *                    stdout, stderr, outputs, reads, writes, each a u32
 *                    length and its bytes
 *
 * The database may have been crafted: a snapshot that does not parse
 * whole is not used (the lookups run), never trusted in part.
 */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char magic[] = "mdrunsnap1\n";
#define MAGIC_LEN (sizeof(magic) - 1)
#define KEY_LEN (MD_HASH_HEX - 1)

static void
put_u64(struct md_buf *b, uint64_t v)
{
	unsigned char x[8];

	for (int i = 0; i < 8; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	md_buf_put(b, x, 8);
}

static void
put_u32(struct md_buf *b, uint32_t v)
{
	unsigned char x[4];

	for (int i = 0; i < 4; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	md_buf_put(b, x, 4);
}

static void
put_f64(struct md_buf *b, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	put_u64(b, v);
}

static void
put_bytes(struct md_buf *b, const struct md_buf *v)
{
	put_u32(b, (uint32_t)v->len);
	md_buf_put(b, v->ptr ? v->ptr : "", v->len);
}

/* Whether a row fits a snapshot: each of its parts under 4 GiB. */
static bool
fits(const struct store_real *r)
{
	const struct md_buf *parts[] = { &r->out, &r->err, &r->outs,
					 &r->reads, &r->writes };

	for (size_t i = 0; i < sizeof(parts) / sizeof(*parts); i++)
		if (parts[i]->len > UINT32_MAX)
			return false;
	return true;
}

void
store_snap_encode(struct md_buf *out, const struct store_entry *v, size_t n,
		  size_t row_max)
{
	md_buf_clear(out);
	md_buf_put(out, magic, MAGIC_LEN);
	put_u32(out, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct store_entry *e = &v[i];
		const struct store_real *r = e->res;
		size_t size = r ? r->out.len + r->err.len + r->outs.len +
					  r->reads.len + r->writes.len
				: 0;

		md_buf_put(out, e->key, KEY_LEN);
		put_u32(out, (uint32_t)e->n);
		for (size_t k = 0; k < e->n; k++) {
			const struct store_run *run = &e->runs[k];
			md_buf_put(out, run->rhash, KEY_LEN);
			put_u64(out, run->seq);
			put_u64(out, (uint64_t)run->ns);
			put_u64(out, run->cut);
			md_buf_putc(out, (char)((run->failed ? 1 : 0) |
						(run->reads ? 2 : 0) |
						(run->writes ? 4 : 0)));
		}
		/* A big row is read when it is shown, as without a snapshot. */
		if (!r || size > row_max || !fits(r)) {
			md_buf_putc(out, 0);
			continue;
		}
		md_buf_putc(out, 1);
		md_buf_putc(out, (char)((r->files ? 1 : 0) |
					(r->exit.timed_out ? 2 : 0)));
		put_u32(out, (uint32_t)r->exit.code);
		put_u32(out, (uint32_t)r->exit.signal);
		put_f64(out, r->start);
		put_f64(out, r->end);
		put_u64(out, r->cut);
		put_bytes(out, &r->out);
		put_bytes(out, &r->err);
		put_bytes(out, &r->outs);
		put_bytes(out, &r->reads);
		put_bytes(out, &r->writes);
	}
}

/* A reader of the bytes that fails, once, at their end. */
struct reader {
	const unsigned char *p, *end;
	bool bad;
};

static const unsigned char *
take(struct reader *rd, size_t n)
{
	const unsigned char *p = rd->p;

	if (rd->bad || (size_t)(rd->end - rd->p) < n) {
		rd->bad = true;
		return NULL;
	}
	rd->p += n;
	return p;
}

static uint64_t
get_u64(struct reader *rd)
{
	const unsigned char *x = take(rd, 8);
	uint64_t v = 0;

	for (int i = 0; x && i < 8; i++)
		v |= (uint64_t)x[i] << (8 * i);
	return v;
}

static uint32_t
get_u32(struct reader *rd)
{
	const unsigned char *x = take(rd, 4);
	uint32_t v = 0;

	for (int i = 0; x && i < 4; i++)
		v |= (uint32_t)x[i] << (8 * i);
	return v;
}

static unsigned
get_u8(struct reader *rd)
{
	const unsigned char *x = take(rd, 1);

	return x ? *x : 0;
}

static double
get_f64(struct reader *rd)
{
	uint64_t v = get_u64(rd);
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

static void
get_hash(struct reader *rd, char out[MD_HASH_HEX])
{
	const unsigned char *x = take(rd, KEY_LEN);

	out[0] = '\0';
	if (!x)
		return;
	memcpy(out, x, KEY_LEN);
	out[KEY_LEN] = '\0';
	if (!store_is_hash(out))
		rd->bad = true;
}

static void
get_bytes(struct reader *rd, struct md_buf *out)
{
	uint32_t n = get_u32(rd);
	const unsigned char *x = take(rd, n);

	if (x)
		md_buf_put(out, x, n);
}

static struct store_real *
get_row(struct reader *rd, const char *rhash)
{
	struct store_real *r = md_calloc(1, sizeof(*r));
	unsigned flags = get_u8(rd);
	uint64_t cut;

	memcpy(r->rhash, rhash, MD_HASH_HEX);
	r->files = flags & 1;
	r->exit.timed_out = (flags & 2) != 0;
	r->exit.code = (int)get_u32(rd);
	r->exit.signal = (int)get_u32(rd);
	r->start = get_f64(rd);
	r->end = get_f64(rd);
	cut = get_u64(rd);
	/* What result_row accepts of a database row, no more. */
	if ((flags & ~3u) || !isfinite(r->start) || !isfinite(r->end) ||
	    cut > (1ULL << 50))
		rd->bad = true;
	r->cut = (size_t)cut;
	get_bytes(rd, &r->out);
	get_bytes(rd, &r->err);
	get_bytes(rd, &r->outs);
	get_bytes(rd, &r->reads);
	get_bytes(rd, &r->writes);
	return r;
}

static bool
get_entry(struct reader *rd, struct store_entry *e)
{
	uint32_t n;

	get_hash(rd, e->key);
	n = get_u32(rd);
	/* Each run takes 89 bytes: a count beyond what is left is a lie. */
	if (rd->bad || n > (size_t)(rd->end - rd->p) / 89)
		return false;
	e->runs = md_calloc(n ? n : 1, sizeof(*e->runs));
	for (uint32_t k = 0; k < n && !rd->bad; k++) {
		struct store_run *run = &e->runs[k];
		unsigned flags;

		get_hash(rd, run->rhash);
		run->seq = get_u64(rd);
		run->ns = (long long)get_u64(rd);
		run->cut = (size_t)get_u64(rd);
		flags = get_u8(rd);
		run->failed = flags & 1;
		run->reads = (flags & 2) != 0;
		run->writes = (flags & 4) != 0;
		if (run->seq == 0 || (flags & ~7u) ||
		    (k && run->seq <= e->runs[k - 1].seq))
			rd->bad = true;
		e->n = k + 1;
	}
	switch (get_u8(rd)) {
	case 0:
		break;
	case 1:
		if (!n)
			rd->bad = true;
		else
			e->res = get_row(rd, e->runs[n - 1].rhash);
		break;
	default:
		rd->bad = true;
	}
	return !rd->bad;
}

void
store_entries_free(struct store_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].runs);
		if (v[i].res)
			store_real_dispose(v[i].res);
		free(v[i].res);
	}
	free(v);
}

int
store_snap_decode(struct store_entry **out, size_t *n, const void *data,
		  size_t len)
{
	struct reader rd = { data, (const unsigned char *)data + len, false };
	const unsigned char *m = take(&rd, MAGIC_LEN);
	struct store_entry *v = NULL;
	uint32_t count, i;

	*out = NULL;
	*n = 0;
	if (!m || memcmp(m, magic, MAGIC_LEN))
		return -1;
	count = get_u32(&rd);
	/* An entry takes at least 69 bytes. */
	if (rd.bad || count > (size_t)(rd.end - rd.p) / 69)
		return -1;
	v = md_calloc(count ? count : 1, sizeof(*v));
	for (i = 0; i < count; i++) {
		if (!get_entry(&rd, &v[i]) ||
		    (i && strcmp(v[i - 1].key, v[i].key) >= 0)) {
			store_entries_free(v, i + 1);
			return -1;
		}
	}
	if (rd.p != rd.end) {
		store_entries_free(v, count);
		return -1;
	}
	*out = v;
	*n = count;
	return 0;
}
