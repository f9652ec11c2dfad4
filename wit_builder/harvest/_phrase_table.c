/*
 * _phrase_table: find every query in a caption on word boundaries, in one native pass.
 *
 * Why this exists: the harvest matcher's rule ("q occurs in the text on word boundaries") is the
 * same as "q's units are consecutive units of the text, with the same characters between them"
 * (wit_builder.text.tokens: a unit is a token or any other single non-whitespace character, so
 * "u.s" is u . s and "C++" is C + +). Doing that in Python costs a regex tokenisation plus an
 * Aho-Corasick pass over a rebuilt string, which is slower than MetaCLIP's plain automaton pass.
 * Here the caption is cut into units once, in C, under exactly the rule of tokens.py, and every
 * run of consecutive units is looked up in a hash table that holds each query and each of its
 * unit prefixes, so the walk from a start unit stops at the first sequence no query begins with.
 * Punctuated queries ("u.s", "AC/DC", "24/7", emoji) live in the same table and cost nothing on
 * a caption that does not hold their first units.
 *
 * The pure-Python PhraseTable in matcher.py is the reference; the tests check that both give
 * the same answers on random Unicode text.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL
#define SEQUENCE_SEED 0x243F6A8885A308D3ULL

/* One hash-table slot: a query or a unit prefix of one, as code points in the pool, stored at
 * the width of the key's own str (1, 2 or 4 bytes a code point: a Latin-1 key in a quarter of
 * the bytes, so the pool of an English list stays in cache beside the table). 16 bytes,
 * four to a cache line: the table of a 500,000-query list is 16 MB and stays in a server's last
 * level cache, where 24-byte slots at a quarter full took 48 MB and missed on most lookups. */
typedef struct {
    uint32_t tag;    /* the sequence hash's upper half; its lower bits chose the slot */
    uint32_t offset; /* first byte in the pool */
    uint32_t shape;  /* code points (low 30 bits) and log2 of their width (top 2); 0: empty */
    int32_t value;   /* index into values, or -1 for a prefix that is no query itself */
} Entry;

static inline uint32_t tag_of(uint64_t hash) { return (uint32_t)(hash >> 32); }

#define MAX_LENGTH ((1u << 30) - 1)
static inline uint32_t shape_of(uint32_t length, int width) { return length | (uint32_t)(width >> 1) << 30; }
static inline uint32_t length_of(uint32_t shape) { return shape & MAX_LENGTH; }
static inline int width_of(uint32_t shape) { return 1 << (shape >> 30); }

/* A unit of the text (a token, or one other non-whitespace character): where it is, its own
 * hash, and whether whitespace comes between it and the unit before. */
typedef struct {
    Py_ssize_t start;
    Py_ssize_t end;
    uint64_t hash;
    int spaced;
} Token;

typedef struct {
    PyObject_HEAD
    Entry *slots;
    uint64_t mask;
    unsigned char *pool;
    PyObject *values; /* list, one per key */
    uint32_t *seen;   /* per value: the call stamp that last reported it */
    uint32_t stamp;
    int32_t *hits; /* scratch: the values one find reports, in order, before the list is made */
    Py_ssize_t hits_capacity;
    Token *tokens; /* scratch, grown as needed */
    Py_ssize_t tokens_capacity;
    Py_ssize_t entries;
} PhraseTable;

/* ASCII fast path for str.isalnum and str.isspace, which the regex [^\W_] and \s use. */
static unsigned char ascii_alnum[128];
static unsigned char ascii_space[128];

static inline int is_alnum(Py_UCS4 c) { return c < 128 ? ascii_alnum[c] : Py_UNICODE_ISALNUM(c); }

/* Combining marks (Unicode category M), bit c of wit_builder.text.tokens.MARK_BITMAP, read at
 * import so that both sides use this Python's Unicode tables. No mark is below U+0300. */
static unsigned char *mark_bitmap;
static Py_ssize_t mark_bitmap_bits;

static inline int is_mark(Py_UCS4 c) {
    return c >= 0x300 && (Py_ssize_t)c < mark_bitmap_bits && (mark_bitmap[c >> 3] >> (c & 7)) & 1;
}
/* What a token goes on with after its first letter or digit. */
static inline int is_word(Py_UCS4 c) { return c < 128 ? ascii_alnum[c] : Py_UNICODE_ISALNUM(c) || is_mark(c); }
static inline int is_space(Py_UCS4 c) { return c < 128 ? ascii_space[c] : Py_UNICODE_ISSPACE(c); }
static inline int is_joiner(Py_UCS4 c) { return c == '\'' || c == 0x2019 || c == '-'; }

/* Mixed into a unit's hash when whitespace comes before it, so "a.b" and "a . b" differ. */
#define SPACED_MARK 0x632BE59BD9B4E019ULL

static inline uint64_t extend_hash(uint64_t sequence, uint64_t token) {
    sequence ^= token + 0x9E3779B97F4A7C15ULL + (sequence << 6) + (sequence >> 2);
    sequence *= 0xFF51AFD7ED558CCDULL;
    return sequence ^ (sequence >> 32);
}

/*
 * Units of text[0:n]: tokens under wit_builder.text.tokens.TOKEN (a letter or digit, then letters,
 * digits and combining marks, in which a single ' or ’ or - may join two such runs) and, when `with_marks` is set, every other
 * non-whitespace character as a unit of its own. `out` must hold n + 1 units.
 */
static Py_ssize_t tokenize(int kind, const void *data, Py_ssize_t n, Token *out, int with_marks) {
    Py_ssize_t count = 0, p = 0;
    int spaced = 0;
    while (p < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, p);
        if (is_alnum(c)) {
            Py_ssize_t start = p;
            uint64_t hash = FNV_OFFSET;
            for (;;) {
                while (p < n && is_word(c = PyUnicode_READ(kind, data, p))) {
                    hash = (hash ^ c) * FNV_PRIME;
                    p++;
                }
                if (p + 1 < n && is_joiner(c) && is_alnum(PyUnicode_READ(kind, data, p + 1))) {
                    hash = (hash ^ c) * FNV_PRIME;
                    p++;
                    continue;
                }
                break;
            }
            out[count++] = (Token){start, p, hash, spaced};
            spaced = 0;
        } else if (is_space(c)) {
            spaced = 1;
            p++;
        } else {
            if (with_marks) {
                out[count++] = (Token){p, p + 1, (FNV_OFFSET ^ c) * FNV_PRIME, spaced};
            }
            spaced = 0;
            p++;
        }
    }
    return count;
}

/* Grows a scratch array to hold at least `need` items of `item` bytes (contents kept). */
static int reserve(void **array, Py_ssize_t *capacity, Py_ssize_t need, size_t item) {
    if (need <= *capacity) return 0;
    void *grown = PyMem_Realloc(*array, (size_t)need * item);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *array = grown;
    *capacity = need;
    return 0;
}

static int ensure_tokens(PhraseTable *self, Py_ssize_t n) {
    return reserve((void **)&self->tokens, &self->tokens_capacity, n + 1, sizeof(Token));
}

/* Whether `length` code points of width `width` at `key` are those of width `kind` at `text`. */
static inline int same_code_points(const unsigned char *key, int width, const void *text, int kind, uint32_t length) {
    if (width == kind) return memcmp(key, text, (size_t)length * (size_t)kind) == 0;
    for (uint32_t p = 0; p < length; p++) {
        if (PyUnicode_READ(width, key, p) != PyUnicode_READ(kind, text, p)) return 0;
    }
    return 1;
}

/* Whether the entry's code points are text[start:start + its length]. */
static inline int entry_is_text(const PhraseTable *self, const Entry *entry, int kind, const void *data,
                                Py_ssize_t start) {
    return same_code_points(self->pool + entry->offset, width_of(entry->shape), (const char *)data + start * kind,
                            kind, length_of(entry->shape));
}

/* The hash of a unit sequence with one more unit: whitespace before it counts, except first. */
static inline uint64_t extend_units(uint64_t sequence, const Token *unit, int first) {
    return extend_hash(sequence, unit->hash + (!first && unit->spaced ? SPACED_MARK : 0));
}

#define PREFETCH_AHEAD 4

static int grow_hits(PhraseTable *self) {
    Py_ssize_t need = self->hits_capacity ? self->hits_capacity * 2 : 64;
    return reserve((void **)&self->hits, &self->hits_capacity, need, sizeof(int32_t));
}

/* Ask for the slots a walk from unit i will read first: the unit alone and, when there is a
 * next unit, the two together. Only a hint to the cache: what is found does not change. */
static inline void prefetch_start(const PhraseTable *self, const Token *tokens, Py_ssize_t count, Py_ssize_t i) {
    uint64_t first = extend_units(SEQUENCE_SEED, &tokens[i], 1);
    __builtin_prefetch(&self->slots[first & self->mask]);
    if (i + 1 < count) __builtin_prefetch(&self->slots[extend_units(first, &tokens[i + 1], 0) & self->mask]);
}

/* Memory for the table and the pool, in 2 MB pages where the kernel gives them on request
 * (transparent huge pages, "madvise"): a lookup's random access then costs no page-table walk. */
#define HUGE_PAGE ((size_t)2 << 20)

static void *table_alloc(size_t bytes, int zeroed) {
    if (bytes == 0) bytes = 1;
    void *memory = NULL;
    if (bytes >= HUGE_PAGE) {
        size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        if (posix_memalign(&memory, HUGE_PAGE, rounded) != 0) return NULL;
#ifdef MADV_HUGEPAGE
        madvise(memory, rounded, MADV_HUGEPAGE);
#endif
    } else {
        memory = malloc(bytes);
        if (memory == NULL) return NULL;
    }
    if (zeroed) memset(memory, 0, bytes);
    return memory;
}

static void PhraseTable_dealloc(PhraseTable *self) {
    free(self->slots);
    free(self->pool);
    PyMem_Free(self->seen);
    PyMem_Free(self->hits);
    PyMem_Free(self->tokens);
    Py_XDECREF(self->values);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Add the prefix of `length` code points of width `width` at pool[offset] (a key or a unit
 * prefix of one); returns its slot. `hashes` keeps each slot's whole hash while the table is
 * built, to move the slots later. */
static Entry *insert_prefix(PhraseTable *self, uint64_t *hashes, uint64_t hash, uint32_t offset, uint32_t length,
                            int width) {
    uint64_t index = hash & self->mask;
    for (;;) {
        Entry *slot = &self->slots[index];
        if (slot->shape == 0) {
            *slot = (Entry){tag_of(hash), offset, shape_of(length, width), -1};
            hashes[index] = hash;
            self->entries++;
            return slot;
        }
        if (hashes[index] == hash && length_of(slot->shape) == length &&
            same_code_points(self->pool + slot->offset, width_of(slot->shape), self->pool + offset, width, length)) {
            return slot;
        }
        index = (index + 1) & self->mask;
    }
}

/* The slots moved into a table of the least power of two at most half full: the build sized it
 * for every unit of every key, but most keys share their prefixes (a pair's first word is a
 * query itself), so it ends far emptier than that. */
static int shrink_table(PhraseTable *self, const uint64_t *hashes) {
    uint64_t capacity = 16;
    while (capacity < (uint64_t)self->entries * 2) capacity <<= 1;
    if (capacity >= self->mask + 1) return 0;
    Entry *slots = table_alloc(capacity * sizeof(Entry), 1);
    if (slots == NULL) return -1;
    for (uint64_t old = 0; old <= self->mask; old++) {
        if (self->slots[old].shape == 0) continue;
        uint64_t index = hashes[old] & (capacity - 1);
        while (slots[index].shape != 0) index = (index + 1) & (capacity - 1);
        slots[index] = self->slots[old];
    }
    free(self->slots);
    self->slots = slots;
    self->mask = capacity - 1;
    return 0;
}

static int PhraseTable_init(PhraseTable *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"keys", "values", NULL};
    PyObject *keys_arg, *values_arg;
    uint64_t *hashes = NULL; /* each slot's whole hash, while building */
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO", keywords, &keys_arg, &values_arg)) return -1;
    if (self->values != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "PhraseTable is already built");
        return -1;
    }
    PyObject *keys = PySequence_Fast(keys_arg, "keys must be a sequence of str");
    if (keys == NULL) return -1;
    PyObject *values = PySequence_List(values_arg);
    if (values == NULL) {
        Py_DECREF(keys);
        return -1;
    }
    Py_ssize_t n_keys = PySequence_Fast_GET_SIZE(keys);
    if (PyList_GET_SIZE(values) != n_keys) {
        PyErr_SetString(PyExc_ValueError, "keys and values differ in length");
        goto fail;
    }
    /* Sizes first: code points for the pool, then entries (one per unit of each key). */
    Py_ssize_t pool_size = 0, max_entries = 0, longest = 0;
    for (Py_ssize_t k = 0; k < n_keys; k++) {
        PyObject *key = PySequence_Fast_GET_ITEM(keys, k);
        if (!PyUnicode_Check(key)) {
            PyErr_Format(PyExc_TypeError, "key %zd is not a str", k);
            goto fail;
        }
        Py_ssize_t n = PyUnicode_GET_LENGTH(key);
        pool_size += n * PyUnicode_KIND(key);
        if (n > longest) longest = n;
    }
    if (ensure_tokens(self, longest) < 0) goto fail;
    for (Py_ssize_t k = 0; k < n_keys; k++) {
        PyObject *key = PySequence_Fast_GET_ITEM(keys, k);
        max_entries += tokenize(PyUnicode_KIND(key), PyUnicode_DATA(key), PyUnicode_GET_LENGTH(key), self->tokens, 1);
    }
    if (n_keys > INT32_MAX || pool_size > UINT32_MAX || longest > MAX_LENGTH) {
        PyErr_SetString(PyExc_ValueError, "too many keys or code points for one PhraseTable");
        goto fail;
    }
    uint64_t capacity = 16;
    while (capacity < (uint64_t)max_entries * 2) capacity <<= 1;
    self->slots = table_alloc(capacity * sizeof(Entry), 1);
    hashes = PyMem_Malloc(capacity * sizeof(uint64_t));
    self->pool = table_alloc((size_t)pool_size, 0);
    self->seen = PyMem_Calloc((size_t)(n_keys ? n_keys : 1), sizeof(uint32_t));
    if (self->slots == NULL || hashes == NULL || self->pool == NULL || self->seen == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    self->mask = capacity - 1;
    self->stamp = 0;

    Py_ssize_t offset = 0;
    for (Py_ssize_t k = 0; k < n_keys; k++) {
        PyObject *key = PySequence_Fast_GET_ITEM(keys, k);
        int kind = PyUnicode_KIND(key);
        const void *data = PyUnicode_DATA(key);
        Py_ssize_t n = PyUnicode_GET_LENGTH(key);
        Py_ssize_t count = tokenize(kind, data, n, self->tokens, 1);
        /* A key must begin and end with a unit (no whitespace at either end), or the walk over
         * the text, which starts and stops at units, could never find it. */
        if (count == 0 || self->tokens[0].start != 0 || self->tokens[count - 1].end != n) {
            PyErr_Format(PyExc_ValueError, "key %R is empty or begins or ends with whitespace", key);
            goto fail;
        }
        memcpy(self->pool + offset, data, (size_t)n * (size_t)kind);
        uint64_t hash = SEQUENCE_SEED;
        Entry *entry = NULL;
        for (Py_ssize_t t = 0; t < count; t++) {
            hash = extend_units(hash, &self->tokens[t], t == 0);
            entry = insert_prefix(self, hashes, hash, (uint32_t)offset, (uint32_t)self->tokens[t].end, kind);
        }
        if (entry->value >= 0) {
            PyErr_Format(PyExc_ValueError, "key %R is given twice", key);
            goto fail;
        }
        entry->value = (int32_t)k;
        offset += n * kind;
    }
    if (shrink_table(self, hashes) < 0) {
        PyErr_NoMemory();
        goto fail;
    }
    PyMem_Free(hashes);
    self->values = values;
    Py_DECREF(keys);
    return 0;

fail:
    Py_DECREF(keys);
    Py_DECREF(values);
    PyMem_Free(hashes);
    free(self->slots);
    free(self->pool);
    PyMem_Free(self->seen);
    self->slots = NULL;
    self->pool = NULL;
    self->seen = NULL;
    self->entries = 0;
    return -1;
}

PyDoc_STRVAR(find_doc,
             "find(text) -> list\n\n"
             "The values of the keys that occur in text beginning and ending on word boundaries (each a\n"
             "run of whole units of the text), each once, in order of first occurrence.");

/* Sorts hits[0:n] ascending: insertion sort for a caption's few dozen, the C library beyond. */
static int compare_hits(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void sort_hits(int32_t *hits, Py_ssize_t n) {
    if (n > 64) {
        qsort(hits, (size_t)n, sizeof(int32_t), compare_hits);
        return;
    }
    for (Py_ssize_t i = 1; i < n; i++) {
        int32_t value = hits[i];
        Py_ssize_t j = i;
        for (; j > 0 && hits[j - 1] > value; j--) hits[j] = hits[j - 1];
        hits[j] = value;
    }
}

static PyObject *find_values(PhraseTable *self, PyObject *text, int in_given_order);

static PyObject *PhraseTable_find(PhraseTable *self, PyObject *text) { return find_values(self, text, 0); }

static PyObject *PhraseTable_find_in_order(PhraseTable *self, PyObject *text) { return find_values(self, text, 1); }

static PyObject *find_values(PhraseTable *self, PyObject *text, int in_given_order) {
    if (self->values == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "PhraseTable is not built");
        return NULL;
    }
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text must be a str");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (ensure_tokens(self, n) < 0) return NULL;
    Token *tokens = self->tokens;
    Py_ssize_t count = tokenize(kind, data, n, tokens, 1);
    if (++self->stamp == 0) { /* wrapped: forget every earlier call */
        memset(self->seen, 0, (size_t)PyList_GET_SIZE(self->values) * sizeof(uint32_t));
        self->stamp = 1;
    }
    /* The table is megabytes, so each first lookup from a start unit is a cache miss. Its hash
     * depends only on the unit, so the slots for the units PREFETCH_AHEAD ahead (and for the
     * two-unit run they begin, which most common words begin) are fetched while this one is
     * walked: the misses overlap instead of following each other. */
    Py_ssize_t reported = 0;
    for (Py_ssize_t i = 0; i < count && i < PREFETCH_AHEAD; i++) prefetch_start(self, tokens, count, i);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (i + PREFETCH_AHEAD < count) prefetch_start(self, tokens, count, i + PREFETCH_AHEAD);
        uint64_t hash = SEQUENCE_SEED;
        for (Py_ssize_t j = i; j < count; j++) {
            hash = extend_units(hash, &tokens[j], j == i);
            uint32_t tag = tag_of(hash);
            uint32_t length = (uint32_t)(tokens[j].end - tokens[i].start);
            Entry *entry = NULL;
            for (uint64_t index = hash & self->mask; self->slots[index].shape != 0; index = (index + 1) & self->mask) {
                Entry *slot = &self->slots[index];
                if (slot->tag == tag && length_of(slot->shape) == length &&
                    entry_is_text(self, slot, kind, data, tokens[i].start)) {
                    entry = slot;
                    break;
                }
            }
            if (entry == NULL) break; /* no key starts with units i..j */
            if (entry->value >= 0 && self->seen[entry->value] != self->stamp) {
                self->seen[entry->value] = self->stamp;
                if (reported == self->hits_capacity && grow_hits(self) < 0) return NULL;
                self->hits[reported++] = entry->value;
            }
        }
    }
    if (in_given_order) sort_hits(self->hits, reported);
    /* The values are Python objects all over the heap, and each one reported is touched (its
     * reference count): fetch them all at once, then make the list at its size. */
    PyObject **values = ((PyListObject *)self->values)->ob_item;
    for (Py_ssize_t k = 0; k < reported; k++) __builtin_prefetch(values[self->hits[k]], 1);
    PyObject *found = PyList_New(reported);
    if (found == NULL) return NULL;
    for (Py_ssize_t k = 0; k < reported; k++) {
        PyObject *value = values[self->hits[k]];
        Py_INCREF(value);
        PyList_SET_ITEM(found, k, value);
    }
    return found;
}

PyDoc_STRVAR(find_in_order_doc,
             "find_in_order(text) -> list\n\n"
             "What find(text) reports, in the order the values were given: a table built from keys in\n"
             "the order of their values gives them sorted, with no comparison of the values.");

static PyObject *PhraseTable_len_entries(PhraseTable *self, void *Py_UNUSED(closure)) {
    return PyLong_FromSsize_t(self->entries);
}

static Py_ssize_t PhraseTable_len(PhraseTable *self) {
    return self->values == NULL ? 0 : PyList_GET_SIZE(self->values);
}

static PyMethodDef PhraseTable_methods[] = {
    {"find", (PyCFunction)PhraseTable_find, METH_O, find_doc},
    {"find_in_order", (PyCFunction)PhraseTable_find_in_order, METH_O, find_in_order_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef PhraseTable_getset[] = {
    {"entries", (getter)PhraseTable_len_entries, NULL, "hash-table entries: keys and their unit prefixes", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods PhraseTable_as_sequence = {
    .sq_length = (lenfunc)PhraseTable_len,
};

PyDoc_STRVAR(PhraseTable_doc,
             "PhraseTable(keys, values)\n\n"
             "Keys (str, none empty or with whitespace at either end) mapped to values; find(text)\n"
             "reports the values of every key found in text on word boundaries.");

static PyTypeObject PhraseTableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "wit_builder.harvest._phrase_table.PhraseTable",
    .tp_basicsize = sizeof(PhraseTable),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PhraseTable_doc,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)PhraseTable_init,
    .tp_dealloc = (destructor)PhraseTable_dealloc,
    .tp_methods = PhraseTable_methods,
    .tp_getset = PhraseTable_getset,
    .tp_as_sequence = &PhraseTable_as_sequence,
};

/* The pieces of text as a list of str: its tokens, or (with_marks) its units. */
static PyObject *pieces(PyObject *text, int with_marks) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text must be a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Token *tokens = PyMem_Malloc((size_t)(n + 1) * sizeof(Token));
    if (tokens == NULL) return PyErr_NoMemory();
    Py_ssize_t count = tokenize(PyUnicode_KIND(text), PyUnicode_DATA(text), n, tokens, with_marks);
    PyObject *out = PyList_New(count);
    for (Py_ssize_t t = 0; out != NULL && t < count; t++) {
        PyObject *token = PyUnicode_Substring(text, tokens[t].start, tokens[t].end);
        if (token == NULL) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, t, token);
    }
    PyMem_Free(tokens);
    return out;
}

PyDoc_STRVAR(tokens_doc, "tokens(text) -> list[str]\n\nThe tokens of text under the project's token rule.");

static PyObject *module_tokens(PyObject *Py_UNUSED(module), PyObject *text) { return pieces(text, 0); }

PyDoc_STRVAR(units_doc,
             "units(text) -> list[str]\n\nThe units of text: its tokens and each other non-whitespace character.");

static PyObject *module_units(PyObject *Py_UNUSED(module), PyObject *text) { return pieces(text, 1); }

static PyMethodDef module_methods[] = {
    {"tokens", (PyCFunction)module_tokens, METH_O, tokens_doc},
    {"units", (PyCFunction)module_units, METH_O, units_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_phrase_table",
    .m_doc = "Native unit-sequence lookup for the harvest matcher.",
    .m_size = -1,
    .m_methods = module_methods,
};

static int load_marks(void) {
    PyObject *tokens = PyImport_ImportModule("wit_builder.text.tokens");
    if (tokens == NULL) return -1;
    PyObject *bitmap = PyObject_GetAttrString(tokens, "MARK_BITMAP");
    Py_DECREF(tokens);
    if (bitmap == NULL) return -1;
    if (!PyBytes_Check(bitmap)) {
        Py_DECREF(bitmap);
        PyErr_SetString(PyExc_TypeError, "wit_builder.text.tokens.MARK_BITMAP must be bytes");
        return -1;
    }
    Py_ssize_t size = PyBytes_GET_SIZE(bitmap);
    mark_bitmap = PyMem_RawMalloc((size_t)size + 1);
    if (mark_bitmap == NULL) {
        Py_DECREF(bitmap);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(mark_bitmap, PyBytes_AS_STRING(bitmap), (size_t)size);
    mark_bitmap_bits = size * 8;
    Py_DECREF(bitmap);
    return 0;
}

PyMODINIT_FUNC PyInit__phrase_table(void) {
    for (Py_UCS4 c = 0; c < 128; c++) {
        ascii_alnum[c] = (unsigned char)Py_UNICODE_ISALNUM(c);
        ascii_space[c] = (unsigned char)Py_UNICODE_ISSPACE(c);
    }
    if (mark_bitmap == NULL && load_marks() < 0) return NULL;
    if (PyType_Ready(&PhraseTableType) < 0) return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) return NULL;
    Py_INCREF(&PhraseTableType);
    if (PyModule_AddObject(module, "PhraseTable", (PyObject *)&PhraseTableType) < 0) {
        Py_DECREF(&PhraseTableType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
