/*
 * falcoplug export: state tables, both ways. Paired with export/tables.py.
 *
 * Tables the plugin accesses: native functions (registered in natives.c) that Python calls with
 * the state's address and the host's pointers as ints; they call the host's vtables (the init
 * input's tables input during init; the fields, reader and writer vtables of the last call that
 * brought them) and convert keys and values between Python and ss_plugin_state_data. A failure
 * raises TableError with the owner's last error (the host's message).
 *
 * Tables the plugin owns: an fp_owned per table, whose vtables the host and other plugins call;
 * each function enters Python (fp_enter, then a cffi extern "Python" function of tables.py),
 * where the SDK's Table object answers. A failure sets this plugin's last error, which the host
 * passes on to the plugin that asked.
 */

struct fp_owned {
	fp_state* s;
	uint64_t id;          /* the table's key in the runtime */
	char* name;
	ss_plugin_table_reader_vtable_ext reader;
	ss_plugin_table_writer_vtable_ext writer;
	ss_plugin_table_fields_vtable_ext fields;
};

static PyObject* fp_TableError; /* falcoplug.backend.TableError */
static PyObject* fp_str_addr;   /* "addr", interned */

/* ---- helpers ------------------------------------------------------------------------------------ */

/* The state: its address, or the runtime's Link object holding it (0 once the state is gone). */
static fp_state* fp_link_state(PyObject* o) {
	if (PyLong_CheckExact(o)) return PyLong_AsVoidPtr(o);
	PyObject* addr = PyObject_GetAttr(o, fp_str_addr);
	fp_state* s = addr != NULL ? PyLong_AsVoidPtr(addr) : NULL;
	Py_XDECREF(addr);
	return s;
}

static fp_state* fp_arg_state(PyObject* o) {
	fp_state* s = fp_link_state(o);
	if (s == NULL && !PyErr_Occurred())
		PyErr_SetString(fp_TableError, "the plugin's state is gone (the host destroyed the plugin)");
	return s;
}

/* An entry the host handed out by get_table_entry or add_table_entry: a small object that gives
 * it back (release_table_entry) when Python drops it, so that the SDK's views need no Python-level
 * finalizer. Table functions take it wherever they take an entry. */
typedef struct fp_held {
	PyObject_HEAD
	PyObject* link;
	ss_plugin_table_t* t;
	ss_plugin_table_entry_t* e;
} fp_held;

static PyTypeObject* fp_HeldType;

static void fp_held_dealloc(PyObject* o) {
	fp_held* h = (fp_held*)o;
	PyObject *type, *value, *tb;
	PyErr_Fetch(&type, &value, &tb); /* a dealloc must not disturb a pending exception */
	fp_state* s = h->link != NULL ? fp_link_state(h->link) : NULL;
	PyErr_Clear();
	if (s != NULL && s->t_reader != NULL && h->e != NULL) s->t_reader->release_table_entry(h->t, h->e);
	PyErr_Restore(type, value, tb);
	Py_XDECREF(h->link);
	PyTypeObject* tp = Py_TYPE(o);
	tp->tp_free(o);
	Py_DECREF(tp);
}

static PyObject* fp_held_repr(PyObject* o) {
	return PyUnicode_FromFormat("<held entry %p>", ((fp_held*)o)->e);
}

static PyType_Slot fp_held_slots[] = {
	{Py_tp_dealloc, fp_held_dealloc},
	{Py_tp_repr, fp_held_repr},
	{0, NULL},
};

static PyType_Spec fp_held_spec = {"falcoplug_export.HeldEntry", sizeof(fp_held), 0, Py_TPFLAGS_DEFAULT, fp_held_slots};

static PyObject* fp_hold(PyObject* link, ss_plugin_table_t* t, ss_plugin_table_entry_t* e) {
	fp_held* h = PyObject_New(fp_held, fp_HeldType);
	if (h == NULL) return NULL;
	Py_INCREF(link);
	h->link = link;
	h->t = t;
	h->e = e;
	return (PyObject*)h;
}

static void* fp_arg_ptr(PyObject* o, const char* what) {
	if (Py_TYPE(o) == fp_HeldType) return ((fp_held*)o)->e;
	void* p = PyLong_AsVoidPtr(o);
	if (p == NULL && !PyErr_Occurred()) PyErr_Format(fp_TableError, "null %s", what);
	return p;
}

static int fp_nargs(Py_ssize_t nargs, Py_ssize_t expected, const char* name) {
	if (nargs == expected) return 0;
	PyErr_Format(PyExc_TypeError, "%s takes %zd arguments (%zd given)", name, expected, nargs);
	return -1;
}

/* Raise TableError with the owner's last error (or `fallback`); returns NULL. */
static PyObject* fp_table_fail(fp_state* s, const char* fallback) {
	const char* err = s->owner_error != NULL ? s->owner_error(s->owner) : NULL;
	PyErr_SetString(fp_TableError, err != NULL && *err ? err : fallback);
	return NULL;
}

static int fp_need(fp_state* s, const void* vtable, const char* what) {
	if (vtable != NULL) return 0;
	PyErr_Format(fp_TableError, "the host gave no %s vtable", what);
	(void)s;
	return -1;
}

/* A key: int (any integer type: the union's 8 bytes, little-endian), str or bool. */
static int fp_key_from(PyObject* key, ss_plugin_state_data* d) {
	memset(d, 0, sizeof *d);
	if (PyUnicode_Check(key)) {
		d->str = PyUnicode_AsUTF8(key);
		return d->str != NULL ? 0 : -1;
	}
	if (PyBool_Check(key)) {
		d->b = key == Py_True;
		return 0;
	}
	if (PyLong_Check(key)) {
		int overflow = 0;
		long long v = PyLong_AsLongLongAndOverflow(key, &overflow);
		if (overflow > 0) {
			d->u64 = PyLong_AsUnsignedLongLong(key);
			return PyErr_Occurred() ? -1 : 0;
		}
		if (overflow < 0 || (v == -1 && PyErr_Occurred())) {
			if (!PyErr_Occurred()) PyErr_SetString(PyExc_OverflowError, "table key out of range");
			return -1;
		}
		d->s64 = v;
		return 0;
	}
	PyErr_Format(PyExc_TypeError, "a table key must be an int, str or bool, not %s", Py_TYPE(key)->tp_name);
	return -1;
}

/* A value of a state type, already checked by the SDK. Strings point into the str object. */
static int fp_value_from(PyObject* v, int type, ss_plugin_state_data* d) {
	memset(d, 0, sizeof *d);
	switch (type) {
	case SS_PLUGIN_ST_INT8: d->s8 = (int8_t)PyLong_AsLongLong(v); break;
	case SS_PLUGIN_ST_INT16: d->s16 = (int16_t)PyLong_AsLongLong(v); break;
	case SS_PLUGIN_ST_INT32: d->s32 = (int32_t)PyLong_AsLongLong(v); break;
	case SS_PLUGIN_ST_INT64: d->s64 = PyLong_AsLongLong(v); break;
	case SS_PLUGIN_ST_UINT8: d->u8 = (uint8_t)PyLong_AsUnsignedLongLong(v); break;
	case SS_PLUGIN_ST_UINT16: d->u16 = (uint16_t)PyLong_AsUnsignedLongLong(v); break;
	case SS_PLUGIN_ST_UINT32: d->u32 = (uint32_t)PyLong_AsUnsignedLongLong(v); break;
	case SS_PLUGIN_ST_UINT64: d->u64 = PyLong_AsUnsignedLongLong(v); break;
	case SS_PLUGIN_ST_STRING: d->str = PyUnicode_AsUTF8(v); break;
	case SS_PLUGIN_ST_BOOL: d->b = PyObject_IsTrue(v) == 1; break;
	default: PyErr_Format(fp_TableError, "cannot write a value of state type %d", type); return -1;
	}
	return PyErr_Occurred() ? -1 : 0;
}

static PyObject* fp_value_to(const ss_plugin_state_data* d, int type) {
	switch (type) {
	case SS_PLUGIN_ST_INT8: return PyLong_FromLong(d->s8);
	case SS_PLUGIN_ST_INT16: return PyLong_FromLong(d->s16);
	case SS_PLUGIN_ST_INT32: return PyLong_FromLong(d->s32);
	case SS_PLUGIN_ST_INT64: return PyLong_FromLongLong(d->s64);
	case SS_PLUGIN_ST_UINT8: return PyLong_FromUnsignedLong(d->u8);
	case SS_PLUGIN_ST_UINT16: return PyLong_FromUnsignedLong(d->u16);
	case SS_PLUGIN_ST_UINT32: return PyLong_FromUnsignedLong(d->u32);
	case SS_PLUGIN_ST_UINT64: return PyLong_FromUnsignedLongLong(d->u64);
	case SS_PLUGIN_ST_STRING:
		return d->str != NULL ? PyUnicode_DecodeUTF8(d->str, strlen(d->str), "replace") : PyUnicode_FromString("");
	case SS_PLUGIN_ST_BOOL: return PyBool_FromLong(d->b != 0);
	case SS_PLUGIN_ST_TABLE:
		if (d->table == NULL) Py_RETURN_NONE;
		return PyLong_FromVoidPtr(d->table);
	default: PyErr_Format(fp_TableError, "cannot read a value of state type %d", type); return NULL;
	}
}

/* A field handle, as Python holds it: (pointer, state type). */
static int fp_field_from(PyObject* f, void** ptr, int* type) {
	if (!PyTuple_Check(f) || PyTuple_GET_SIZE(f) != 2) {
		PyErr_SetString(PyExc_TypeError, "a field handle is a (pointer, type) tuple");
		return -1;
	}
	*ptr = PyLong_AsVoidPtr(PyTuple_GET_ITEM(f, 0));
	*type = (int)PyLong_AsLong(PyTuple_GET_ITEM(f, 1));
	if (PyErr_Occurred()) return -1;
	if (*ptr == NULL) {
		PyErr_SetString(fp_TableError, "null field");
		return -1;
	}
	return 0;
}

/* ---- the registry (init only) ----------------------------------------------------------------- */

/* t_list(state) -> [(name, key_type), ...] */
static PyObject* fp_n_t_list(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 1, "t_list") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	if (s == NULL) return NULL;
	if (s->tables_in == NULL || s->tables_in->list_tables == NULL) {
		PyErr_SetString(fp_TableError, "tables can only be listed during init");
		return NULL;
	}
	uint32_t n = 0;
	ss_plugin_table_info* infos = s->tables_in->list_tables(s->owner, &n);
	if (infos == NULL) return fp_table_fail(s, "list_tables failed");
	PyObject* list = PyList_New(n);
	for (uint32_t i = 0; list != NULL && i < n; i++) {
		const char* name = infos[i].name != NULL ? infos[i].name : "";
		PyObject* item = Py_BuildValue("(Ni)", PyUnicode_DecodeUTF8(name, strlen(name), "replace"), (int)infos[i].key_type);
		if (item == NULL) {
			Py_CLEAR(list);
			break;
		}
		PyList_SET_ITEM(list, i, item);
	}
	return list;
}

/* t_get(state, name, key_type) -> table pointer (0: none; the owner's error explains) */
static PyObject* fp_n_t_get(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 3, "t_get") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	if (s == NULL) return NULL;
	const char* name = PyUnicode_AsUTF8(args[1]);
	long key_type = PyLong_AsLong(args[2]);
	if (name == NULL || PyErr_Occurred()) return NULL;
	if (s->tables_in == NULL || s->tables_in->get_table == NULL) {
		PyErr_SetString(fp_TableError, "tables can only be accessed during init");
		return NULL;
	}
	return PyLong_FromVoidPtr(s->tables_in->get_table(s->owner, name, (ss_plugin_state_type)key_type));
}

/* owner_error(state) -> str | None */
static PyObject* fp_n_owner_error(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 1, "owner_error") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	if (s == NULL) return NULL;
	const char* err = s->owner_error != NULL ? s->owner_error(s->owner) : NULL;
	if (err == NULL) Py_RETURN_NONE;
	return PyUnicode_DecodeUTF8(err, strlen(err), "replace");
}

/* ---- fields --------------------------------------------------------------------------------------- */

/* t_fields(state, table) -> [(name, type, read_only), ...] */
static PyObject* fp_n_t_fields(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 2, "t_fields") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	if (t == NULL || fp_need(s, s->t_fields, "fields") != 0) return NULL;
	uint32_t n = 0;
	const ss_plugin_table_fieldinfo* infos = s->t_fields->list_table_fields(t, &n);
	if (infos == NULL) return fp_table_fail(s, "list_table_fields failed");
	PyObject* list = PyList_New(n);
	for (uint32_t i = 0; list != NULL && i < n; i++) {
		const char* name = infos[i].name != NULL ? infos[i].name : "";
		PyObject* item = Py_BuildValue("(NiO)", PyUnicode_DecodeUTF8(name, strlen(name), "replace"), (int)infos[i].field_type,
		                               infos[i].read_only ? Py_True : Py_False);
		if (item == NULL) {
			Py_CLEAR(list);
			break;
		}
		PyList_SET_ITEM(list, i, item);
	}
	return list;
}

/* t_get_field / t_add_field(state, table, name, type) -> field pointer */
static PyObject* fp_field_call(PyObject* const* args, Py_ssize_t nargs, int add) {
	if (fp_nargs(nargs, 4, add ? "t_add_field" : "t_get_field") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	if (t == NULL || fp_need(s, s->t_fields, "fields") != 0) return NULL;
	const char* name = PyUnicode_AsUTF8(args[2]);
	long type = PyLong_AsLong(args[3]);
	if (name == NULL || PyErr_Occurred()) return NULL;
	ss_plugin_table_field_t* f = add ? s->t_fields->add_table_field(t, name, (ss_plugin_state_type)type)
	                                 : s->t_fields->get_table_field(t, name, (ss_plugin_state_type)type);
	if (f == NULL) return fp_table_fail(s, add ? "add_table_field failed" : "get_table_field failed");
	return PyLong_FromVoidPtr(f);
}

static PyObject* fp_n_t_get_field(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	return fp_field_call(args, nargs, 0);
}

static PyObject* fp_n_t_add_field(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	return fp_field_call(args, nargs, 1);
}

/* ---- reader ----------------------------------------------------------------------------------------- */

/* t_name(state, table) -> str */
static PyObject* fp_n_t_name(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 2, "t_name") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	if (t == NULL || fp_need(s, s->t_reader, "reader") != 0) return NULL;
	const char* name = s->t_reader->get_table_name(t);
	if (name == NULL) return fp_table_fail(s, "get_table_name failed");
	return PyUnicode_DecodeUTF8(name, strlen(name), "replace");
}

/* t_size(state, table) -> int */
static PyObject* fp_n_t_size(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 2, "t_size") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	if (t == NULL || fp_need(s, s->t_reader, "reader") != 0) return NULL;
	uint64_t n = s->t_reader->get_table_size(t);
	if (n == FP_UINT64_MAX) return fp_table_fail(s, "get_table_size failed");
	return PyLong_FromUnsignedLongLong(n);
}

/* t_get_entry(state, table, key) -> the held entry, or None when there is none */
static PyObject* fp_n_t_get_entry(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 3, "t_get_entry") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	ss_plugin_state_data key;
	if (t == NULL || fp_need(s, s->t_reader, "reader") != 0 || fp_key_from(args[2], &key) != 0) return NULL;
	ss_plugin_table_entry_t* e = s->t_reader->get_table_entry(t, &key);
	if (e == NULL) Py_RETURN_NONE;
	return fp_hold(args[0], t, e);
}

/* t_read(state, table, entry, (field, type)) -> value (a sub-table: its pointer, or None) */
static PyObject* fp_n_t_read(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 4, "t_read") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	void* e = t ? fp_arg_ptr(args[2], "entry") : NULL;
	void* f;
	int type;
	if (e == NULL || fp_field_from(args[3], &f, &type) != 0 || fp_need(s, s->t_reader, "reader") != 0) return NULL;
	ss_plugin_state_data out;
	memset(&out, 0, sizeof out);
	if (s->t_reader->read_entry_field(t, e, f, &out) != SS_PLUGIN_SUCCESS) {
		if (type == SS_PLUGIN_ST_TABLE) Py_RETURN_NONE; /* an entry without that sub-table */
		return fp_table_fail(s, "read_entry_field failed");
	}
	return fp_value_to(&out, type);
}

/* t_write(state, table, entry, (field, type), value) */
static PyObject* fp_n_t_write(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 5, "t_write") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	void* e = t ? fp_arg_ptr(args[2], "entry") : NULL;
	void* f;
	int type;
	ss_plugin_state_data in;
	if (e == NULL || fp_field_from(args[3], &f, &type) != 0 || fp_need(s, s->t_writer, "writer") != 0) return NULL;
	if (fp_value_from(args[4], type, &in) != 0) return NULL;
	if (s->t_writer->write_entry_field(t, e, f, &in) != SS_PLUGIN_SUCCESS) return fp_table_fail(s, "write_entry_field failed");
	Py_RETURN_NONE;
}

/* t_release(state, table, entry) */
static PyObject* fp_n_t_release(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 3, "t_release") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	void* e = t ? fp_arg_ptr(args[2], "entry") : NULL;
	if (e == NULL || fp_need(s, s->t_reader, "reader") != 0) return NULL;
	s->t_reader->release_table_entry(t, e);
	Py_RETURN_NONE;
}

typedef struct fp_collected {
	void** items;
	size_t n, cap;
	int failed;
} fp_collected;

/* The iterator callback: no Python here (a host may call it without the GIL held). */
static ss_plugin_bool fp_collect(ss_plugin_table_iterator_state_t* st, ss_plugin_table_entry_t* e) {
	fp_collected* c = st;
	if (fp_reserve((void**)&c->items, &c->cap, c->n + 1, sizeof(void*)) != 0) {
		c->failed = 1;
		return 0;
	}
	c->items[c->n++] = e;
	return 1;
}

/* t_iter(state, table) -> [entry pointer, ...] */
static PyObject* fp_n_t_iter(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 2, "t_iter") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	if (t == NULL || fp_need(s, s->t_reader, "reader") != 0) return NULL;
	fp_collected c = {NULL, 0, 0, 0};
	ss_plugin_bool done = s->t_reader->iterate_entries(t, fp_collect, &c);
	if (c.failed) {
		free(c.items);
		return PyErr_NoMemory();
	}
	if (!done) {
		free(c.items);
		return fp_table_fail(s, "iterate_entries failed");
	}
	PyObject* list = PyList_New((Py_ssize_t)c.n);
	for (size_t i = 0; list != NULL && i < c.n; i++) {
		PyObject* p = PyLong_FromVoidPtr(c.items[i]);
		if (p == NULL) {
			Py_CLEAR(list);
			break;
		}
		PyList_SET_ITEM(list, (Py_ssize_t)i, p);
	}
	free(c.items);
	return list;
}

/* ---- writer ----------------------------------------------------------------------------------------- */

/* t_clear(state, table) */
static PyObject* fp_n_t_clear(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 2, "t_clear") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	if (t == NULL || fp_need(s, s->t_writer, "writer") != 0) return NULL;
	if (s->t_writer->clear_table(t) != SS_PLUGIN_SUCCESS) return fp_table_fail(s, "clear_table failed");
	Py_RETURN_NONE;
}

/* t_erase(state, table, key) */
static PyObject* fp_n_t_erase(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 3, "t_erase") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	ss_plugin_state_data key;
	if (t == NULL || fp_need(s, s->t_writer, "writer") != 0 || fp_key_from(args[2], &key) != 0) return NULL;
	if (s->t_writer->erase_table_entry(t, &key) != SS_PLUGIN_SUCCESS) return fp_table_fail(s, "erase_table_entry failed");
	Py_RETURN_NONE;
}

/* t_create(state, table) -> entry pointer */
static PyObject* fp_n_t_create(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 2, "t_create") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	if (t == NULL || fp_need(s, s->t_writer, "writer") != 0) return NULL;
	ss_plugin_table_entry_t* e = s->t_writer->create_table_entry(t);
	if (e == NULL) return fp_table_fail(s, "create_table_entry failed");
	return PyLong_FromVoidPtr(e);
}

/* t_destroy(state, table, entry) */
static PyObject* fp_n_t_destroy(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 3, "t_destroy") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	void* e = t ? fp_arg_ptr(args[2], "entry") : NULL;
	if (e == NULL || fp_need(s, s->t_writer, "writer") != 0) return NULL;
	s->t_writer->destroy_table_entry(t, e);
	Py_RETURN_NONE;
}

/* t_add(state, table, key, entry) -> the held entry */
static PyObject* fp_n_t_add(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 4, "t_add") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	void* t = s ? fp_arg_ptr(args[1], "table") : NULL;
	void* e = t ? fp_arg_ptr(args[3], "entry") : NULL;
	ss_plugin_state_data key;
	if (e == NULL || fp_need(s, s->t_writer, "writer") != 0 || fp_key_from(args[2], &key) != 0) return NULL;
	ss_plugin_table_entry_t* added = s->t_writer->add_table_entry(t, &key, e);
	if (added == NULL) return fp_table_fail(s, "add_table_entry failed");
	return fp_hold(args[0], t, added);
}

/* ---- tables this plugin owns -------------------------------------------------------------------------- */

static uint64_t fpy_o_size(fp_owned* o);
static ss_plugin_table_entry_t* fpy_o_get_entry(fp_owned* o, const ss_plugin_state_data* key);
static int fpy_o_read(fp_owned* o, ss_plugin_table_entry_t* e, const ss_plugin_table_field_t* f, ss_plugin_state_data* out);
static void fpy_o_release(fp_owned* o, ss_plugin_table_entry_t* e);
static int fpy_o_iterate(fp_owned* o, ss_plugin_table_iterator_func_t it, ss_plugin_table_iterator_state_t* st);
static int fpy_o_clear(fp_owned* o);
static int fpy_o_erase(fp_owned* o, const ss_plugin_state_data* key);
static ss_plugin_table_entry_t* fpy_o_create(fp_owned* o);
static void fpy_o_destroy(fp_owned* o, ss_plugin_table_entry_t* e);
static ss_plugin_table_entry_t* fpy_o_add(fp_owned* o, const ss_plugin_state_data* key, ss_plugin_table_entry_t* e);
static int fpy_o_write(fp_owned* o, ss_plugin_table_entry_t* e, const ss_plugin_table_field_t* f, const ss_plugin_state_data* in);
static const ss_plugin_table_fieldinfo* fpy_o_list_fields(fp_owned* o, uint32_t* n);
static ss_plugin_table_field_t* fpy_o_get_field(fp_owned* o, const char* name, ss_plugin_state_type type);
static ss_plugin_table_field_t* fpy_o_add_field(fp_owned* o, const char* name, ss_plugin_state_type type);

static const char* fp_o_name(ss_plugin_table_t* t) { return t != NULL ? ((fp_owned*)t)->name : NULL; }

static uint64_t fp_o_size(ss_plugin_table_t* t) {
	return t != NULL && fp_enter() ? fpy_o_size(t) : FP_UINT64_MAX;
}

static ss_plugin_table_entry_t* fp_o_get_entry(ss_plugin_table_t* t, const ss_plugin_state_data* key) {
	return t != NULL && key != NULL && fp_enter() ? fpy_o_get_entry(t, key) : NULL;
}

static ss_plugin_rc fp_o_read(ss_plugin_table_t* t, ss_plugin_table_entry_t* e, const ss_plugin_table_field_t* f,
                              ss_plugin_state_data* out) {
	if (out != NULL) memset(out, 0, sizeof *out);
	if (t == NULL || e == NULL || f == NULL || out == NULL || !fp_enter()) return SS_PLUGIN_FAILURE;
	return (ss_plugin_rc)fpy_o_read(t, e, f, out);
}

static void fp_o_release(ss_plugin_table_t* t, ss_plugin_table_entry_t* e) {
	if (t != NULL && e != NULL && fp_enter()) fpy_o_release(t, e);
}

static ss_plugin_bool fp_o_iterate(ss_plugin_table_t* t, ss_plugin_table_iterator_func_t it,
                                   ss_plugin_table_iterator_state_t* st) {
	return t != NULL && it != NULL && fp_enter() ? (ss_plugin_bool)fpy_o_iterate(t, it, st) : 0;
}

static ss_plugin_rc fp_o_clear(ss_plugin_table_t* t) {
	return t != NULL && fp_enter() ? (ss_plugin_rc)fpy_o_clear(t) : SS_PLUGIN_FAILURE;
}

static ss_plugin_rc fp_o_erase(ss_plugin_table_t* t, const ss_plugin_state_data* key) {
	return t != NULL && key != NULL && fp_enter() ? (ss_plugin_rc)fpy_o_erase(t, key) : SS_PLUGIN_FAILURE;
}

static ss_plugin_table_entry_t* fp_o_create(ss_plugin_table_t* t) {
	return t != NULL && fp_enter() ? fpy_o_create(t) : NULL;
}

static void fp_o_destroy(ss_plugin_table_t* t, ss_plugin_table_entry_t* e) {
	if (t != NULL && e != NULL && fp_enter()) fpy_o_destroy(t, e);
}

static ss_plugin_table_entry_t* fp_o_add(ss_plugin_table_t* t, const ss_plugin_state_data* key, ss_plugin_table_entry_t* e) {
	return t != NULL && key != NULL && e != NULL && fp_enter() ? fpy_o_add(t, key, e) : NULL;
}

static ss_plugin_rc fp_o_write(ss_plugin_table_t* t, ss_plugin_table_entry_t* e, const ss_plugin_table_field_t* f,
                               const ss_plugin_state_data* in) {
	if (t == NULL || e == NULL || f == NULL || in == NULL || !fp_enter()) return SS_PLUGIN_FAILURE;
	return (ss_plugin_rc)fpy_o_write(t, e, f, in);
}

static const ss_plugin_table_fieldinfo* fp_o_list_fields(ss_plugin_table_t* t, uint32_t* n) {
	if (n != NULL) *n = 0;
	return t != NULL && n != NULL && fp_enter() ? fpy_o_list_fields(t, n) : NULL;
}

static ss_plugin_table_field_t* fp_o_get_field(ss_plugin_table_t* t, const char* name, ss_plugin_state_type type) {
	return t != NULL && name != NULL && fp_enter() ? fpy_o_get_field(t, name, type) : NULL;
}

static ss_plugin_table_field_t* fp_o_add_field(ss_plugin_table_t* t, const char* name, ss_plugin_state_type type) {
	return t != NULL && name != NULL && fp_enter() ? fpy_o_add_field(t, name, type) : NULL;
}

/* t_add_table(state, table_id, name, key_type): register a table this plugin owns (init only). */
static PyObject* fp_n_t_add_table(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
	(void)self;
	if (fp_nargs(nargs, 4, "t_add_table") != 0) return NULL;
	fp_state* s = fp_arg_state(args[0]);
	if (s == NULL) return NULL;
	unsigned long long id = PyLong_AsUnsignedLongLong(args[1]);
	const char* name = PyUnicode_AsUTF8(args[2]);
	long key_type = PyLong_AsLong(args[3]);
	if (name == NULL || PyErr_Occurred()) return NULL;
	if (s->tables_in == NULL || s->tables_in->add_table == NULL) {
		PyErr_SetString(fp_TableError, "tables can only be added during init");
		return NULL;
	}
	if (fp_reserve((void**)&s->owned, &s->ownedcap, s->nowned + 1, sizeof(fp_owned*)) != 0) return PyErr_NoMemory();
	fp_owned* o = calloc(1, sizeof *o);
	if (o == NULL || (o->name = fp_strdup(name)) == NULL) {
		free(o);
		return PyErr_NoMemory();
	}
	o->s = s;
	o->id = id;
	o->reader = (ss_plugin_table_reader_vtable_ext){fp_o_name, fp_o_size, fp_o_get_entry, fp_o_read, fp_o_release, fp_o_iterate};
	o->writer = (ss_plugin_table_writer_vtable_ext){fp_o_clear, fp_o_erase, fp_o_create, fp_o_destroy, fp_o_add, fp_o_write};
	o->fields = (ss_plugin_table_fields_vtable_ext){fp_o_list_fields, fp_o_get_field, fp_o_add_field};
	ss_plugin_table_input in;
	memset(&in, 0, sizeof in);
	in.name = o->name;
	in.key_type = (ss_plugin_state_type)key_type;
	in.table = o;
	/* the deprecated by-value vtables must be the very functions of the _ext ones */
	in.reader = (ss_plugin_table_reader_vtable){fp_o_name, fp_o_size, fp_o_get_entry, fp_o_read};
	in.writer = (ss_plugin_table_writer_vtable){fp_o_clear, fp_o_erase, fp_o_create, fp_o_destroy, fp_o_add, fp_o_write};
	in.fields = (ss_plugin_table_fields_vtable){fp_o_list_fields, fp_o_get_field, fp_o_add_field};
	in.reader_ext = &o->reader;
	in.writer_ext = &o->writer;
	in.fields_ext = &o->fields;
	if (s->tables_in->add_table(s->owner, &in) != SS_PLUGIN_SUCCESS) {
		free(o->name);
		free(o);
		return fp_table_fail(s, "add_table failed");
	}
	s->owned[s->nowned++] = o;
	return PyLong_FromVoidPtr(o);
}

static void fp_free_owned(fp_state* s) {
	for (size_t i = 0; i < s->nowned; i++) {
		free(s->owned[i]->name);
		free(s->owned[i]);
	}
	free(s->owned);
	s->owned = NULL;
	s->nowned = s->ownedcap = 0;
}

#define FP_TABLE_NATIVES                                                   \
	{"t_list", (PyCFunction)(void (*)(void))fp_n_t_list, METH_FASTCALL, NULL},           \
	{"t_get", (PyCFunction)(void (*)(void))fp_n_t_get, METH_FASTCALL, NULL},             \
	{"owner_error", (PyCFunction)(void (*)(void))fp_n_owner_error, METH_FASTCALL, NULL}, \
	{"t_fields", (PyCFunction)(void (*)(void))fp_n_t_fields, METH_FASTCALL, NULL},       \
	{"t_get_field", (PyCFunction)(void (*)(void))fp_n_t_get_field, METH_FASTCALL, NULL}, \
	{"t_add_field", (PyCFunction)(void (*)(void))fp_n_t_add_field, METH_FASTCALL, NULL}, \
	{"t_name", (PyCFunction)(void (*)(void))fp_n_t_name, METH_FASTCALL, NULL},           \
	{"t_size", (PyCFunction)(void (*)(void))fp_n_t_size, METH_FASTCALL, NULL},           \
	{"t_get_entry", (PyCFunction)(void (*)(void))fp_n_t_get_entry, METH_FASTCALL, NULL}, \
	{"t_read", (PyCFunction)(void (*)(void))fp_n_t_read, METH_FASTCALL, NULL},           \
	{"t_write", (PyCFunction)(void (*)(void))fp_n_t_write, METH_FASTCALL, NULL},         \
	{"t_release", (PyCFunction)(void (*)(void))fp_n_t_release, METH_FASTCALL, NULL},     \
	{"t_iter", (PyCFunction)(void (*)(void))fp_n_t_iter, METH_FASTCALL, NULL},           \
	{"t_clear", (PyCFunction)(void (*)(void))fp_n_t_clear, METH_FASTCALL, NULL},         \
	{"t_erase", (PyCFunction)(void (*)(void))fp_n_t_erase, METH_FASTCALL, NULL},         \
	{"t_create", (PyCFunction)(void (*)(void))fp_n_t_create, METH_FASTCALL, NULL},       \
	{"t_destroy", (PyCFunction)(void (*)(void))fp_n_t_destroy, METH_FASTCALL, NULL},     \
	{"t_add", (PyCFunction)(void (*)(void))fp_n_t_add, METH_FASTCALL, NULL},             \
	{"t_add_table", (PyCFunction)(void (*)(void))fp_n_t_add_table, METH_FASTCALL, NULL},
