/*
 * A native host for the arenacache core, written from docs/ABI.md alone.
 *
 * build/arenacache.wasm (the non-shared build: no imports, no threads, no SIMD) is turned into C by
 * wasm2c (wabt 1.0.32), which names the exports Z_arenacacheZ_<export>(instance, ...). This program
 * runs the operation sequence of examples/sequence.json against the raw ABI — key and value in the
 * slot's I/O area, return codes, the eviction log, both batch layouts, the stats snapshot — times
 * get, and prints one JSON line comparable with the JavaScript examples' output.
 *
 *   make -C examples/c run        (or see examples/c/README.md for the two commands)
 *
 * Assumes a little-endian machine: the core's memory is little-endian and read here with memcpy.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arenacache.h" /* generated: wasm2c build/arenacache.wasm -n arenacache -o arenacache.c */
#include "wasm-rt-impl.h"
#include "json.h"

#define ABI_EXPECTED 2u

/* ABI.md section 13: return codes. */
enum { OK = 0, NOT_FOUND = -1, E_KEY_TOO_LONG = -2, E_TOO_LARGE = -3, E_BAD_ARG = -4, E_LOG_FULL = -5,
       E_NOT_READY = -6, E_NO_MEMORY = -7, E_NO_SLOT = -8 };

static const char* status_name(int32_t r) {
  static const char* names[] = {"OK", "NOT_FOUND", "KEY_TOO_LONG", "TOO_LARGE", "BAD_ARG",
                                "LOG_FULL", "NOT_READY", "NO_MEMORY", "NO_SLOT"};
  return r <= 0 && r >= -8 ? names[-r] : "UNKNOWN";
}

/* ABI.md section 4: header fields (offsets from H). */
enum { H_MAGIC = 0, H_ABI = 4, H_SEGMENTS = 12, H_ENTRY_HEADER = 28, H_BUDGET = 36, H_IO_BYTES = 48, H_LOG_BYTES = 52,
       H_MAX_KEY = 56, H_MAX_VALUE = 60, H_ENTRY_LIMIT = 152 };
/* ABI.md section 9: the stats snapshot. */
enum { ST_ENTRIES = 0, ST_BYTES_USED = 4, ST_HITS = 32, ST_MISSES = 40, ST_SETS = 48, ST_DELETES = 56,
       ST_EVICTIONS = 64, ST_EXPIRATIONS = 72, ST_REJECTED = 80, STATS_SIZE = 128 };
/* ABI.md sections 3 and 5: policies, init flags, slot flags, sweep. */
enum { POLICY_LRU = 0, POLICY_CLOCK = 1, POLICY_S3FIFO = 2, INIT_LOG = 1, LOG_KEYS_AND_VALUES = 2u << 1,
       SWEEP_RESTART = 1, SW_PASS_DONE = 8 };

#define CORE(name) Z_arenacacheZ_##name
static Z_arenacache_instance_t core;
static const uint32_t SLOT = 0; /* init claims slot 0 for the caller */

static uint8_t* mem; /* linear memory base: (re)read after init, which grows the memory */
static uint32_t H, io, log_area, io_bytes, log_bytes, segments, budget, entry_header, entry_limit, max_key, max_value;
static double now_ms;

static uint32_t rd32(uint32_t off) { uint32_t v; memcpy(&v, mem + off, 4); return v; }
static uint64_t rd64(uint32_t off) { uint64_t v; memcpy(&v, mem + off, 8); return v; }
static void wr32(uint32_t off, uint32_t v) { memcpy(mem + off, &v, 4); }
static void wrf64(uint32_t off, double v) { memcpy(mem + off, &v, 8); }

static void die(const char* what) {
  fprintf(stderr, "c host: %s\n", what);
  exit(1);
}

/* ---- bytes of sequence keys and values: a string, or {len, seed} ---- */

typedef struct {
  uint8_t* p;
  uint32_t n;
} bytes;

/* len bytes where byte j = 97 + (seed + j) % 26 */
static bytes generated(uint32_t len, uint32_t seed) {
  bytes b = {jalloc(len), len};
  for (uint32_t j = 0; j < len; j++) b.p[j] = (uint8_t)(97 + (seed + j) % 26);
  return b;
}

static bytes bytes_of(const jval* spec) {
  bytes b = {0, 0};
  if (spec && spec->t == J_STR) {
    b.p = (uint8_t*)spec->s;
    b.n = (uint32_t)spec->slen;
  } else if (spec && spec->t == J_OBJ && jget(spec, "len") && jget(spec, "seed")) {
    b = generated((uint32_t)jget(spec, "len")->num, (uint32_t)jget(spec, "seed")->num);
  } else {
    die("bad key/value in the sequence");
  }
  return b;
}

static uint32_t fnv1a(const uint8_t* p, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

/* How a value appears in results: the string when <= 48 bytes, else "#<len>:<fnv1a hex>". */
static void show(jbuf* out, const uint8_t* p, int32_t n) {
  if (n < 0) {
    jb_puts(out, "null");
  } else if (n <= 48) {
    jb_string(out, p, (size_t)n);
  } else {
    char tmp[32];
    snprintf(tmp, sizeof tmp, "\"#%d:%08x\"", n, fnv1a(p, (uint32_t)n));
    jb_puts(out, tmp);
  }
}

/* ---- eviction log (ABI.md "Eviction log"): drained after every call ---- */

static jbuf evicted; /* JSON array items "[reason,key,vlen]" since the last 'evicted' op */
static int evicted_count;

static void drain_log(void) {
  if (log_bytes == 0) return;
  uint32_t count = rd32(log_area);
  uint32_t p = log_area + 8;
  for (uint32_t k = 0; k < count; k++) {
    uint32_t reason = rd32(p), klen = rd32(p + 4), vlen = rd32(p + 8);
    if (evicted_count++) jb_puts(&evicted, ",");
    jb_printf(&evicted, "[%.0f,", reason);
    jb_string(&evicted, mem + p + 12, klen);
    jb_printf(&evicted, ",%.0f]", vlen);
    p += (12 + klen + vlen + 3) & ~3u;
  }
  wr32(log_area, 0);
  wr32(log_area + 4, 0);
}

/* ---- single-key operations: key at io[0, klen), value right after it ---- */

static void put_key(bytes k) { memcpy(mem + io, k.p, k.n <= io_bytes ? k.n : io_bytes); }

static int32_t cache_set(bytes k, bytes v, double ttl) {
  /* As the JS host does, refuse what the core would refuse before calling it: nothing is counted
     (the core would count the refusal in `rejected`). Entry cost: align4(ENTRY_HEADER + key + value),
     at most ENTRY_LIMIT (ABI.md section 11). */
  if (k.n > max_key) return E_KEY_TOO_LONG;
  if (v.n > max_value || (((uint64_t)entry_header + k.n + v.n + 3) & ~(uint64_t)3) > entry_limit) return E_TOO_LARGE;
  put_key(k);
  memcpy(mem + io + k.n, v.p, v.n);
  int32_t r;
  do {
    r = (int32_t)CORE(set)(&core, SLOT, k.n, v.n, ttl, now_ms);
    drain_log(); /* on E_LOG_FULL: drain, then repeat the same call */
  } while (r == E_LOG_FULL);
  return r;
}

/* get/peek: >= 0 is the value's length, the value being at io[0, n). */
static int32_t cache_read(bytes k, int promote) {
  put_key(k);
  int32_t r = promote ? (int32_t)CORE(get)(&core, SLOT, k.n, now_ms) : (int32_t)CORE(peek)(&core, SLOT, k.n, now_ms);
  drain_log();
  return r;
}

static int32_t cache_has(bytes k) {
  put_key(k);
  int32_t r = (int32_t)CORE(has)(&core, SLOT, k.n, now_ms);
  drain_log();
  return r;
}

static int32_t cache_remove(bytes k) {
  put_key(k);
  int32_t r = (int32_t)CORE(remove)(&core, SLOT, k.n, now_ms);
  drain_log();
  return r;
}

/* ---- batches (ABI.md "Batches") ---- */

static void cache_get_many(const jval* keys, jbuf* out) {
  uint32_t n = (uint32_t)keys->n;
  uint32_t keys_off = 4 * n, kp = keys_off;
  for (uint32_t i = 0; i < n; i++) {
    bytes k = bytes_of(keys->items[i]);
    if (kp + k.n > io_bytes / 2) die("getMany: batch too large for this example");
    wr32(io + 4 * i, k.n);
    memcpy(mem + io + kp, k.p, k.n);
    kp += k.n;
  }
  uint32_t out_off = (kp + 7) & ~7u;
  jb_puts(out, "[");
  uint32_t start = 0;
  while (start < n) {
    int32_t r = (int32_t)CORE(get_many)(&core, SLOT, n, start, keys_off, out_off, now_ms);
    drain_log();
    if (r < 0) die("get_many failed");
    uint32_t vp = io + out_off + 4 * n; /* values of keys start.. follow the result table */
    for (uint32_t i = start; i < (uint32_t)r; i++) {
      int32_t len = (int32_t)rd32(io + out_off + 4 * i);
      if (i) jb_puts(out, ",");
      show(out, mem + vp, len >= 0 ? len : -1);
      if (len > 0) vp += (uint32_t)len;
    }
    if ((uint32_t)r == start) die("getMany: a value does not fit next to the batch (use get)");
    start = (uint32_t)r;
  }
  jb_puts(out, "]");
}

static const char* cache_set_many(const jval* entries) {
  uint32_t n = (uint32_t)entries->n;
  uint32_t p = 0;
  for (uint32_t i = 0; i < n; i++) {
    const jval* e = entries->items[i];
    bytes k = bytes_of(jget(e, "key")), v = bytes_of(jget(e, "value"));
    const jval* ttl = jget(e, "ttl");
    uint32_t size = (24 + k.n + v.n + 7) & ~7u;
    if (p + size > io_bytes) die("setMany: batch too large for this example");
    wr32(io + p, k.n);
    wr32(io + p + 4, v.n);
    wrf64(io + p + 8, ttl ? ttl->num : -1.0);
    wr32(io + p + 16, 0);
    wr32(io + p + 20, 0);
    memcpy(mem + io + p + 24, k.p, k.n);
    memcpy(mem + io + p + 24 + k.n, v.p, v.n);
    p += size;
  }
  uint32_t start = 0;
  while (start < n) {
    start = (uint32_t)(int32_t)CORE(set_many)(&core, SLOT, n, start, now_ms);
    drain_log(); /* a return < n means the log filled: drain and continue from there */
  }
  p = 0;
  for (uint32_t i = 0; i < n; i++) {
    int32_t status = (int32_t)rd32(io + p + 16);
    if (status != OK) return status_name(status);
    p += (24 + rd32(io + p) + rd32(io + p + 4) + 7) & ~7u;
  }
  return "OK";
}

/* ---- whole arena ---- */

/* A whole sweep pass over every segment (ABI.md, sweep): restart at the oldest block, then go on
   (bounded steps per call, draining the log) until the call that ends the pass. */
static uint32_t purge(void) {
  uint32_t total = 0;
  for (uint32_t seg = 0; seg < segments; seg++) {
    uint32_t flags = SWEEP_RESTART;
    for (;;) {
      int32_t r = (int32_t)CORE(sweep)(&core, SLOT, seg, 4096, now_ms, flags);
      if (r < 0) die("sweep failed");
      flags = 0;
      total += (uint32_t)r;
      drain_log();
      if (rd32(io + SW_PASS_DONE)) break;
    }
  }
  return total;
}

static void stats(jbuf* out) {
  uint64_t entries = 0, used = 0, hits = 0, misses = 0, sets = 0, deletes = 0, evictions = 0, expirations = 0, rejected = 0;
  for (uint32_t seg = 0; seg < segments; seg++) {
    if ((int32_t)CORE(stats)(&core, SLOT, seg) != STATS_SIZE) die("stats failed");
    entries += rd32(io + ST_ENTRIES);
    used += rd32(io + ST_BYTES_USED);
    hits += rd64(io + ST_HITS);
    misses += rd64(io + ST_MISSES);
    sets += rd64(io + ST_SETS);
    deletes += rd64(io + ST_DELETES);
    evictions += rd64(io + ST_EVICTIONS);
    expirations += rd64(io + ST_EXPIRATIONS);
    rejected += rd64(io + ST_REJECTED);
  }
  char tmp[512];
  snprintf(tmp, sizeof tmp,
           "{\"entries\":%llu,\"bytesUsed\":%llu,\"hits\":%llu,\"misses\":%llu,\"sets\":%llu,\"deletes\":%llu,"
           "\"evictions\":%llu,\"expirations\":%llu,\"rejected\":%llu}",
           (unsigned long long)entries, (unsigned long long)used, (unsigned long long)hits, (unsigned long long)misses,
           (unsigned long long)sets, (unsigned long long)deletes, (unsigned long long)evictions,
           (unsigned long long)expirations, (unsigned long long)rejected);
  jb_puts(out, tmp);
}

/* ---- set up an arena (ABI.md section 2) ---- */

static void open_arena(uint32_t max_bytes, uint32_t segs, uint32_t mkey, uint32_t mvalue, uint32_t policy, int log,
                       double default_ttl, double now, const uint32_t seed[4]) {
  Z_arenacache_instantiate(&core);
  if (CORE(abi_version)(&core) != ABI_EXPECTED) die("the core's ABI version is not the one this host was written for");
  int32_t h = (int32_t)CORE(init)(&core, max_bytes, segs, 1, mkey, mvalue, 0, policy, log ? INIT_LOG : 0, default_ttl, now,
                                  seed[0], seed[1], seed[2], seed[3]);
  if (h <= 0) {
    fprintf(stderr, "c host: init failed: %s\n", status_name(h));
    exit(1);
  }
  H = (uint32_t)h;
  mem = CORE(memory)(&core)->data; /* after init: init grew the memory */
  if (rd32(H + H_MAGIC) != 0x43414341u || rd32(H + H_ABI) != ABI_EXPECTED) die("bad arena header");
  segments = rd32(H + H_SEGMENTS);
  budget = rd32(H + H_BUDGET);
  entry_header = rd32(H + H_ENTRY_HEADER);
  entry_limit = rd32(H + H_ENTRY_LIMIT);
  io_bytes = rd32(H + H_IO_BYTES);
  log_bytes = rd32(H + H_LOG_BYTES);
  max_key = rd32(H + H_MAX_KEY);
  max_value = rd32(H + H_MAX_VALUE);
  io = CORE(io_ptr)(&core, SLOT);
  log_area = CORE(log_ptr)(&core, SLOT);
  /* Log mode 2 (keys and values) for our slot, as the JS wrapper does when it has onEvict. */
  if (log) CORE(set_flags)(&core, SLOT, LOG_KEYS_AND_VALUES);
}

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ns per get of a hot key, fastest of 5 rounds of 40k (as examples/scenario.mjs timeGets). */
static double time_gets(int copy_out, uint32_t iterations) {
  static uint8_t out[64];
  bytes key = {(uint8_t*)"hot-key", 7};
  volatile uint64_t sink = 0;
  uint32_t rounds = 5, per = iterations / rounds;
  double best = 1e30;
  for (uint32_t r = 0; r <= rounds; r++) { /* round 0 is the warm-up */
    double t0 = seconds();
    for (uint32_t i = 0; i < per; i++) {
      memcpy(mem + io, key.p, key.n);
      int32_t n = (int32_t)CORE(get)(&core, SLOT, key.n, 0.0);
      if (copy_out && n > 0) memcpy(out, mem + io, (size_t)n);
      sink += (uint64_t)n;
    }
    double dt = seconds() - t0;
    if (r > 0 && dt < best) best = dt;
  }
  if (sink != 32ull * per * (rounds + 1)) die("time_gets: wrong value length");
  return (double)(long long)(best * 1e10 / per) / 10.0;
}

static char* read_file(const char* path, size_t* len) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char* text = jalloc((size_t)n + 1);
  if (fread(text, 1, (size_t)n, f) != (size_t)n) die("cannot read the sequence");
  fclose(f);
  *len = (size_t)n;
  return text;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s examples/sequence.json\n", argv[0]);
    return 2;
  }
  size_t len;
  char* text = read_file(argv[1], &len);
  jval* spec = jparse(text, len);
  if (!spec) die("cannot parse the sequence JSON");
  const jval* cfg = jget(spec, "config");
  const jval* ops = jget(spec, "ops");
  if (!cfg || !ops || ops->t != J_ARR) die("the sequence needs config and ops");

  wasm_rt_init();
  Z_arenacache_init_module();
  /* A trap means this host broke the contract: report it and stop. */
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap != WASM_RT_TRAP_NONE) {
    fprintf(stderr, "c host: the core trapped: %s\n", wasm_rt_strerror(trap));
    return 1;
  }

  const jval* log_cfg = jget(cfg, "evictionLog");
  const jval* seed_cfg = jget(cfg, "seed");
  const char* policy_name = jget(cfg, "policy")->s;
  uint32_t policy = !strcmp(policy_name, "lru") ? POLICY_LRU : !strcmp(policy_name, "clock") ? POLICY_CLOCK : POLICY_S3FIFO;
  uint32_t seed[4];
  for (int i = 0; i < 4; i++) seed[i] = (uint32_t)seed_cfg->items[i]->num;
  now_ms = jget(cfg, "startMs")->num;
  open_arena((uint32_t)jget(cfg, "maxBytes")->num, (uint32_t)jget(cfg, "segments")->num,
             (uint32_t)jget(cfg, "maxKeyBytes")->num, (uint32_t)jget(cfg, "maxValueBytes")->num, policy,
             log_cfg && log_cfg->b, jget(cfg, "ttl")->num, now_ms, seed);

  jbuf out = {0};
  jb_puts(&out, "{\"runtime\":\"c\",");
  jb_printf(&out, "\"abi\":%.0f,\"sequence\":{\"results\":[", CORE(abi_version)(&core));
  for (size_t i = 0; i < ops->n; i++) {
    const jval* op = ops->items[i];
    const char* name = jget(op, "op")->s;
    const jval* ttl = jget(op, "ttl");
    if (i) jb_puts(&out, ",");
    if (!strcmp(name, "set")) {
      int32_t r = cache_set(bytes_of(jget(op, "key")), bytes_of(jget(op, "value")), ttl ? ttl->num : -1.0);
      jb_string(&out, (const uint8_t*)status_name(r), strlen(status_name(r)));
    } else if (!strcmp(name, "get") || !strcmp(name, "peek")) {
      int32_t r = cache_read(bytes_of(jget(op, "key")), name[0] == 'g');
      if (r < NOT_FOUND) die(status_name(r));
      show(&out, mem + io, r);
    } else if (!strcmp(name, "has")) {
      jb_puts(&out, cache_has(bytes_of(jget(op, "key"))) == 1 ? "true" : "false");
    } else if (!strcmp(name, "delete")) {
      jb_puts(&out, cache_remove(bytes_of(jget(op, "key"))) == 1 ? "true" : "false");
    } else if (!strcmp(name, "advance")) {
      now_ms += jget(op, "ms")->num;
      jb_printf(&out, "%.17g", now_ms);
    } else if (!strcmp(name, "size")) {
      jb_printf(&out, "%.0f", CORE(count)(&core));
    } else if (!strcmp(name, "clear")) {
      CORE(clear)(&core, SLOT);
      jb_puts(&out, "\"OK\"");
    } else if (!strcmp(name, "purge")) {
      jb_printf(&out, "%.0f", purge());
    } else if (!strcmp(name, "fill")) {
      const jval* prefix = jget(op, "prefix");
      uint32_t count = (uint32_t)jget(op, "count")->num, vlen = (uint32_t)jget(op, "len")->num, ok = 0;
      for (uint32_t k = 0; k < count; k++) {
        char key[128];
        int klen = snprintf(key, sizeof key, "%.*s%u", (int)prefix->slen, prefix->s, k);
        bytes value = generated(vlen, k);
        if (cache_set((bytes){(uint8_t*)key, (uint32_t)klen}, value, -1.0) == OK) ok++;
        free(value.p);
      }
      jb_printf(&out, "%.0f", ok);
    } else if (!strcmp(name, "getMany")) {
      cache_get_many(jget(op, "keys"), &out);
    } else if (!strcmp(name, "setMany")) {
      const char* s = cache_set_many(jget(op, "entries"));
      jb_string(&out, (const uint8_t*)s, strlen(s));
    } else if (!strcmp(name, "evicted")) {
      jb_puts(&out, "[");
      if (evicted.len) jb_put(&out, evicted.data, evicted.len);
      jb_puts(&out, "]");
      evicted.len = 0;
      evicted_count = 0;
    } else if (!strcmp(name, "stats")) {
      stats(&out);
    } else {
      die("unknown op");
    }
  }
  jb_printf(&out, "],\"header\":{\"segments\":%.0f,", segments);
  jb_printf(&out, "\"segmentBudget\":%.0f,", budget);
  jb_printf(&out, "\"maxKeyBytes\":%.0f,", max_key);
  jb_printf(&out, "\"maxValueBytes\":%.0f}},", max_value);

  /* Timing over a fresh private arena without TTLs (now = 0), like the JS examples. */
  Z_arenacache_free(&core);
  open_arena(1u << 20, 16, 1024, 65536, POLICY_S3FIFO, 0, 0.0, 0.0, seed);
  bytes hot_key = {(uint8_t*)"hot-key", 7}, hot_value = {(uint8_t*)"a hot value of 32 bytes, really.", 32};
  if (cache_set(hot_key, hot_value, -1.0) != OK) die("set hot-key failed");
  double with_copy = time_gets(1, 200000), raw = time_gets(0, 200000);
  jb_printf(&out, "\"perf\":{\"iterations\":200000,\"nsPerGet\":%.1f,", with_copy);
  jb_printf(&out, "\"rawNsPerGet\":%.1f},", raw);
  jb_printf(&out, "\"version\":\"wasm2c, gcc %.0f\"}", __GNUC__);
  Z_arenacache_free(&core);
  wasm_rt_free();
  puts(out.data);
  return 0;
}
