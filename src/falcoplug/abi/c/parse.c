/* The parse loop of a batch, as sinsp::next runs it for each event: the `threads` entry of a
 * syscall event's thread (made by Python when missing), then every parsing plugin in order
 * (those whose event-type filter takes the event). The GIL is held for the whole batch, so the
 * table callbacks the plugins make (tables.c) need not take it one by one. */

typedef struct fpt_parser {
    void* parse_event;                     /* the plugin's plugin_parse_event */
    ss_plugin_t* state;
    ss_plugin_event_parse_input* input;
    const uint8_t* type_ok;                /* indexed by event type; NULL: every type */
    uint32_t ntypes;
} fpt_parser;

typedef ss_plugin_rc (*fpt_parse_fn)(ss_plugin_t*, const ss_plugin_event_input*, const ss_plugin_event_parse_input*);

/* `threads` / `ensure`: the threads table's dict and the Python function that adds an entry for a
 * thread id (NULL for events of other sources). Returns the index of the first event not parsed
 * (n when all were), -1 - i if making the thread entry of event i raised (the error is cleared:
 * Python parses from there on to report it). */
int64_t fpt_parse_batch(const fpt_parser* parsers, uint32_t nparsers, const uint8_t* data, const uint64_t* offs,
                        uint32_t n, uint64_t first_num, const char* evtsrc, void* threads, void* ensure) {
    ss_plugin_event_input in;
    in.evtsrc = evtsrc;
    int64_t stopped = n;
    PyGILState_STATE gil = PyGILState_Ensure();
    for (uint32_t i = 0; i < n; i++) {
        const ss_plugin_event* evt = (const ss_plugin_event*)(data + offs[i]);
        if (threads != NULL && (int64_t)evt->tid != -1) {
            PyObject* tid = PyLong_FromLongLong((int64_t)evt->tid);
            int known = tid != NULL ? PyDict_Contains((PyObject*)threads, tid) : -1;
            if (known == 0) {
                PyObject* made = PyObject_CallFunctionObjArgs((PyObject*)ensure, tid, NULL);
                known = made != NULL;
                Py_XDECREF(made);
            }
            Py_XDECREF(tid);
            if (known != 1) {
                PyErr_Clear();
                stopped = -1 - (int64_t)i;
                break;
            }
        }
        in.evt = evt;
        in.evtnum = first_num + i;
        uint16_t type = evt->type;
        for (uint32_t p = 0; p < nparsers; p++) {
            const fpt_parser* parser = &parsers[p];
            if (parser->type_ok != NULL && (type >= parser->ntypes || !parser->type_ok[type])) continue;
            ((fpt_parse_fn)parser->parse_event)(parser->state, &in, parser->input);
        }
    }
    PyGILState_Release(gil);
    return stopped;
}

/* One event for one parser, with the GIL held across the call so that the plugin's table calls
 * need not take it one by one: the path of events handed out one at a time. */
int32_t fpt_parse_one(const fpt_parser* parser, const ss_plugin_event_input* in) {
    PyGILState_STATE gil = PyGILState_Ensure();
    ss_plugin_rc rc = ((fpt_parse_fn)parser->parse_event)(parser->state, in, parser->input);
    PyGILState_Release(gil);
    return rc;
}
