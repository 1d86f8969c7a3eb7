/* A minimal JSON reader and writer for the C example (enough for examples/sequence.json): objects,
 * arrays, strings (with escapes, \uXXXX to UTF-8), numbers, true/false/null. Single header;
 * memory is never freed (the program is short-lived). */
#ifndef EXAMPLE_JSON_H
#define EXAMPLE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
  jtype t;
  int b;
  double num;
  char* s;            /* J_STR: bytes (not NUL-terminated in general: use slen) */
  size_t slen;
  struct jval** items; /* J_ARR elements, J_OBJ values */
  char** keys;         /* J_OBJ keys (NUL-terminated) */
  size_t n;
} jval;

typedef struct {
  const char* p;
  const char* end;
} jparser;

static void* jalloc(size_t n) {
  void* p = calloc(1, n ? n : 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static void jskip(jparser* ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')) ps->p++;
}

static jval* jparse_value(jparser* ps);

static void jpush(jval* v, jval* item, char* key) {
  v->items = realloc(v->items, (v->n + 1) * sizeof *v->items);
  if (v->t == J_OBJ) v->keys = realloc(v->keys, (v->n + 1) * sizeof *v->keys);
  if (!v->items || (v->t == J_OBJ && !v->keys)) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  v->items[v->n] = item;
  if (v->t == J_OBJ) v->keys[v->n] = key;
  v->n++;
}

static size_t jutf8(uint32_t cp, char* out) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) { out[0] = (char)(0xC0 | cp >> 6); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | cp >> 18); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static int jhex4(jparser* ps, uint32_t* out) {
  if (ps->end - ps->p < 4) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = *ps->p++;
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

/* Parses a string starting at the opening quote; returns a NUL-terminated copy, its length in *len. */
static char* jparse_string(jparser* ps, size_t* len) {
  if (ps->p >= ps->end || *ps->p != '"') return NULL;
  ps->p++;
  char* out = jalloc((size_t)(ps->end - ps->p) + 1);
  size_t n = 0;
  while (ps->p < ps->end && *ps->p != '"') {
    char c = *ps->p++;
    if (c != '\\') { out[n++] = c; continue; }
    if (ps->p >= ps->end) return NULL;
    char e = *ps->p++;
    switch (e) {
      case '"': case '\\': case '/': out[n++] = e; break;
      case 'b': out[n++] = '\b'; break;
      case 'f': out[n++] = '\f'; break;
      case 'n': out[n++] = '\n'; break;
      case 'r': out[n++] = '\r'; break;
      case 't': out[n++] = '\t'; break;
      case 'u': {
        uint32_t cp, lo;
        if (!jhex4(ps, &cp)) return NULL;
        if (cp >= 0xD800 && cp < 0xDC00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
          ps->p += 2;
          if (!jhex4(ps, &lo)) return NULL;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        n += jutf8(cp, out + n);
        break;
      }
      default: return NULL;
    }
  }
  if (ps->p >= ps->end) return NULL;
  ps->p++; /* closing quote */
  out[n] = 0;
  *len = n;
  return out;
}

static jval* jparse_value(jparser* ps) {
  jskip(ps);
  if (ps->p >= ps->end) return NULL;
  jval* v = jalloc(sizeof *v);
  char c = *ps->p;
  if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    v->t = c == '{' ? J_OBJ : J_ARR;
    ps->p++;
    jskip(ps);
    if (ps->p < ps->end && *ps->p == close) { ps->p++; return v; }
    for (;;) {
      char* key = NULL;
      if (v->t == J_OBJ) {
        size_t klen;
        jskip(ps);
        if (!(key = jparse_string(ps, &klen))) return NULL;
        jskip(ps);
        if (ps->p >= ps->end || *ps->p++ != ':') return NULL;
      }
      jval* item = jparse_value(ps);
      if (!item) return NULL;
      jpush(v, item, key);
      jskip(ps);
      if (ps->p >= ps->end) return NULL;
      if (*ps->p == ',') { ps->p++; continue; }
      if (*ps->p == close) { ps->p++; return v; }
      return NULL;
    }
  }
  if (c == '"') {
    v->t = J_STR;
    return (v->s = jparse_string(ps, &v->slen)) ? v : NULL;
  }
  if (ps->end - ps->p >= 4 && !strncmp(ps->p, "true", 4)) { v->t = J_BOOL; v->b = 1; ps->p += 4; return v; }
  if (ps->end - ps->p >= 5 && !strncmp(ps->p, "false", 5)) { v->t = J_BOOL; ps->p += 5; return v; }
  if (ps->end - ps->p >= 4 && !strncmp(ps->p, "null", 4)) { v->t = J_NULL; ps->p += 4; return v; }
  char* after;
  v->t = J_NUM;
  v->num = strtod(ps->p, &after);
  if (after == ps->p) return NULL;
  ps->p = after;
  return v;
}

/* Parses a whole document; NULL on a syntax error. `text` must be NUL-terminated (strtod). */
static jval* jparse(const char* text, size_t len) {
  jparser ps = {text, text + len};
  jval* v = jparse_value(&ps);
  jskip(&ps);
  return ps.p == ps.end ? v : NULL;
}

/* The member `key` of an object, or NULL. */
static jval* jget(const jval* obj, const char* key) {
  if (!obj || obj->t != J_OBJ) return NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (!strcmp(obj->keys[i], key)) return obj->items[i];
  return NULL;
}

/* ---- output: a growable string buffer ---- */

typedef struct {
  char* data;
  size_t len, cap;
} jbuf;

static void jb_put(jbuf* b, const char* s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->data = realloc(b->data, b->cap);
    if (!b->data) {
      fprintf(stderr, "out of memory\n");
      exit(2);
    }
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

static void jb_puts(jbuf* b, const char* s) { jb_put(b, s, strlen(s)); }

static void jb_printf(jbuf* b, const char* fmt, double v) {
  char tmp[64];
  int n = snprintf(tmp, sizeof tmp, fmt, v);
  jb_put(b, tmp, (size_t)n);
}

/* A JSON string literal of `n` bytes (UTF-8 passed through, controls escaped). */
static void jb_string(jbuf* b, const uint8_t* s, size_t n) {
  jb_put(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      jb_put(b, e, 2);
    } else if (c < 0x20) {
      char e[8];
      snprintf(e, sizeof e, "\\u%04x", c);
      jb_put(b, e, 6);
    } else {
      jb_put(b, (const char*)&s[i], 1);
    }
  }
  jb_put(b, "\"", 1);
}

#endif
