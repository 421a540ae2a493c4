/* The table vtables C plugins call, in C: the hot operations of host tables done on the Python
 * objects directly (through the CPython API, no Python code runs), plugin-owned tables forwarded
 * to their owner's vtables. Everything else, and every failure, goes to the Python callbacks of
 * abi/tables/callbacks.py (the "slow" vtables): they own every rule and every message, so the
 * fast path only ever does what they would do when nothing is wrong, and hands anything unusual
 * to them untouched.
 *
 * Pointers a plugin holds: a table is an fpt_access (one per table and accessing owner), an entry
 * is the address of its Python Entry object (kept alive while held, in the owner's `held` dict,
 * exactly as the Python callbacks keep it), a field of a host table is an fpt_field.
 *
 * The GIL: callbacks come from plugin code, which runs with the GIL released (cffi releases it
 * around every C call) or inside fpt_parse_batch, which holds it for a whole batch. */

#include <structmember.h>

#define FPT_STRINGS 64
#define FPT_HOLDS 8

/* Entries a plugin holds: the first few in `holds` (no allocation: a plugin usually holds one or
 * two entries at a time), more in OwnerTables.held, id(entry) -> [entry, count]. Both keep a
 * reference to the entry, as libsinsp's shared_ptr. */
typedef struct fpt_hold { PyObject* entry; uint64_t count; } fpt_hold;

typedef struct fpt_owner {
    PyObject* held;                   /* OwnerTables.held (borrowed: never rebound) */
    fpt_hold holds[FPT_HOLDS];
    PyObject* strings[FPT_STRINGS];   /* strings returned by reads, valid for a while after */
    uint32_t next_string;
} fpt_owner;

typedef struct fpt_field {
    int64_t index;                    /* position in every entry's `values` */
    int32_t type;                     /* ss_plugin_state_type */
    int32_t read_only;
    PyObject* schema;                 /* the Schema the field belongs to (borrowed) */
} fpt_field;

enum { FPT_SLOW = 0, FPT_HOST = 1, FPT_FOREIGN = 2 };

typedef struct fpt_access {
    int32_t kind;
    int32_t key_type;
    ss_plugin_table_t* slow;          /* the Python TableAccess handle */
    const char* name;
    fpt_owner* owner;
    /* FPT_HOST: the table's dict key -> Entry (borrowed) */
    PyObject* entries;
    /* FPT_FOREIGN: the owning plugin's table and vtables */
    ss_plugin_table_t* table;
    ss_plugin_table_reader_vtable_ext* reader;
    ss_plugin_table_writer_vtable_ext* writer;
} fpt_access;

static ss_plugin_table_reader_vtable_ext fpt_slow_reader;
static ss_plugin_table_writer_vtable_ext fpt_slow_writer;
static ss_plugin_table_fields_vtable_ext fpt_slow_fields;
static void (*fpt_propagate)(ss_plugin_table_t* slow);  /* a foreign failure: copy the owner's error */
static PyObject* fpt_values_name;
static PyObject* fpt_schema_name;
/* Where an entry type keeps `values` and `schema` (its __slots__), learned from the first entry. */
static PyTypeObject* fpt_entry_type;
static Py_ssize_t fpt_values_offset, fpt_schema_offset;

void fpt_set_slow(ss_plugin_table_reader_vtable_ext* r, ss_plugin_table_writer_vtable_ext* w,
                  ss_plugin_table_fields_vtable_ext* f, void* propagate) {
    fpt_slow_reader = *r;
    fpt_slow_writer = *w;
    fpt_slow_fields = *f;
    fpt_propagate = (void (*)(ss_plugin_table_t*))propagate;
}

#define GIL_ENTER int gil_own_ = !PyGILState_Check(); PyGILState_STATE gil_ = gil_own_ ? PyGILState_Ensure() : PyGILState_LOCKED
#define GIL_LEAVE if (gil_own_) PyGILState_Release(gil_)

static int fpt_names(void) {
    if (fpt_values_name == NULL) {
        fpt_values_name = PyUnicode_InternFromString("values");
        fpt_schema_name = PyUnicode_InternFromString("schema");
    }
    return fpt_values_name != NULL && fpt_schema_name != NULL;
}

/* -- keys and values ------------------------------------------------------------------------ */

static PyObject* fpt_int_key(int32_t type, const ss_plugin_state_data* k) {
    switch (type) {
        case SS_PLUGIN_ST_INT8: return PyLong_FromLong(k->s8);
        case SS_PLUGIN_ST_INT16: return PyLong_FromLong(k->s16);
        case SS_PLUGIN_ST_INT32: return PyLong_FromLong(k->s32);
        case SS_PLUGIN_ST_INT64: return PyLong_FromLongLong(k->s64);
        case SS_PLUGIN_ST_UINT8: return PyLong_FromUnsignedLong(k->u8);
        case SS_PLUGIN_ST_UINT16: return PyLong_FromUnsignedLong(k->u16);
        case SS_PLUGIN_ST_UINT32: return PyLong_FromUnsignedLong(k->u32);
        case SS_PLUGIN_ST_UINT64: return PyLong_FromUnsignedLongLong(k->u64);
        default: return NULL;  /* strings and bools: the slow path */
    }
}

static PyObject* fpt_value_object(int32_t type, const ss_plugin_state_data* v) {
    if (type == SS_PLUGIN_ST_STRING) {
        const char* s = v->str != NULL ? v->str : "";
        return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
    }
    if (type == SS_PLUGIN_ST_BOOL) {
        PyObject* b = v->b ? Py_True : Py_False;
        Py_INCREF(b);
        return b;
    }
    return fpt_int_key(type, v);
}

/* The value a Python object holds, into `out`; 0 when it cannot (the slow path will say why). */
static int fpt_value_data(fpt_owner* owner, int32_t type, PyObject* value, ss_plugin_state_data* out) {
    if (type == SS_PLUGIN_ST_STRING) {
        if (!PyUnicode_CheckExact(value)) return 0;
        const char* s = PyUnicode_AsUTF8AndSize(value, NULL);
        if (s == NULL) { PyErr_Clear(); return 0; }
        uint32_t slot = owner->next_string++ % FPT_STRINGS;  /* keep the str (and its UTF-8) alive */
        Py_INCREF(value);
        Py_XDECREF(owner->strings[slot]);
        owner->strings[slot] = value;
        out->str = s;
        return 1;
    }
    if (type == SS_PLUGIN_ST_BOOL) {
        if (value != Py_True && value != Py_False) return 0;
        out->b = value == Py_True;
        return 1;
    }
    if (!PyLong_CheckExact(value)) return 0;
    if (type == SS_PLUGIN_ST_UINT64) {
        unsigned long long u = PyLong_AsUnsignedLongLong(value);
        if (u == (unsigned long long)-1 && PyErr_Occurred()) { PyErr_Clear(); return 0; }
        out->u64 = u;
        return 1;
    }
    long long x = PyLong_AsLongLong(value);
    if (x == -1 && PyErr_Occurred()) { PyErr_Clear(); return 0; }
    switch (type) {
        case SS_PLUGIN_ST_INT8: out->s8 = (int8_t)x; return 1;
        case SS_PLUGIN_ST_INT16: out->s16 = (int16_t)x; return 1;
        case SS_PLUGIN_ST_INT32: out->s32 = (int32_t)x; return 1;
        case SS_PLUGIN_ST_INT64: out->s64 = (int64_t)x; return 1;
        case SS_PLUGIN_ST_UINT8: out->u8 = (uint8_t)x; return 1;
        case SS_PLUGIN_ST_UINT16: out->u16 = (uint16_t)x; return 1;
        case SS_PLUGIN_ST_UINT32: out->u32 = (uint32_t)x; return 1;
        default: return 0;
    }
}

static Py_ssize_t fpt_slot_offset(PyTypeObject* type, PyObject* name) {
    PyObject* descr = PyObject_GetAttr((PyObject*)type, name);
    if (descr == NULL) { PyErr_Clear(); return -1; }
    Py_ssize_t offset = -1;
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDef* member = ((PyMemberDescrObject*)descr)->d_member;
        if (member->type == T_OBJECT_EX) offset = member->offset;
    }
    Py_DECREF(descr);
    return offset;
}

/* The entry's slot at `offset` (a new reference), or NULL when unset. */
static PyObject* fpt_slot(PyObject* entry, Py_ssize_t offset) {
    PyObject* value = *(PyObject**)((char*)entry + offset);
    Py_XINCREF(value);
    return value;
}

/* The entry's value list, if `field` may be used on it as is (same schema, value present). */
static PyObject* fpt_values_for(PyObject* entry, const fpt_field* field) {
    PyObject *schema, *values;
    if (fpt_entry_type == NULL && fpt_names()) {
        PyTypeObject* type = Py_TYPE(entry);
        Py_ssize_t vo = fpt_slot_offset(type, fpt_values_name), so = fpt_slot_offset(type, fpt_schema_name);
        if (vo >= 0 && so >= 0) {
            Py_INCREF(type);
            fpt_entry_type = type;
            fpt_values_offset = vo;
            fpt_schema_offset = so;
        }
    }
    if (Py_TYPE(entry) == fpt_entry_type) {
        schema = fpt_slot(entry, fpt_schema_offset);
        values = fpt_slot(entry, fpt_values_offset);
    } else {
        if (!fpt_names()) { PyErr_Clear(); return NULL; }
        schema = PyObject_GetAttr(entry, fpt_schema_name);
        values = schema != NULL ? PyObject_GetAttr(entry, fpt_values_name) : NULL;
    }
    Py_XDECREF(schema);  /* the entry keeps it: only its identity is compared */
    if (schema == NULL || values == NULL || schema != field->schema || !PyList_CheckExact(values) ||
        field->index >= PyList_GET_SIZE(values)) {
        /* not this field's entry, or a dynamic field it has no value for yet (its default) */
        PyErr_Clear();
        Py_XDECREF(values);
        return NULL;
    }
    return values;
}

/* Keep `entry` alive while the plugin holds its pointer: OwnerTables.hold, in C. */
static int fpt_hold_entry(fpt_owner* owner, PyObject* entry) {
    fpt_hold* free_slot = NULL;
    for (int i = 0; i < FPT_HOLDS; i++) {
        fpt_hold* h = &owner->holds[i];
        if (h->entry == entry) { h->count++; return 1; }
        if (h->entry == NULL && free_slot == NULL) free_slot = h;
    }
    if (free_slot != NULL) {
        int in_dict = 0;
        if (PyDict_GET_SIZE(owner->held) != 0) {
            PyObject* key = PyLong_FromVoidPtr(entry);
            in_dict = key != NULL ? PyDict_Contains(owner->held, key) : -1;
            Py_XDECREF(key);
        }
        if (in_dict == 0) {  /* (else: more holds of an entry that overflowed into the dict) */
            Py_INCREF(entry);
            free_slot->entry = entry;
            free_slot->count = 1;
            return 1;
        }
        PyErr_Clear();
    }
    PyObject* key = PyLong_FromVoidPtr(entry);
    if (key == NULL) return 0;
    PyObject* record = PyDict_GetItemWithError(owner->held, key);
    int ok = 0;
    if (record != NULL) {
        PyObject* count = PyList_GET_ITEM(record, 1);
        PyObject* more = PyLong_FromLongLong(PyLong_AsLongLong(count) + 1);
        if (more != NULL) { PyList_SET_ITEM(record, 1, more); Py_DECREF(count); ok = 1; }
    } else if (!PyErr_Occurred()) {
        PyObject* one = PyLong_FromLong(1);
        record = one != NULL ? PyList_New(2) : NULL;
        if (record != NULL) {
            Py_INCREF(entry);
            PyList_SET_ITEM(record, 0, entry);
            PyList_SET_ITEM(record, 1, one);
            ok = PyDict_SetItem(owner->held, key, record) == 0;
            Py_DECREF(record);
        } else {
            Py_XDECREF(one);
        }
    }
    Py_DECREF(key);
    if (!ok) PyErr_Clear();
    return ok;
}

/* OwnerTables.release, in C (an entry not held is ignored, as there). */
static void fpt_release_held(fpt_owner* owner, void* entry) {
    for (int i = 0; i < FPT_HOLDS; i++) {
        fpt_hold* h = &owner->holds[i];
        if (h->entry == (PyObject*)entry) {
            if (--h->count == 0) {
                h->entry = NULL;
                Py_DECREF((PyObject*)entry);
            }
            return;
        }
    }
    PyObject* key = PyLong_FromVoidPtr(entry);
    if (key == NULL) { PyErr_Clear(); return; }
    PyObject* record = PyDict_GetItemWithError(owner->held, key);
    if (record != NULL) {
        long long n = PyLong_AsLongLong(PyList_GET_ITEM(record, 1)) - 1;
        if (n <= 0) {
            PyDict_DelItem(owner->held, key);
        } else {
            PyObject* count = PyLong_FromLongLong(n);
            if (count != NULL) {
                PyObject* old = PyList_GET_ITEM(record, 1);
                PyList_SET_ITEM(record, 1, count);
                Py_DECREF(old);
            }
        }
    }
    PyErr_Clear();
    Py_DECREF(key);
}

void fpt_owner_hold(fpt_owner* owner, void* entry) {
    GIL_ENTER;
    fpt_hold_entry(owner, (PyObject*)entry);
    GIL_LEAVE;
}

void fpt_owner_release(fpt_owner* owner, void* entry) {
    GIL_ENTER;
    fpt_release_held(owner, entry);
    GIL_LEAVE;
}

void fpt_owner_clear(fpt_owner* owner) {
    GIL_ENTER;
    for (uint32_t i = 0; i < FPT_STRINGS; i++) Py_CLEAR(owner->strings[i]);
    for (int i = 0; i < FPT_HOLDS; i++) {
        Py_CLEAR(owner->holds[i].entry);
        owner->holds[i].count = 0;
    }
    GIL_LEAVE;
}

/* -- reader ----------------------------------------------------------------------------------- */

static const char* fpt_get_table_name(ss_plugin_table_t* t) {
    return t == NULL ? NULL : ((fpt_access*)t)->name;
}

static uint64_t fpt_get_table_size(ss_plugin_table_t* t) {
    fpt_access* a = (fpt_access*)t;
    if (a == NULL) return UINT64_MAX;
    if (a->kind == FPT_FOREIGN) {
        uint64_t n = a->reader->get_table_size(a->table);
        if (n == UINT64_MAX) fpt_propagate(a->slow);
        return n;
    }
    if (a->kind == FPT_HOST) {
        GIL_ENTER;
        Py_ssize_t n = PyDict_Size(a->entries);
        GIL_LEAVE;
        return (uint64_t)n;
    }
    return fpt_slow_reader.get_table_size(a->slow);
}

static ss_plugin_table_entry_t* fpt_get_table_entry(ss_plugin_table_t* t, const ss_plugin_state_data* key) {
    fpt_access* a = (fpt_access*)t;
    if (a == NULL) return NULL;
    if (a->kind == FPT_FOREIGN) {
        ss_plugin_table_entry_t* e = a->reader->get_table_entry(a->table, key);
        if (e == NULL) fpt_propagate(a->slow);
        return e;
    }
    if (a->kind == FPT_HOST && key != NULL) {
        PyObject* entry = NULL;
        GIL_ENTER;
        PyObject* k = fpt_int_key(a->key_type, key);
        if (k != NULL) {
            entry = PyDict_GetItemWithError(a->entries, k);
            Py_DECREF(k);
            if (entry != NULL && !fpt_hold_entry(a->owner, entry)) entry = NULL;
        }
        PyErr_Clear();
        GIL_LEAVE;
        if (entry != NULL) return (ss_plugin_table_entry_t*)entry;
    }
    return fpt_slow_reader.get_table_entry(a->slow, key);  /* not found: the slow path says so */
}

static ss_plugin_rc fpt_read_entry_field(ss_plugin_table_t* t, ss_plugin_table_entry_t* e,
                                         const ss_plugin_table_field_t* f, ss_plugin_state_data* out) {
    fpt_access* a = (fpt_access*)t;
    if (a == NULL) return SS_PLUGIN_FAILURE;
    if (a->kind == FPT_FOREIGN && out != NULL) {
        out->u64 = 0;
        ss_plugin_rc rc = a->reader->read_entry_field(a->table, e, f, out);
        if (rc == SS_PLUGIN_FAILURE) fpt_propagate(a->slow);
        return rc;
    }
    const fpt_field* field = (const fpt_field*)f;
    if (a->kind == FPT_HOST && out != NULL && e != NULL && field != NULL && field->type != SS_PLUGIN_ST_TABLE) {
        int ok = 0;
        GIL_ENTER;
        PyObject* values = fpt_values_for((PyObject*)e, field);
        if (values != NULL) {
            out->u64 = 0;
            ok = fpt_value_data(a->owner, field->type, PyList_GET_ITEM(values, field->index), out);
            Py_DECREF(values);
        }
        GIL_LEAVE;
        if (ok) return SS_PLUGIN_SUCCESS;
    }
    return fpt_slow_reader.read_entry_field(a->slow, e, f, out);
}

static void fpt_release_table_entry(ss_plugin_table_t* t, ss_plugin_table_entry_t* e) {
    fpt_access* a = (fpt_access*)t;
    if (a == NULL || e == NULL) return;
    if (a->kind == FPT_FOREIGN) {
        a->reader->release_table_entry(a->table, e);
        return;
    }
    if (a->kind == FPT_HOST) {
        GIL_ENTER;
        fpt_release_held(a->owner, e);
        GIL_LEAVE;
        return;
    }
    fpt_slow_reader.release_table_entry(a->slow, e);
}

static ss_plugin_bool fpt_iterate_entries(ss_plugin_table_t* t, ss_plugin_table_iterator_func_t it,
                                          ss_plugin_table_iterator_state_t* s) {
    fpt_access* a = (fpt_access*)t;
    if (a == NULL) return 0;
    if (a->kind == FPT_FOREIGN) return a->reader->iterate_entries(a->table, it, s);
    return fpt_slow_reader.iterate_entries(a->slow, it, s);
}

/* -- writer ----------------------------------------------------------------------------------- */

static ss_plugin_rc fpt_clear_table(ss_plugin_table_t* t) {
    fpt_access* a = (fpt_access*)t;
    if (a == NULL) return SS_PLUGIN_FAILURE;
    if (a->kind == FPT_FOREIGN) {
        ss_plugin_rc rc = a->writer->clear_table(a->table);
        if (rc == SS_PLUGIN_FAILURE) fpt_propagate(a->slow);
        return rc;
    }
    return fpt_slow_writer.clear_table(a->slow);
}

static ss_plugin_rc fpt_erase_table_entry(ss_plugin_table_t* t, const ss_plugin_state_data* key) {
    fpt_access* a = (fpt_access*)t;
    if (a == NULL) return SS_PLUGIN_FAILURE;
    if (a->kind == FPT_FOREIGN) {
        ss_plugin_rc rc = a->writer->erase_table_entry(a->table, key);
        if (rc == SS_PLUGIN_FAILURE) fpt_propagate(a->slow);
        return rc;
    }
    return fpt_slow_writer.erase_table_entry(a->slow, key);
}

static ss_plugin_table_entry_t* fpt_create_table_entry(ss_plugin_table_t* t) {
    fpt_access* a = (fpt_access*)t;
    if (a == NULL) return NULL;
    if (a->kind == FPT_FOREIGN) {
        ss_plugin_table_entry_t* e = a->writer->create_table_entry(a->table);
        if (e == NULL) fpt_propagate(a->slow);
        return e;
    }
    return fpt_slow_writer.create_table_entry(a->slow);
}

static void fpt_destroy_table_entry(ss_plugin_table_t* t, ss_plugin_table_entry_t* e) {
    fpt_access* a = (fpt_access*)t;
    if (a == NULL) return;
    if (a->kind == FPT_FOREIGN) {
        a->writer->destroy_table_entry(a->table, e);
        return;
    }
    fpt_slow_writer.destroy_table_entry(a->slow, e);
}

static ss_plugin_table_entry_t* fpt_add_table_entry(ss_plugin_table_t* t, const ss_plugin_state_data* key,
                                                    ss_plugin_table_entry_t* e) {
    fpt_access* a = (fpt_access*)t;
    if (a == NULL) return NULL;
    if (a->kind == FPT_FOREIGN) {
        ss_plugin_table_entry_t* added = a->writer->add_table_entry(a->table, key, e);
        if (added == NULL) fpt_propagate(a->slow);
        return added;
    }
    return fpt_slow_writer.add_table_entry(a->slow, key, e);
}

static ss_plugin_rc fpt_write_entry_field(ss_plugin_table_t* t, ss_plugin_table_entry_t* e,
                                          const ss_plugin_table_field_t* f, const ss_plugin_state_data* in) {
    fpt_access* a = (fpt_access*)t;
    if (a == NULL) return SS_PLUGIN_FAILURE;
    if (a->kind == FPT_FOREIGN) {
        ss_plugin_rc rc = a->writer->write_entry_field(a->table, e, f, in);
        if (rc == SS_PLUGIN_FAILURE) fpt_propagate(a->slow);
        return rc;
    }
    const fpt_field* field = (const fpt_field*)f;
    if (a->kind == FPT_HOST && e != NULL && field != NULL && in != NULL && !field->read_only &&
        field->type != SS_PLUGIN_ST_TABLE) {
        int ok = 0;
        GIL_ENTER;
        PyObject* values = fpt_values_for((PyObject*)e, field);
        if (values != NULL) {
            PyObject* value = fpt_value_object(field->type, in);
            if (value != NULL) {
                ok = PyList_SetItem(values, field->index, value) == 0;  /* steals `value` */
            }
            Py_DECREF(values);
        }
        PyErr_Clear();
        GIL_LEAVE;
        if (ok) return SS_PLUGIN_SUCCESS;
    }
    return fpt_slow_writer.write_entry_field(a->slow, e, f, in);
}

/* -- fields (set up at init: always Python) ---------------------------------------------------- */

static const ss_plugin_table_fieldinfo* fpt_list_table_fields(ss_plugin_table_t* t, uint32_t* nfields) {
    return t == NULL ? NULL : fpt_slow_fields.list_table_fields(((fpt_access*)t)->slow, nfields);
}

static ss_plugin_table_field_t* fpt_get_table_field(ss_plugin_table_t* t, const char* name, ss_plugin_state_type type) {
    return t == NULL ? NULL : fpt_slow_fields.get_table_field(((fpt_access*)t)->slow, name, type);
}

static ss_plugin_table_field_t* fpt_add_table_field(ss_plugin_table_t* t, const char* name, ss_plugin_state_type type) {
    return t == NULL ? NULL : fpt_slow_fields.add_table_field(((fpt_access*)t)->slow, name, type);
}

/* -- the vtables plugins receive -------------------------------------------------------------- */

void fpt_fill_reader(ss_plugin_table_reader_vtable_ext* r) {
    r->get_table_name = fpt_get_table_name;
    r->get_table_size = fpt_get_table_size;
    r->get_table_entry = fpt_get_table_entry;
    r->read_entry_field = fpt_read_entry_field;
    r->release_table_entry = fpt_release_table_entry;
    r->iterate_entries = fpt_iterate_entries;
}

void fpt_fill_writer(ss_plugin_table_writer_vtable_ext* w) {
    w->clear_table = fpt_clear_table;
    w->erase_table_entry = fpt_erase_table_entry;
    w->create_table_entry = fpt_create_table_entry;
    w->destroy_table_entry = fpt_destroy_table_entry;
    w->add_table_entry = fpt_add_table_entry;
    w->write_entry_field = fpt_write_entry_field;
}

void fpt_fill_fields(ss_plugin_table_fields_vtable_ext* f) {
    f->list_table_fields = fpt_list_table_fields;
    f->get_table_field = fpt_get_table_field;
    f->add_table_field = fpt_add_table_field;
}
