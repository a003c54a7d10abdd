/* The optional C twins of four hot loops of the comparison (see harness/speedups.py).
 *
 * Each function does what its pure-Python twin does, value for value: the twins are the
 * reference, and tests/test_speedups.py checks each pair against the other on drawn data. Only
 * mechanics live here (reading values out of rows, typing them, walking JSON containers,
 * comparing two columns); what a type means for the comparison is decided in Python.
 *
 * No Python code runs while a dict is iterated (keys are compared only when they are exact
 * str), so a dict cannot change under PyDict_Next.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Add `type` to `found` unless it is `*last` (runs of one type cost a pointer compare).
   -2 for a class whose metaclass hashes or compares it with its own code: that code could
   change the rows being read, so the caller leaves them to the Python twin. */
static inline int
note_type(PyObject *found, PyTypeObject **last, PyTypeObject *type)
{
    if (type == *last) {
        return 0;
    }
    if (Py_TYPE(type)->tp_hash != PyType_Type.tp_hash
        || Py_TYPE(type)->tp_richcompare != PyType_Type.tp_richcompare) {
        return -2;
    }
    *last = type;
    return PySet_Add(found, (PyObject *)type);
}

/* Whether a function got `want` arguments (else TypeError showing how it is called). */
static int
arity(Py_ssize_t nargs, Py_ssize_t want, const char *usage)
{
    if (nargs != want) {
        PyErr_SetString(PyExc_TypeError, usage);
        return 0;
    }
    return 1;
}

/* An int argument as a Py_ssize_t: 0, or -1 with the error set. */
static int
size_arg(PyObject *arg, Py_ssize_t *out)
{
    *out = PyLong_AsSsize_t(arg);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* `width` new lists of `count` empty slots each and as many empty sets, as a pair of lists. */
static int
new_columns(Py_ssize_t width, Py_ssize_t count, PyObject **columns, PyObject **founds)
{
    *columns = PyList_New(width);
    *founds = PyList_New(width);
    if (*columns == NULL || *founds == NULL) {
        return -1;
    }
    for (Py_ssize_t c = 0; c < width; c++) {
        PyObject *column = PyList_New(count);
        if (column == NULL) {
            return -1;
        }
        PyList_SET_ITEM(*columns, c, column);
        PyObject *found = PySet_New(NULL);
        if (found == NULL) {
            return -1;
        }
        PyList_SET_ITEM(*founds, c, found);
    }
    return 0;
}

/* What a column pass ends with, by its outcome: the columns and their types (0), None (-2:
   rows it leaves to the Python twin) or NULL (-1: an error); the scratch memory freed. */
static PyObject *
typed_result(int outcome, PyObject *columns, PyObject *founds, void *scratch1, void *scratch2)
{
    PyMem_Free(scratch1);
    PyMem_Free(scratch2);
    PyObject *result = NULL;
    if (outcome == 0) {
        result = PyTuple_Pack(2, columns, founds);
    }
    else if (outcome == -2) {
        result = Py_NewRef(Py_None);
    }
    Py_XDECREF(columns);
    Py_XDECREF(founds);
    return result;
}

PyDoc_STRVAR(tuple_columns_doc,
"tuple_columns(rows, width, /)\n--\n\n"
"The columns of a list of tuples of `width` values each, one list per column, and the set of\n"
"types of each column: ``(columns, founds)``; None when `rows` is not such a list, or holds a\n"
"value of a class whose metaclass hashes or compares it in Python (the Python twin reads\n"
"those).");

static PyObject *
tuple_columns(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t width;
    if (!arity(nargs, 2, "tuple_columns(rows, width)") || size_arg(args[1], &width) < 0) {
        return NULL;
    }
    PyObject *rows = args[0];
    if (!PyList_CheckExact(rows) || width < 0) {
        Py_RETURN_NONE;
    }
    Py_ssize_t count = PyList_GET_SIZE(rows);
    for (Py_ssize_t r = 0; r < count; r++) {
        PyObject *row = PyList_GET_ITEM(rows, r);
        if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != width) {
            Py_RETURN_NONE;
        }
    }
    PyObject *columns = NULL, *founds = NULL;
    PyTypeObject **last = PyMem_Calloc(width ? width : 1, sizeof(PyTypeObject *));
    if (last == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    int outcome = new_columns(width, count, &columns, &founds);
    for (Py_ssize_t c = 0; outcome == 0 && c < width; c++) {
        PyObject *column = PyList_GET_ITEM(columns, c);
        PyObject *found = PyList_GET_ITEM(founds, c);
        for (Py_ssize_t r = 0; outcome == 0 && r < count; r++) {
            PyObject *value = PyTuple_GET_ITEM(PyList_GET_ITEM(rows, r), c);
            outcome = note_type(found, &last[c], Py_TYPE(value));
            Py_INCREF(value);
            PyList_SET_ITEM(column, r, value);
        }
    }
    return typed_result(outcome, columns, founds, last, NULL);
}

PyDoc_STRVAR(dict_columns_doc,
"dict_columns(dicts, keys, positions, /)\n--\n\n"
"The values at `positions` (indices into `keys`, a tuple of str) of a list of dicts that each\n"
"hold exactly `keys` in that order, one list per position, and the set of types of each:\n"
"``(columns, founds)``. None when a dict holds other keys, more or fewer, or the same in\n"
"another order, a value of a class whose metaclass hashes or compares it in Python, or when\n"
"`positions` names a key twice.");

static PyObject *
dict_columns(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    static const char usage[] = "dict_columns(dicts, keys: tuple, positions: tuple)";
    if (!arity(nargs, 3, usage)) {
        return NULL;
    }
    if (!PyTuple_CheckExact(args[1]) || !PyTuple_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, usage);
        return NULL;
    }
    PyObject *dicts = args[0], *keys = args[1], *positions = args[2];
    if (!PyList_CheckExact(dicts)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t width = PyTuple_GET_SIZE(keys), chosen = PyTuple_GET_SIZE(positions);
    Py_ssize_t count = PyList_GET_SIZE(dicts);
    for (Py_ssize_t k = 0; k < width; k++) {
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(keys, k))) {
            Py_RETURN_NONE;
        }
    }
    /* slot[k]: the column that the value of key k goes to, or -1 */
    Py_ssize_t *slot = PyMem_Malloc((width ? width : 1) * sizeof(Py_ssize_t));
    PyTypeObject **last = PyMem_Calloc(chosen ? chosen : 1, sizeof(PyTypeObject *));
    PyObject *columns = NULL, *founds = NULL;
    if (slot == NULL || last == NULL) {
        PyErr_NoMemory();
        return typed_result(-1, columns, founds, slot, last);
    }
    for (Py_ssize_t k = 0; k < width; k++) {
        slot[k] = -1;
    }
    for (Py_ssize_t c = 0; c < chosen; c++) {
        Py_ssize_t k;
        if (size_arg(PyTuple_GET_ITEM(positions, c), &k) < 0) {
            return typed_result(-1, columns, founds, slot, last);
        }
        if (k < 0 || k >= width) {
            PyErr_SetString(PyExc_IndexError, "dict_columns: a position beyond the keys");
            return typed_result(-1, columns, founds, slot, last);
        }
        if (slot[k] != -1) { /* one key read into two columns: left to the Python twin */
            return typed_result(-2, columns, founds, slot, last);
        }
        slot[k] = c;
    }
    int outcome = new_columns(chosen, count, &columns, &founds);
    for (Py_ssize_t r = 0; outcome == 0 && r < count; r++) {
        PyObject *d = PyList_GET_ITEM(dicts, r);
        if (!PyDict_CheckExact(d) || PyDict_GET_SIZE(d) != width) {
            outcome = -2;
            break;
        }
        Py_ssize_t at = 0, k = 0;
        PyObject *key, *value;
        while (outcome == 0 && PyDict_Next(d, &at, &key, &value)) {
            PyObject *want = PyTuple_GET_ITEM(keys, k);
            if (key != want
                && !(PyUnicode_CheckExact(key) && PyUnicode_Compare(key, want) == 0)) {
                outcome = -2;
                break;
            }
            Py_ssize_t c = slot[k++];
            if (c >= 0) {
                outcome = note_type(PyList_GET_ITEM(founds, c), &last[c], Py_TYPE(value));
                Py_INCREF(value);
                PyList_SET_ITEM(PyList_GET_ITEM(columns, c), r, value);
            }
        }
    }
    return typed_result(outcome, columns, founds, slot, last);
}

/* The exact types JSON documents are made of, as json.loads gives them. */
static inline int
json_type(PyTypeObject *type)
{
    return type == &PyUnicode_Type || type == &PyLong_Type || type == &PyFloat_Type
           || type == &PyBool_Type || type == Py_TYPE(Py_None) || type == &PyDict_Type
           || type == &PyList_Type;
}

typedef struct {
    PyObject *keys;      /* every dict key seen */
    PyObject *held;      /* every type held inside a container */
    PyTypeObject *last;  /* the type added to `held` last */
    Py_ssize_t deepest;  /* the most containers one value may lie inside */
} Facts;

/* 1: walked, every value JSON-native with str keys; 0: something else found, or nesting
   deeper than facts->deepest; -1: an error. */
static int walk_container(Facts *facts, PyObject *container, Py_ssize_t depth);

static int
walk_value(Facts *facts, PyObject *value, Py_ssize_t depth)
{
    PyTypeObject *type = Py_TYPE(value);
    if (!json_type(type)) {
        return 0;
    }
    if (note_type(facts->held, &facts->last, type) < 0) {
        return -1;
    }
    if (type == &PyDict_Type || type == &PyList_Type) {
        return walk_container(facts, value, depth + 1);
    }
    return 1;
}

/* Walk a dict or list lying inside `depth - 1` others. */
static int
walk_container(Facts *facts, PyObject *container, Py_ssize_t depth)
{
    int found = 1;
    if (depth > facts->deepest) {
        return 0;
    }
    if (PyDict_CheckExact(container)) {
        Py_ssize_t at = 0;
        PyObject *key, *value;
        while (found == 1 && PyDict_Next(container, &at, &key, &value)) {
            if (!PyUnicode_CheckExact(key)) {
                found = 0;
            }
            else if (PySet_Add(facts->keys, key) < 0) {
                found = -1;
            }
            else {
                found = walk_value(facts, value, depth);
            }
        }
    }
    else {
        /* A list: items are read one at a time by index, and the list is held while its
           items are walked, since nothing here runs Python code that could change it. */
        for (Py_ssize_t i = 0; found == 1 && i < PyList_GET_SIZE(container); i++) {
            found = walk_value(facts, PyList_GET_ITEM(container, i), depth);
        }
    }
    return found;
}

PyDoc_STRVAR(json_facts_doc,
"json_facts(values, deepest, /)\n--\n\n"
"Walk the dicts and lists in the list `values` (other values are passed over): when every\n"
"value they hold is of a JSON type (str, int, float, bool, None, dict, list; exactly), every\n"
"dict key is a str and no value lies inside more than `deepest` containers, return\n"
"``(keys, held)``: the keys of every dict walked and the types held inside containers; None\n"
"otherwise.");

static PyObject *
json_facts(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t deepest;
    if (!arity(nargs, 2, "json_facts(values: list, deepest: int)")
        || size_arg(args[1], &deepest) < 0) {
        return NULL;
    }
    PyObject *values = args[0];
    if (!PyList_CheckExact(values)) {
        PyErr_SetString(PyExc_TypeError, "json_facts(values: list, deepest: int)");
        return NULL;
    }
    Facts facts = {PySet_New(NULL), PySet_New(NULL), NULL, deepest};
    int found = (facts.keys != NULL && facts.held != NULL) ? 1 : -1;
    for (Py_ssize_t i = 0; found == 1 && i < PyList_GET_SIZE(values); i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        if (PyDict_CheckExact(value) || PyList_CheckExact(value)) {
            found = walk_container(&facts, value, 1);
        }
    }
    PyObject *result = NULL;
    if (found == 1) {
        result = PyTuple_Pack(2, facts.keys, facts.held);
    }
    else if (found == 0) {
        result = Py_NewRef(Py_None);
    }
    Py_XDECREF(facts.keys);
    Py_XDECREF(facts.held);
    return result;
}

/* The position that entry `p` of `index` (None: p itself) names in a sequence of `size`. */
static inline Py_ssize_t
pick(PyObject *index, Py_ssize_t p, Py_ssize_t size)
{
    if (index == Py_None) {
        return p;
    }
    if (p >= PyList_GET_SIZE(index)) {
        PyErr_SetString(PyExc_IndexError, "differing: an index shorter than count");
        return -1;
    }
    Py_ssize_t at;
    if (size_arg(PyList_GET_ITEM(index, p), &at) < 0) {
        return -1;
    }
    if (at < 0 || at >= size) {
        PyErr_SetString(PyExc_IndexError, "differing: an index beyond its values");
        return -1;
    }
    return at;
}

PyDoc_STRVAR(differing_doc,
"differing(left, right, index_l, index_r, count, /)\n--\n\n"
"The positions p in range(count) where ``left[index_l[p]] == right[index_r[p]]`` is not true\n"
"(an index list None: p itself), as a list; `left` and `right` are lists or tuples. Equality\n"
"is that of a tuple's items (an object is equal to itself); an error raised by == propagates.");

static PyObject *
differing(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t count;
    if (!arity(nargs, 5, "differing(left, right, index_l, index_r, count)")
        || size_arg(args[4], &count) < 0) {
        return NULL;
    }
    PyObject *index_l = args[2], *index_r = args[3];
    if ((index_l != Py_None && !PyList_CheckExact(index_l))
        || (index_r != Py_None && !PyList_CheckExact(index_r))) {
        PyErr_SetString(PyExc_TypeError, "differing: an index is a list or None");
        return NULL;
    }
    if ((index_l != Py_None && PyList_GET_SIZE(index_l) < count)
        || (index_r != Py_None && PyList_GET_SIZE(index_r) < count)) {
        PyErr_SetString(PyExc_IndexError, "differing: an index shorter than count");
        return NULL;
    }
    PyObject *left = PySequence_Fast(args[0], "differing: left is a list or tuple");
    if (left == NULL) {
        return NULL;
    }
    PyObject *right = PySequence_Fast(args[1], "differing: right is a list or tuple");
    if (right == NULL) {
        Py_DECREF(left);
        return NULL;
    }
    PyObject *out = PyList_New(0);
    for (Py_ssize_t p = 0; out != NULL && p < count; p++) {
        /* == may run Python code that shrinks a list: sizes and items are read afresh. */
        Py_ssize_t a = pick(index_l, p, PySequence_Fast_GET_SIZE(left));
        Py_ssize_t b = a < 0 ? -1 : pick(index_r, p, PySequence_Fast_GET_SIZE(right));
        if (b < 0) {
            Py_CLEAR(out);
            break;
        }
        PyObject *x = Py_NewRef(PySequence_Fast_GET_ITEM(left, a));
        PyObject *y = Py_NewRef(PySequence_Fast_GET_ITEM(right, b));
        int same = PyObject_RichCompareBool(x, y, Py_EQ);
        Py_DECREF(x);
        Py_DECREF(y);
        if (same < 0) {
            Py_CLEAR(out);
            break;
        }
        if (!same) {
            PyObject *position = PyLong_FromSsize_t(p);
            if (position == NULL || PyList_Append(out, position) < 0) {
                Py_XDECREF(position);
                Py_CLEAR(out);
                break;
            }
            Py_DECREF(position);
        }
    }
    Py_DECREF(left);
    Py_DECREF(right);
    return out;
}

static PyMethodDef methods[] = {
    {"tuple_columns", (PyCFunction)(void (*)(void))tuple_columns, METH_FASTCALL,
     tuple_columns_doc},
    {"dict_columns", (PyCFunction)(void (*)(void))dict_columns, METH_FASTCALL,
     dict_columns_doc},
    {"json_facts", (PyCFunction)(void (*)(void))json_facts, METH_FASTCALL, json_facts_doc},
    {"differing", (PyCFunction)(void (*)(void))differing, METH_FASTCALL, differing_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "harness._speedups",
    .m_doc = "C twins of the comparison's hot loops; see harness.speedups.",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&module_def);
}
