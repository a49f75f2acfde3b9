/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <tern_crc32c.h>
#include <tern_errno.h>
#include <tern_heap.h>

#include "tern_vlsn_index.h"
#include "log_internal.h"

#define IDX_MAGIC "TERNVIX"
#define IDX_VERSION 1
#define IDX_TMP TERN_VLSN_INDEX_FILE ".tmp"

struct idx_hdr {
	char magic[8];
	uint32_t version;
	uint32_t stride;
	uint64_t first;
	uint64_t last;
	uint64_t n;
	uint64_t ckpt_lsn;
	uint64_t end_lsn;
	uint64_t last_term;
	uint32_t crc; /* over the header with crc = 0, then the map */
	uint32_t pad;
};
static_assert(sizeof(struct idx_hdr) == 72, "index header layout");

int
tern_vlsn_index_init(struct tern_vlsn_index *idx, uint32_t stride)
{
	if (stride == 0)
		return -EINVAL;
	memset(idx, 0, sizeof(*idx));
	idx->stride = stride;
	return 0;
}

void
tern_vlsn_index_fini(struct tern_vlsn_index *idx)
{
	if (idx == NULL)
		return;
	tern_free(idx->map);
	idx->map = NULL;
	idx->n = idx->cap = 0;
	idx->first = idx->last = 0;
}

static int
reserve(struct tern_vlsn_index *idx, uint64_t want)
{
	struct tern_vlsn_map *m;
	uint64_t cap = idx->cap != 0 ? idx->cap : 256;

	if (want <= idx->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	m = tern_calloc(cap, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	if (idx->n > 0)
		memcpy(m, idx->map, idx->n * sizeof(*m));
	tern_free(idx->map);
	idx->map = m;
	idx->cap = cap;
	return 0;
}

int
tern_vlsn_index_add(struct tern_vlsn_index *idx, uint64_t vlsn, uint64_t lsn)
{
	int rc;

	if (vlsn == 0 || (idx->last != 0 && vlsn != idx->last + 1))
		return -TERN_EVLSN;
	if (idx->last == 0)
		idx->first = vlsn;
	if ((vlsn - idx->first) % idx->stride == 0) {
		rc = reserve(idx, idx->n + 1);
		if (rc != 0) {
			if (idx->n == 0)
				idx->first = 0;
			return rc;
		}
		idx->map[idx->n].vlsn = vlsn;
		idx->map[idx->n].lsn = lsn;
		idx->n++;
	}
	idx->last = vlsn;
	return 0;
}

int
tern_vlsn_index_lookup(const struct tern_vlsn_index *idx, uint64_t vlsn, uint64_t *base_vlsn,
		       uint64_t *lsn)
{
	uint64_t k;

	if (idx->n == 0 || vlsn < idx->first || vlsn > idx->last)
		return -ENOENT;
	/* Kept VLSNs are first + k * stride: the slot is arithmetic, no search needed. */
	k = (vlsn - idx->first) / idx->stride;
	if (TERN_NEVER(k >= idx->n))
		return -ENOENT;
	*base_vlsn = idx->map[k].vlsn;
	*lsn = idx->map[k].lsn;
	return 0;
}

void
tern_vlsn_index_truncate_after(struct tern_vlsn_index *idx, uint64_t vlsn)
{
	if (idx->n == 0 || vlsn >= idx->last)
		return;
	if (vlsn < idx->first) {
		idx->n = 0;
		idx->first = idx->last = 0;
		return;
	}
	idx->n = (vlsn - idx->first) / idx->stride + 1;
	idx->last = vlsn;
}

int
tern_vlsn_index_save(const struct tern_vlsn_index *idx, struct tern_io *io,
		     const struct tern_vlsn_index_meta *meta)
{
	struct idx_hdr h;
	size_t map_bytes = idx->n * sizeof(idx->map[0]);
	int fh, rc;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IDX_MAGIC, sizeof(h.magic));
	h.version = IDX_VERSION;
	h.stride = idx->stride;
	h.first = idx->first;
	h.last = idx->last;
	h.n = idx->n;
	h.ckpt_lsn = meta->ckpt_lsn;
	h.end_lsn = meta->end_lsn;
	h.last_term = meta->last_term;
	h.crc = tern_crc32c(&h, sizeof(h));
	if (map_bytes > 0)
		h.crc = tern_crc32c_extend(h.crc, idx->map, map_bytes);

	rc = tern_io_open(io, IDX_TMP, TERN_IO_CREATE, &fh);
	if (rc != 0)
		return rc;
	rc = tern_io_truncate(io, fh, 0);
	if (rc == 0)
		rc = tern_io_write(io, fh, &h, sizeof(h), 0);
	if (rc == 0 && map_bytes > 0)
		rc = tern_io_write(io, fh, idx->map, map_bytes, sizeof(h));
	if (rc == 0)
		rc = tern_io_sync(io, fh);
	tern_io_close(io, fh);
	if (rc == 0)
		rc = tern_io_rename(io, IDX_TMP, TERN_VLSN_INDEX_FILE);
	if (rc != 0)
		LOG_DIAG(ERR, "saving %s failed: %s", TERN_VLSN_INDEX_FILE, tern_strerror(rc));
	return rc;
}

int
tern_vlsn_index_load(struct tern_vlsn_index *idx, struct tern_io *io,
		     struct tern_vlsn_index_meta *meta)
{
	struct idx_hdr h;
	uint64_t size, i;
	uint32_t crc;
	ssize_t got;
	int fh, rc;

	rc = tern_io_open(io, TERN_VLSN_INDEX_FILE, TERN_IO_RDONLY, &fh);
	if (rc != 0)
		return rc;
	rc = tern_io_size(io, fh, &size);
	if (rc != 0)
		goto out;
	got = tern_io_read(io, fh, &h, sizeof(h), 0);
	if (got != (ssize_t)sizeof(h) || memcmp(h.magic, IDX_MAGIC, sizeof(h.magic)) != 0) {
		rc = got < 0 ? (int)got : -TERN_ECORRUPT;
		goto out;
	}
	if (h.version != IDX_VERSION) {
		rc = -TERN_EFORMAT;
		goto out;
	}
	if (h.stride == 0 || h.n > (size - sizeof(h)) / sizeof(idx->map[0]) ||
	    size != sizeof(h) + h.n * sizeof(idx->map[0])) {
		rc = -TERN_ECORRUPT;
		goto out;
	}
	rc = reserve(idx, h.n);
	if (rc != 0)
		goto out;
	got = h.n == 0 ? 0 : tern_io_read(io, fh, idx->map, h.n * sizeof(idx->map[0]), sizeof(h));
	if (got != (ssize_t)(h.n * sizeof(idx->map[0]))) {
		rc = got < 0 ? (int)got : -TERN_ECORRUPT;
		goto fail;
	}
	crc = h.crc;
	h.crc = 0;
	h.crc = tern_crc32c(&h, sizeof(h));
	if (h.n > 0)
		h.crc = tern_crc32c_extend(h.crc, idx->map, h.n * sizeof(idx->map[0]));
	if (crc != h.crc) {
		rc = -TERN_ECORRUPT;
		goto fail;
	}
	/* The content must be what add() would have built. */
	if ((h.n == 0) != (h.first == 0) || (h.n > 0 && (h.last < h.first ||
	    (h.last - h.first) / h.stride + 1 != h.n))) {
		rc = -TERN_ECORRUPT;
		goto fail;
	}
	for (i = 0; i < h.n; i++) {
		if (idx->map[i].vlsn != h.first + i * h.stride ||
		    (i > 0 && idx->map[i].lsn <= idx->map[i - 1].lsn)) {
			rc = -TERN_ECORRUPT;
			goto fail;
		}
	}
	idx->n = h.n;
	idx->stride = h.stride;
	idx->first = h.first;
	idx->last = h.last;
	meta->ckpt_lsn = h.ckpt_lsn;
	meta->end_lsn = h.end_lsn;
	meta->last_term = h.last_term;
	rc = 0;
	goto out;
fail:
	idx->n = 0;
	idx->first = idx->last = 0;
out:
	tern_io_close(io, fh);
	return rc;
}
